"""The ``matakota`` command line."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from core.config import AppConfig
from core.config_loader import load_config
from core.errors import ConfigError, MataKotaError
from core.logging import setup_logging
from core.settings import Settings, prepare_ultralytics
from runtime.accounts_cli import apikey_app, user_app

if TYPE_CHECKING:
    from analytics.evaluation.dumping import DetectFn, DumpingEvaluation
    from analytics.evaluation.progress import Progress

logger = logging.getLogger("matakota")

app = typer.Typer(
    name="matakota",
    help="Mata Kota: CCTV video analytics for city command centers.\n\n"
    "Reads RTSP cameras, detects events (traffic congestion, ...) with YOLO, stores incidents with "
    "snapshot and clip, and serves them over an HTTP API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check camera configuration files.", no_args_is_help=True)
models_app = typer.Typer(help="The ML model registry.", no_args_is_help=True)
app.add_typer(config_app, name="config")
eval_app = typer.Typer(
    help="Measure the analytics on real data in the assets directory (CCTV_ASSETS_DIR).\n\n"
    "Without a command: every evaluation, as one table (the same as `matakota eval all`)."
)
app.add_typer(models_app, name="models")
dataset_app = typer.Typer(help="Training datasets made from operators' reviews.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(eval_app, name="eval")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Camera configuration file.", dir_okay=False)]
HostOption = Annotated[str, typer.Option(help="Address the API listens on.")]
PortOption = Annotated[int, typer.Option(help="Port the API listens on.", min=1, max=65535)]


def _load(path: Path) -> AppConfig:
    try:
        return load_config(path)
    except ConfigError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err


@config_app.command("validate")
def config_validate(
    path: Annotated[Path, typer.Argument(help="The file to check.")] = Path("camera_config.yaml"),
) -> None:
    """Validate a camera configuration; print each error with its key path and YAML line."""
    config = _load(path)
    typer.echo(f"{path}: OK ({len(config.cameras)} camera(s), {len(config.enabled_cameras)} enabled)")


@eval_app.command("flood")
def eval_flood(
    data: Annotated[
        Path | None,
        typer.Option(help="Folder of frames and water masks; default: eval/flood-cctv-watsen in the assets."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Measure this water segmentation model (weights) on the held-out frames instead."),
    ] = None,
    imgsz: Annotated[int, typer.Option(help="Input size for --model.", min=32)] = 640,
    write_dataset: Annotated[
        Path | None,
        typer.Option(
            help="Write the frames as a YOLO segmentation dataset here (even frames train, odd frames val) "
            "and stop: for measuring only, never ship a model trained on it.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Measure the water model on labelled CCTV frames: frame-level precision, recall, F1 and mask IoU.

    With --model, measure a trained segmentation model for the flood rule's model slot instead
    (train one with `matakota models train --task segment` on --write-dataset's output).
    """
    from analytics.evaluation import flood_segmentation
    from analytics.evaluation.flood import DATASET, evaluate_flood, report

    folder = data
    if folder is None:
        assets_dir = Settings().assets_dir
        if assets_dir is None:
            typer.echo("error: no assets directory: set CCTV_ASSETS_DIR or pass --data", err=True)
            raise typer.Exit(2)
        folder = assets_dir / DATASET
    try:
        if write_dataset is not None:
            typer.echo(f"wrote {flood_segmentation.write_dataset(folder, write_dataset)}")
        elif model is not None:
            found = flood_segmentation.evaluate_segmentation(model, folder, imgsz=imgsz)
            typer.echo(flood_segmentation.report(found))
        else:
            typer.echo(report(evaluate_flood(folder)))
    except FileNotFoundError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


TrialsOption = Annotated[int, typer.Option("--trials", help="Bags left in the footage, spread over the clips.", min=1)]
SeedOption = Annotated[int, typer.Option("--seed", help="Seeds every draw (clip, bag, size, place, moment).")]
ControlOption = Annotated[
    float, typer.Option("--control-minutes", help="Scene minutes each clip is also played untouched.", min=0)
]


@eval_app.callback(invoke_without_command=True)
def eval_default(ctx: typer.Context) -> None:
    """Measure the analytics on real data; without a command, run every evaluation."""
    if ctx.invoked_subcommand is None:
        eval_all()


