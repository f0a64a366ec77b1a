"""``matakota plan``: read a plan request, run it with a progress bar, write the report, print its figures."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from core.config_loader import parse_yaml_model
from core.errors import ConfigError, MataKotaError
from core.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from planner.spec import PlanSpec

logger = logging.getLogger(__name__)


def run_plan_command(
    spec_path: Path,
    *,
    out: Path | None,
    target: float | None,
    budget: float | None,
    solver: str | None,
    time_limit: float | None,
    measure_detector: bool = False,
) -> int:
    """The command's body; returns the exit code (0 done, 2 a bad request or missing data)."""
    from tqdm import tqdm

    from planner.plan import run_plan
    from planner.report import write_report
    from planner.sources import PlanInputError
    from planner.spec import PlanSpec

    try:
        spec = parse_yaml_model(spec_path.read_text(encoding="utf-8"), PlanSpec, source=str(spec_path))
        spec = _override(spec, target=target, budget=budget, solver=solver, time_limit=time_limit)
    except (ConfigError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    out = out if out is not None else PROJECT_ROOT / "var" / "plans" / _slug(spec.name)
    settings = Settings()
    if measure_detector:
        try:
            typer.echo(f"detector: {measure_detector_throughput(settings)}")
        except MataKotaError as err:
            typer.echo(f"error: cannot measure the detector: {err}", err=True)
            return 2
    bar = tqdm(total=100, desc="plan", unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} {postfix}")

    def progress(stage: str, fraction: float) -> None:
        bar.set_description_str(stage)
        bar.update(max(0, round(fraction * 100) - bar.n))

    try:
        result = run_plan(spec, base_dir=spec_path.resolve().parent, settings=settings, progress=progress)
        files = write_report(result, out)
    except PlanInputError as err:
        bar.close()
        typer.echo(f"error: {err}", err=True)
        return 2
    bar.update(100 - bar.n)
    bar.close()
    typer.echo(summary_text(files["summary.json"].read_text(encoding="utf-8")))
    typer.echo(f"report: {files['report.html']}")
    for name in sorted(files):
        if name != "report.html":
            typer.echo(f"        {files[name]}")
    return 0


def _override(
    spec: PlanSpec, *, target: float | None, budget: float | None, solver: str | None, time_limit: float | None
) -> PlanSpec:
    from planner.spec import ObjectiveSpec, SolverSpec

    if target is not None and budget is not None:
        raise ValueError("give --target or --budget, not both")
    update: dict[str, Any] = {}
    if target is not None:
        update["objective"] = ObjectiveSpec(target=target)
    if budget is not None:
        update["objective"] = ObjectiveSpec(budget=budget)
    solver_update: dict[str, Any] = {}
    if solver is not None:
        solver_update["method"] = solver
    if time_limit is not None:
        solver_update["time_limit_s"] = time_limit
    if solver_update:
        update["solver"] = SolverSpec.model_validate({**spec.solver.model_dump(), **solver_update})
    return spec.model_copy(update=update) if update else spec


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "plan"


def summary_text(summary_json: str) -> str:
    """The key figures of ``summary.json``, as lines for a terminal."""
    s = json.loads(summary_json)
    best, sizing = s["solution"], s["sizing"]
    bound = best.get("bound")
    if bound is not None and str(s["objective"]).startswith("budget"):  # a bound on covered weight
        shown = f"at most {bound / s['total_weight']:.1%} coverable"
    elif bound is not None:
        shown = f"at least {bound:g} cameras"
    proof = (
        f"proven optimal ({shown})"
        if best.get("optimal")
        else f"bound: {shown}, gap {best['gap']:.1%}"
        if bound is not None
        else "no proven bound"
    )
    others = ", ".join(f"{a['solver']} {a['cameras']} ({a['coverage']:.1%})" for a in s.get("alternatives", []))
    lines = [
        f"{s['name']}: {s['objective']}",
        f"cameras: {s['cameras_new']} new + {s['cameras_existing']} existing; "
        f"coverage {s['coverage']:.1%} of weighted demand ({s['demand_points']} points, {s['candidates']} candidates)",
        f"solver: {best['solver']}, {best['cameras']} cameras, {proof}, {best['seconds']:.1f} s"
        + (f"; beside it: {others}" if others else ""),
    ]
    lines += [f"uncovered: {u['points']} points, {u['reason']}" for u in s.get("uncovered", []) if u["points"]]
    lines += [
        f"network: {sizing['bandwidth_mbps']:,.0f} Mbit/s in total",
        f"storage: {sizing['usable_tb']:,.1f} TB usable, {sizing['raw_tb']:,.1f} TB raw "
        f"({sizing['retention_days']:g} days, {sizing['raid']})",
        f"analytics: {sizing['servers']} server(s) for {sizing['detect_fps_total']:,.0f} frames/s "
        f"at {sizing['detector_fps']:.0f} frames/s each ({sizing['detector_source']})",
    ]
    lines += [f"note: {note}" for note in s.get("notes", [])]
    return "\n".join(lines)


MEASURE_FOOTAGE = "bgslibrary-video02.avi"  # the footage bench.detector times
MEASURE_MODEL = "yolo11n-int8-openvino"


def measure_detector_throughput(settings: Settings, frames: int = 30, imgsz: int = 640) -> str:
    """Time the default detector on real footage here (as ``bench.detector --save`` does) and save the figure.

    Raises:
        MataKotaError: the footage or the weights are missing.
    """
    import os
    import statistics
    import time

    import cv2
    import numpy as np

    from analytics.detector import Detector
    from core.messages import Image
    from core.settings import prepare_ultralytics
    from models.registry import resolve
    from planner.sizing import bench_record, save_detector_record

    prepare_ultralytics(settings)
    if settings.assets_dir is None:
        raise MataKotaError("set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    capture = cv2.VideoCapture(str(settings.assets_dir / "footage" / MEASURE_FOOTAGE))
    images: list[Image] = []
    for _ in range(frames):
        ok, image = capture.read()
        if ok:
            images.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    if not images:
        raise MataKotaError(f"cannot read {settings.assets_dir / 'footage' / MEASURE_FOOTAGE}")
    detector = Detector(resolve(MEASURE_MODEL, settings).path)
    detector.warm_up(imgsz)
    times = []
    for image in images:
        start = time.perf_counter()
        detector.detect([image], imgsz=imgsz)
        times.append((time.perf_counter() - start) * 1000)
    median_ms = statistics.median(times)
    record = bench_record(
        MEASURE_MODEL, median_ms, imgsz, len(images), os.cpu_count(), tool="matakota plan --measure-detector"
    )
    path = save_detector_record(settings.resolved_cache_dir, record)
    return f"{MEASURE_MODEL} {median_ms:.1f} ms per frame, {1000 / median_ms:.1f} frames/s (saved to {path})"
