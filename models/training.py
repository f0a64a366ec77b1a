"""Fine-tune a registry detector on a YOLO-format dataset, on the CPU, with every output in the cache.

``task="segment"`` trains a segmentation model (e.g. a city's water model for the flood rule's slot):
the detector's architecture with a segmentation head, initialised from the detector's weights.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import MataKotaError
from core.settings import Settings, prepare_ultralytics
from models.datasets import load_data_yaml
from models.registry import resolve

logger = logging.getLogger(__name__)

RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TASKS = ("detect", "segment")
_METRICS = {
    "precision": "metrics/precision({})",
    "recall": "metrics/recall({})",
    "map50": "metrics/mAP50({})",
    "map50_95": "metrics/mAP50-95({})",
}


def _metric_columns(task: str) -> dict[str, str]:
    """ultralytics' result columns: of the boxes (B) for a detector, of the masks (M) for segmentation."""
    suffix = "M" if task == "segment" else "B"
    return {key: column.format(suffix) for key, column in _METRICS.items()}


class TrainingError(MataKotaError):
    """Training cannot start (bad arguments or model); the message says why."""


class TrainingFailed(TrainingError):
    """Training started but did not finish; the message holds ultralytics' reason."""


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, best weights, class names and the best weights' validation metrics."""

    name: str
    run_dir: Path
    best: Path
    names: tuple[str, ...]
    epochs: int
    map50: float
    map50_95: float
    precision: float
    recall: float

    def summary(self) -> str:
        """A few lines for the console."""
        return (
            f"{self.name}: {self.epochs} epoch(s), classes {', '.join(self.names)}\n"
            f"  mAP50 {self.map50:.3f}  mAP50-95 {self.map50_95:.3f}  "
            f"precision {self.precision:.3f}  recall {self.recall:.3f}\n"
            f"  best weights: {self.best}"
        )


def training_dir(settings: Settings) -> Path:
    """Where runs are written by default: ``<cache>/training/<name>``."""
    return settings.resolved_cache_dir / "training"