@eval_app.command("all")
def eval_all(trials: TrialsOption = 24, seed: SeedOption = 0, control_minutes: ControlOption = 30.0) -> None:
    """Run every evaluation and print one table: event type, data, size, precision, recall, F1, IoU, notes.

    Rules without labelled data (traffic_jam, congestion, stalled_vehicle) are listed as such, not given figures.
    """
    from analytics.evaluation.counting import evaluate_counting
    from analytics.evaluation.flood import DATASET, evaluate_flood
    from analytics.evaluation.progress import bar
    from analytics.evaluation.summary import counting_row, dumping_row, flood_row, table, unlabelled_rows

    assets_dir, detect = _eval_setup()
    rows = [flood_row(evaluate_flood(assets_dir / DATASET))]
    rows.append(dumping_row(_dumping(assets_dir, detect, trials, seed, control_minutes, bar)))
    rows.append(counting_row(evaluate_counting(assets_dir, detect)))
    typer.echo(table([*rows, *unlabelled_rows()]))


@eval_app.command("dumping")
def eval_dumping(trials: TrialsOption = 24, seed: SeedOption = 0, control_minutes: ControlOption = 30.0) -> None:
    """Leave real photographed waste bags in real street footage; measure the dumping rule.

    Prints each trial, then precision, recall, mean location IoU, median time to detect and false
    alarms per hour of untouched footage. The rule runs with its production times (5 minutes
    standing) on the service's default detector; the same seed gives the same figures.
    """
    from analytics.evaluation.progress import bar
    from analytics.evaluation.summary import dumping_report

    assets_dir, detect = _eval_setup()
    typer.echo(dumping_report(_dumping(assets_dir, detect, trials, seed, control_minutes, bar)))


@eval_app.command("counting")
def eval_counting(
    fps: Annotated[float, typer.Option(help="Analysis rate measured against the clip's full rate.", min=0.5)] = 5.0,
) -> None:
    """Agreement of line counts at FPS with the same pipeline on every frame (a reference, not ground truth)."""
    from analytics.evaluation.counting import evaluate_counting
    from analytics.evaluation.summary import counting_row, table

    assets_dir, detect = _eval_setup()
    typer.echo(table([counting_row(evaluate_counting(assets_dir, detect, fps))]))


def _eval_setup() -> tuple[Path, DetectFn]:
    from analytics.evaluation.dumping import production_detector
    from core.errors import ModelUnavailable

    settings = Settings()
    if settings.assets_dir is None:
        typer.echo("error: no assets directory: set CCTV_ASSETS_DIR", err=True)
        raise typer.Exit(2)
    prepare_ultralytics(settings)
    try:
        return settings.assets_dir, production_detector(settings)
    except ModelUnavailable as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


def _dumping(
    assets_dir: Path, detect: DetectFn, trials: int, seed: int, control_minutes: float, progress: Progress
) -> DumpingEvaluation:
    from analytics.evaluation.dumping import evaluate_dumping

    try:
        return evaluate_dumping(
            assets_dir, detect, trials=trials, seed=seed, control_s=control_minutes * 60, progress=progress
        )
    except FileNotFoundError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


@models_app.command("list")
def models_list() -> None:
    """List the registry's models and whether verified weights are available here."""
    from models.registry import load_manifest, verify

    settings = Settings()
    for spec in load_manifest().values():
        where = "not in the assets directory"
        if settings.assets_dir is not None and not verify(spec, settings.assets_dir / "weights"):
            where = f"verified in {settings.assets_dir / 'weights' / spec.path}"
        typer.echo(f"{spec.name:28} {spec.format:9} {spec.licence:10} {where}")


@models_app.command("export")
def models_export(
    model: Annotated[str, typer.Argument(help="A PyTorch model of the registry, e.g. yolo11n-coco-pt.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (ONNX Runtime) or openvino.")] = "openvino",
    imgsz: Annotated[int, typer.Option(help="Input size: 320, 416, 480, 512, 640, 768, 960 or 1280.")] = 640,
) -> None:
    """Export a model for another runtime and input size, into the cache (once).

    It prints the name to put in a camera's `detect.model`, e.g. `yolo11n-coco-pt@onnx-320`.
    """
    from core.errors import ModelUnavailable
    from models.registry import resolve

    settings = Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    prepare_ultralytics(settings)
    name = f"{model}@{fmt}-{imgsz}"
    try:
        resolved = resolve(name, settings)
    except ModelUnavailable as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"{name}: {resolved.path} ({resolved.source})")


