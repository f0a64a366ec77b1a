"""The water model measured on real CCTV frames with hand-drawn water masks (WATSEN, one camera)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from analytics.flood import WaterModel, WaterModelParams
from core.messages import Image

DATASET = Path("eval") / "flood-cctv-watsen"
# A frame is flooded when hand-labelled water covers at least this share of it: any water drawn at
# all (the smallest labelled puddle covers 2.8% of a frame, dry frames have none).
TRUE_FLOODED_FRACTION = 0.01
# The predicted water fraction that calls a frame flooded, fixed before looking at the results:
# the same share the model uses to judge a frame dry.
DEFAULT_THRESHOLD = WaterModelParams().dry_fraction
WHOLE_FRAME = np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)], dtype=np.float64)
_NAME = re.compile(r"^\d{6}_(\d{2})(\d{2})(\d{2})_(\d+)$")


@dataclass(frozen=True)
class FrameResult:
    """One frame: what the model found against what was labelled.

    Attributes:
        name: file stem, ``YYMMDD_HHMMSS_level``.
        predicted_fraction: share of the frame the model calls water.
        true_fraction: share of the frame labelled water.
        iou: water IoU over the labelled pixels (unlabelled ones ignored); None without labelled water.
    """

    name: str
    predicted_fraction: float
    true_fraction: float
    iou: float | None

    @property
    def flooded(self) -> bool:
        """Whether the labels call the frame flooded."""
        return self.true_fraction >= TRUE_FLOODED_FRACTION


@dataclass(frozen=True)
class Scores:
    """Frame-level detection of "flooded" at one threshold, over a set of frames."""

    split: str
    threshold: float
    frames: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    mean_iou: float


@dataclass(frozen=True)
class FloodEvaluation:
    """Every figure of one run: the fixed threshold on all frames, and a threshold tuned on the
    even-indexed frames (in time order) reported apart on the odd-indexed ones it never saw."""

    frames: list[FrameResult]
    fixed: Scores
    tuned_threshold: float
    tuned_on_even: Scores
    tuned_on_odd: Scores


def evaluate_flood(data_dir: Path, params: WaterModelParams | None = None) -> FloodEvaluation:
    """Run the water model over the dataset's frames in time order, as a live camera would see them.

    Args:
        data_dir: folder of ``*.tiff`` frames and ``*_mask.tiff`` masks (green: water, blue: labelled
            not water, neither: unlabelled).
        params: the water model's parameters (default: the shipped ones).
    """
    model = WaterModel(params)
    results = [_frame(model, path) for path in frames_in_time_order(data_dir)]
    even, odd = results[0::2], results[1::2]
    tuned = max(_candidate_thresholds(even), key=lambda t: (scores("even", even, t).f1, -t))
    return FloodEvaluation(
        frames=results,
        fixed=scores("all", results, DEFAULT_THRESHOLD),
        tuned_threshold=tuned,
        tuned_on_even=scores("even (tuning)", even, tuned),
        tuned_on_odd=scores("odd (held out)", odd, tuned),
    )


def frames_in_time_order(data_dir: Path) -> list[Path]:
    """The dataset's frames (not their masks), oldest first."""
    frames = [p for p in data_dir.glob("*.tiff") if not p.stem.endswith("_mask") and _NAME.match(p.stem)]
    if not frames:
        raise FileNotFoundError(f"no frames in {data_dir}")
    return sorted(frames, key=lambda p: _timestamp(p.stem))


def _timestamp(stem: str) -> float:
    match = _NAME.match(stem)
    assert match is not None
    hours, minutes, seconds = (int(match.group(i)) for i in (1, 2, 3))
    return float(hours * 3600 + minutes * 60 + seconds)


def read(path: Path, flags: int) -> Image | None:
    """One image of the dataset, or None when it cannot be read."""
    # The WATSEN tiffs carry a private tag libtiff warns about on every read; the pixels are sound.
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        image = cv2.imread(str(path), flags)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    return None if image is None else np.asarray(image, dtype=np.uint8)


def _frame(model: WaterModel, path: Path) -> FrameResult:
    image = read(path, cv2.IMREAD_COLOR)
    labels = read(path.with_name(f"{path.stem}_mask.tiff"), cv2.IMREAD_UNCHANGED)
    if image is None or labels is None:
        raise FileNotFoundError(f"cannot read {path} or its mask")
    result = model.update(image, _timestamp(path.stem), WHOLE_FRAME)
    height, width = image.shape[:2]
    predicted = cv2.resize(result.mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    # cv2 reads the RGB mask as BGR: index 1 is green (water), index 0 is blue (labelled not water).
    water: npt.NDArray[np.bool_] = labels[..., 1] > 0
    labelled = water | (labels[..., 0] > 0)
    union = int((labelled & (predicted | water)).sum())
    iou = float((labelled & predicted & water).sum()) / union if water.any() and union else None
    return FrameResult(path.stem, float(predicted.mean()), float(water.mean()), iou)


def _candidate_thresholds(frames: list[FrameResult]) -> list[float]:
    return sorted({round(f.predicted_fraction, 4) for f in frames if f.predicted_fraction > 0} | {DEFAULT_THRESHOLD})


def scores(split: str, frames: list[FrameResult], threshold: float) -> Scores:
    """Frame-level precision and recall of "flooded" at ``threshold``, and the mean IoU of flooded frames."""
    called = [f.predicted_fraction >= threshold for f in frames]
    tp = sum(c and f.flooded for c, f in zip(called, frames, strict=True))
    fp = sum(c and not f.flooded for c, f in zip(called, frames, strict=True))
    fn = sum(not c and f.flooded for c, f in zip(called, frames, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ious = [f.iou for f in frames if f.flooded and f.iou is not None]
    mean_iou = float(np.mean(ious)) if ious else 0.0
    return Scores(split, threshold, len(frames), tp, fp, fn, precision, recall, f1, mean_iou)


def report(evaluation: FloodEvaluation) -> str:
    """The figures as a plain-text table, one row per split."""
    lines = [
        f"frames: {len(evaluation.frames)} ({sum(f.flooded for f in evaluation.frames)} flooded: labelled water "
        f">= {TRUE_FLOODED_FRACTION:.0%} of the frame); mean IoU over flooded frames, unlabelled pixels ignored",
        f"{'split':16} {'threshold':>9} {'frames':>6} {'TP':>3} {'FP':>3} {'FN':>3} "
        f"{'precision':>9} {'recall':>6} {'F1':>5} {'IoU':>5}",
    ]
    for s in (evaluation.fixed, evaluation.tuned_on_even, evaluation.tuned_on_odd):
        lines.append(
            f"{s.split:16} {s.threshold:9.3f} {s.frames:6d} {s.true_positives:3d} {s.false_positives:3d} "
            f"{s.false_negatives:3d} {s.precision:9.2f} {s.recall:6.2f} {s.f1:5.2f} {s.mean_iou:5.2f}"
        )
    return "\n".join(lines)
