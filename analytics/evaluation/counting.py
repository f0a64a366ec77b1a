"""Vehicle line counts at the analysed frame rate against the same pipeline at the full frame rate.

There are no hand-counted crossings for the footage, so this is agreement with a reference, not
accuracy against ground truth: the detector, ByteTrack and the counting lines run once on every
frame of the clip (the reference) and once on every n-th frame, at the service's analysis rate.
A crossing agrees when the reference has one on the same line, in the same direction, within
``MATCH_S``; each reference crossing agrees with at most one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analytics.detections import Detections
from analytics.evaluation.dumping import DetectFn
from analytics.evaluation.scenes import load_clip
from analytics.lines import Crossing, LineCounter
from analytics.tracking import Tracker
from core.config import VEHICLE_CLASSES, DetectConfig, LineConfig
from core.messages import Image

CLIP = "bgslibrary-video02.avi"  # 30 s of a dual carriageway, 25 fps
# Drawn from left to right across each carriageway (the same lines as tests/analytics/test_tracking.py).
LINES = (
    LineConfig(name="right_carriageway", a=(0.45, 0.55), b=(0.95, 0.55)),
    LineConfig(name="left_carriageway", a=(0.0, 0.45), b=(0.45, 0.3)),
)
MATCH_S = 1.0  # one analysed frame at 1 fps; a vehicle crosses a line in well under a second


@dataclass(frozen=True)
class CountingAgreement:
    """Crossings counted at ``fps`` against those counted on every frame."""

    clip: str
    frames: int
    fps: float
    reference_fps: float
    reference: int
    measured: int
    agreed: int

    @property
    def precision(self) -> float:
        """Share of the measured crossings the reference also has."""
        return self.agreed / self.measured if self.measured else 0.0

    @property
    def recall(self) -> float:
        """Share of the reference crossings also measured."""
        return self.agreed / self.reference if self.reference else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate_counting(assets_dir: Path, detect: DetectFn, fps: float | None = None) -> CountingAgreement:
    """Count crossings of :data:`LINES` on :data:`CLIP` at ``fps`` (default: the service's) and at the full rate.

    Args:
        assets_dir: the folder holding ``footage/``.
        detect: the object detector the service uses.
        fps: analysis rate to measure; the clip's own rate is the reference.
    """
    clip = load_clip(assets_dir / "footage" / CLIP)
    rate = fps or DetectConfig().fps
    step = max(1, round(clip.fps / rate))
    detections = [detect(image).of_classes(VEHICLE_CLASSES) for image in clip.frames]
    reference = _count(detections, clip.frames, 1, clip.fps)
    measured = _count(detections, clip.frames, step, clip.fps)
    return CountingAgreement(
        CLIP, len(clip.frames), clip.fps / step, clip.fps, len(reference), len(measured), _agreed(reference, measured)
    )


def _count(detections: list[Detections], frames: Sequence[Image], step: int, clip_fps: float) -> list[Crossing]:
    tracker = Tracker(clip_fps / step)
    counter = LineCounter(list(LINES))
    crossings = []
    for index in range(0, len(frames), step):
        tracked = tracker.update(detections[index], frames[index])
        crossings.extend(counter.update(tracked, index / clip_fps))
    return crossings


def _agreed(reference: list[Crossing], measured: list[Crossing]) -> int:
    free = list(reference)
    agreed = 0
    for crossing in measured:
        same = [r for r in free if r.line == crossing.line and r.direction == crossing.direction]
        nearest = min(same, key=lambda r: abs(r.at_ts - crossing.at_ts), default=None)
        if nearest is not None and abs(nearest.at_ts - crossing.at_ts) <= MATCH_S:
            free.remove(nearest)
            agreed += 1
    return agreed