@models_app.command("dataset")
def models_dataset(
    root: Annotated[Path, typer.Argument(help="Folder with train/, valid/ (or val/), test/: images/ and labels/.")],
    names: Annotated[str, typer.Option(help="Class names in class-id order, comma-separated, e.g. organic,recycling.")],
    out: Annotated[Path | None, typer.Option(help="Folder for data.yaml; default: <cache>/datasets/<ROOT>.")] = None,
) -> None:
    """Check a YOLO-format dataset (every image has a label, ids match the names) and write its data.yaml.

    The dataset itself is only read, so it may lie in a read-only folder; the yaml points at it.
    """
    from models.datasets import DatasetError, make_data_yaml

    settings = Settings()
    try:
        made = make_data_yaml(root, out or settings.resolved_cache_dir / "datasets" / root.name, names.split(","))
    except DatasetError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(str(made))


@models_app.command("train")
def models_train(
    data: Annotated[Path, typer.Option(help="The dataset's data.yaml (train and val image folders, names).")],
    name: Annotated[str, typer.Option(help="Run name (a-z, 0-9, '_', '-'); the run's folder.")],
    model: Annotated[str, typer.Option(help="A PyTorch detector of the registry.")] = "yolo11n-coco-pt",
    task: Annotated[
        str,
        typer.Option(help="detect (boxes), or segment (outlines: a water model for the flood rule's model slot)."),
    ] = "detect",
    epochs: Annotated[int, typer.Option(help="Passes over the training images.", min=1)] = 50,
    imgsz: Annotated[int, typer.Option(help="Training image size in pixels, a multiple of 32.", min=32)] = 640,
    batch: Annotated[int, typer.Option(help="Images per step.", min=1)] = 8,
    out: Annotated[Path | None, typer.Option(help="Folder for runs; default: <cache>/training.")] = None,
) -> None:
    """Fine-tune a registry model on a YOLO-format dataset, on the CPU; print the best weights and metrics.

    Everything (a copy of the base weights, weights/best.pt, results.csv) goes to <out>/<name>.

    The same name again replaces that run. `matakota models dataset` writes a data.yaml.
    """
    from models.training import TrainingFailed, train

    settings = Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    prepare_ultralytics(settings)
    try:
        result = train(
            model, data, epochs=epochs, imgsz=imgsz, batch=batch, name=name, settings=settings, out_dir=out, task=task
        )
    except TrainingFailed as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    except MataKotaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(result.summary())


@dataset_app.command("export")
def dataset_export(
    out: Annotated[Path, typer.Option(help="New or empty folder for the dataset.", file_okay=False)],
    kinds: Annotated[str, typer.Option(help="Incident kinds, comma-separated: dumping (trash), flood (water).")] = (
        "dumping,flood"
    ),
    since: Annotated[
        datetime | None, typer.Option(help="Only incidents that started on or after this date (UTC), e.g. 2026-11-01.")
    ] = None,
    val_fraction: Annotated[float, typer.Option(help="Share of the images held out for validation.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the train/val shuffle.")] = 0,
) -> None:
    """Write reviewed incidents as a YOLO dataset: confirmed ones labelled, false alarms as empty-label negatives.

    Then `matakota models train --data OUT/data.yaml` fine-tunes a detector on it.
    """
    from incidents.dataset_export import export_dataset
    from incidents.evidence import EvidenceStore
    from runtime.accounts_cli import database_session

    settings = Settings()
    with database_session(settings) as session:
        summary = export_dataset(
            out,
            session=session,
            store=EvidenceStore(settings.evidence_dir),
            kinds=[k.strip() for k in kinds.split(",") if k.strip()],
            since=since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since,
            val_fraction=val_fraction,
            seed=seed,
        )
    typer.echo(summary.text())