def train(
    model_name: str,
    data_yaml: Path,
    *,
    epochs: int,
    imgsz: int,
    batch: int,
    name: str,
    settings: Settings,
    out_dir: Path | None = None,
    seed: int = 0,
    task: str = "detect",
) -> TrainResult:
    """Fine-tune ``model_name`` (a PyTorch detector of the registry) on the dataset of ``data_yaml``.

    Everything is written to ``<out_dir or cache/training>/<name>``: a copy of the base weights, the
    checked ``data.yaml``, ultralytics' ``args.yaml`` and ``results.csv``, and ``weights/best.pt`` and
    ``last.pt``. Training runs on the CPU with the data loader in this process, no plots and no
    mixed precision, seeded; a second run with the same name replaces the first.

    Raises:
        DatasetError: for a missing or malformed ``data.yaml``, bad class names or unmatched labels.
        ModelUnavailable: for an unknown model or one whose weights are not here.
        TrainingError: for bad arguments, a model that is not a PyTorch detector, or a segmentation run
            on a dataset whose objects are not all outlines.
        TrainingFailed: for a failure inside the training itself.
    """
    _check_arguments(name, epochs=epochs, imgsz=imgsz, batch=batch)
    if task not in TASKS:
        raise TrainingError(f"unknown task {task!r}: use {' or '.join(TASKS)}")
    dataset = load_data_yaml(data_yaml)
    if task == "segment" and dataset.outlines < dataset.boxes:
        raise TrainingError(
            f"{data_yaml}: {dataset.boxes - dataset.outlines} of {dataset.boxes} object(s) are boxes; "
            "segmentation needs an outline (class x1 y1 x2 y2 x3 y3 ...) for every object"
        )
    base = resolve(model_name, settings)
    if base.spec.format != "pytorch" or base.spec.task != "detect":
        raise TrainingError(
            f"model {model_name!r} is {base.spec.format}/{base.spec.task}; only PyTorch detectors train"
        )
    run_dir = (out_dir if out_dir is not None else training_dir(settings)).resolve() / name
    if settings.assets_dir is not None and run_dir.is_relative_to(settings.assets_dir.resolve()):
        raise TrainingError(f"{run_dir} lies in the assets directory; write runs to the cache or another folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    weights = run_dir / f"base-{base.path.name}"
    shutil.copyfile(base.path, weights)  # ultralytics may write next to the weights it loads
    data = run_dir / "data.yaml"
    data.write_text(yaml.safe_dump(dataset.as_yaml(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    logger.info(
        "training %s (%s) on %s (%d images, %d objects, classes %s) for %d epoch(s) at %d px into %s",
        model_name,
        task,
        data_yaml,
        dataset.images,
        dataset.boxes,
        ", ".join(dataset.names),
        epochs,
        imgsz,
        run_dir,
    )
    prepare_ultralytics(settings)
    metrics, best = _fit(weights, data, run_dir, epochs=epochs, imgsz=imgsz, batch=batch, seed=seed, task=task)
    values = {key: float(metrics.get(column, 0.0)) for key, column in _metric_columns(task).items()}
    return TrainResult(name=name, run_dir=run_dir, best=best, names=dataset.names, epochs=epochs, **values)


def _check_arguments(name: str, *, epochs: int, imgsz: int, batch: int) -> None:
    if not RUN_NAME.match(name):
        raise TrainingError(f"bad run name {name!r}: use lower-case letters, digits, '_' and '-'")
    if epochs < 1 or batch < 1:
        raise TrainingError(f"epochs ({epochs}) and batch ({batch}) must be at least 1")
    if imgsz < 32 or imgsz % 32:
        raise TrainingError(f"image size {imgsz} must be a multiple of 32 (e.g. 320, 640)")


def _fit(
    weights: Path, data: Path, run_dir: Path, *, epochs: int, imgsz: int, batch: int, seed: int, task: str
) -> tuple[dict[str, Any], Path]:
    from ultralytics import YOLO  # type: ignore[attr-defined]  # heavy: import only when training

    model: Any = YOLO(str(weights))
    if task == "segment":
        # The same architecture with a segmentation head (e.g. yolo11n.yaml -> yolo11n-seg.yaml); the
        # backbone and neck start from the detector's weights, the mask head from scratch.
        architecture = Path(str(model.model.yaml.get("yaml_file", "yolo11n.yaml"))).stem
        model = YOLO(f"{architecture}-seg.yaml", task="segment").load(str(weights))
    model.add_callback("on_fit_epoch_end", _log_epoch)
    try:
        with _no_font_probe():
            model.train(
                data=str(data),
                epochs=epochs,
                imgsz=imgsz,
                batch=batch,
                device="cpu",
                workers=0,
                amp=False,
                plots=False,
                exist_ok=True,
                seed=seed,
                deterministic=True,
                project=str(run_dir.parent),
                name=run_dir.name,
                verbose=False,
            )
    except Exception as err:  # ultralytics raises many kinds; the caller needs one, with the reason
        raise TrainingFailed(f"training failed: {err}") from err
    trainer: Any = model.trainer
    best = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
    return dict(trainer.metrics or {}), best


def _log_epoch(trainer: Any) -> None:
    if trainer.epoch >= trainer.epochs:
        return  # ultralytics calls once more after validating the best weights; the summary reports that
    metrics = trainer.metrics or {}
    logger.info(
        "epoch %d/%d: precision %.3f  recall %.3f  mAP50 %.3f  mAP50-95 %.3f",
        trainer.epoch + 1,
        trainer.epochs,
        *(float(metrics.get(column, 0.0)) for column in _metric_columns(trainer.args.task).values()),
    )


@contextmanager
def _no_font_probe() -> Iterator[None]:
    """Keep ultralytics' dataset check from asking github.com for Arial.ttf: plots are off, so no font is drawn."""
    import ultralytics.data.utils as data_utils

    original = data_utils.check_font  # type: ignore[attr-defined]  # re-exported from ultralytics.utils.checks
    data_utils.check_font = lambda *_args, **_kwargs: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        data_utils.check_font = original  # type: ignore[attr-defined]