@app.command()
def plan(
    spec: Annotated[
        Path, typer.Argument(help="Plan request (YAML), e.g. plans/palembang.yaml.", exists=True, dir_okay=False)
    ],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the report; default var/plans/<spec name>.", file_okay=False)
    ] = None,
    target: Annotated[
        float | None, typer.Option(help="Fewest cameras to cover this share of weighted demand (0-1).", min=0.01, max=1)
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="Most coverage for this many cameras (or this cost, with model costs).", min=1)
    ] = None,
    solver: Annotated[
        str | None, typer.Option(help="greedy (instant), exact (HiGHS, proven bound) or auto (both).")
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds the exact solver may take.", min=1)] = None,
    measure_detector: Annotated[
        bool,
        typer.Option(
            help="First time the detector on this machine (about 15 s) and size the analytics servers from it; "
            "otherwise the last saved measurement is used."
        ),
    ] = False,
) -> None:
    """Choose camera sites for a coverage target or a budget, and size their network, storage and compute.

    Writes report.html, map.png, plan.geojson, cameras.yaml (entries for camera_config.yaml),
    coverage.csv and summary.json into OUT, and prints the key figures.
    """
    from runtime.plan_cli import run_plan_command

    code = run_plan_command(
        spec,
        out=out,
        target=target,
        budget=budget,
        solver=solver,
        time_limit=time_limit,
        measure_detector=measure_detector,
    )
    if code:
        raise typer.Exit(code)


@app.command()
def run(
    config: ConfigOption = Path("camera_config.yaml"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Start ingest, analytics and the API for the cameras in the configuration."""
    settings = Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    _serve(_load(config), settings, host, port)


@app.command()
def demo(
    config: ConfigOption = Path("camera_config.yaml"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    rtsp_port: Annotated[int, typer.Option(help="Port of the simulated cameras' RTSP server.")] = 8554,
) -> None:
    """Serve the demo footage as RTSP cameras and run the service on them."""
    from ingest.simulator import SimulatedCamera, Simulator
    from runtime.demo import RTSP_PORT_VARIABLE, demo_footage, demo_logins

    settings = Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    os.environ[RTSP_PORT_VARIABLE] = str(rtsp_port)
    app_config = _load(config)
    try:
        footage = demo_footage(settings)
        logins = demo_logins(settings)
    except MataKotaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    for login in logins:
        typer.echo(login.line(host, port))
    cameras = [SimulatedCamera(name, path) for name, path in footage.items()]
    with Simulator(cameras, port=rtsp_port) as simulator:
        typer.echo(f"demo cameras: {', '.join(simulator.url(c.name) for c in cameras)}")
        _serve(app_config, settings, host, port)


@app.command()
def simulate(
    cameras: Annotated[list[str], typer.Argument(help="NAME=FILE pairs: footage (mp4, avi, gif, ...) to serve.")],
    port: Annotated[int, typer.Option(help="RTSP port.")] = 8554,
    host: Annotated[str, typer.Option(help="RTSP address.")] = "127.0.0.1",
    gop_seconds: Annotated[float, typer.Option(help="Seconds between keyframes.")] = 2.0,
    clock: Annotated[
        bool,
        typer.Option(help="Burn the wall-clock time into each frame as a binary strip, for measuring the live delay."),
    ] = False,
) -> None:
    """Serve footage files as looping RTSP cameras (rtsp://HOST:PORT/NAME) until Ctrl-C."""
    from ingest.simulator import Simulator, parse_camera_spec

    settings = Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    try:
        specs = [parse_camera_spec(spec) for spec in cameras]
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    stopping = _install_stop_handlers()
    try:
        with Simulator(specs, port=port, host=host, gop_seconds=gop_seconds, clock=clock) as simulator:
            for spec in specs:
                typer.echo(f"{spec.name}: {simulator.url(spec.name)}  <- {spec.path}")
            while not stopping() and simulator.running():
                time.sleep(0.5)
    except MataKotaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err


def _serve(config: AppConfig, settings: Settings, host: str, port: int) -> None:
    from runtime.supervisor import Supervisor

    supervisor = Supervisor(config, settings, host=host, port=port)
    stopping = _install_stop_handlers()
    try:
        supervisor.prepare()
        supervisor.start()
        supervisor.wait_until_ready()
        typer.echo(f"Mata Kota is running: {supervisor.url}/ui/  (API docs: {supervisor.url}/docs)", err=False)
        sys.stdout.flush()
        while not stopping():
            supervisor.poll()
            time.sleep(0.5)
    except MataKotaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        supervisor.shutdown()


def _install_stop_handlers() -> Callable[[], bool]:
    flag = {"stop": False}

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        flag["stop"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return lambda: flag["stop"]


def main() -> None:
    """Console entry point."""
    app()
