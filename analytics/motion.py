"""Motion gating: a cheap look at each frame decides whether it needs the object detector.

Frame differencing on a small, blurred grey copy against the last frame the detector saw: when
too few pixels changed, the scene is as it was, so the last detections still describe it and the
detector is skipped. A static jam keeps its vehicles (they did not move), an empty street at
night costs almost nothing. The detector still runs at least every ``max_skip_s``, so slow
changes (a light change, a parked car's shadow) are caught, and the threshold follows the
scene's own noise (rain, sensor noise at night) so noise alone never counts as motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analytics.detections import Detections
from core.messages import Image

WIDTH = 160  # the working width: enough to see a motorcycle at 20 m, cheap enough for every frame
NOISE_ALPHA = 0.05  # how fast the per-frame noise estimate follows the scene
MIN_PIXEL_DELTA = 12  # a grey change smaller than this never counts, however quiet the scene


@dataclass(frozen=True)
class MotionVerdict:
    """Whether a frame moved, and how much."""

    moved: bool
    changed_fraction: float  # share of pixels that changed beyond the noise threshold


class MotionGate:
    """Decides per frame whether to run the detector; keeps the detections to reuse meanwhile."""

    def __init__(self, *, min_changed_fraction: float = 0.002, max_skip_s: float = 5.0) -> None:
        self.min_changed_fraction = min_changed_fraction
        self.max_skip_s = max_skip_s
        self._reference: np.ndarray | None = None  # the small grey frame the last detection saw
        self._previous: np.ndarray | None = None
        self._noise = float(MIN_PIXEL_DELTA)
        self._detected_ts = float("-inf")
        self.last: Detections | None = None
        self.frames = 0
        self.skipped = 0

    def check(self, image: Image, now_ts: float) -> MotionVerdict:
        """Compare ``image`` with the frame the detector last saw."""
        small = _small_grey(image)
        if self._previous is not None and self._previous.shape == small.shape:
            # Noise: the typical frame-to-frame change of the quiet part of the picture.
            step = np.abs(small.astype(np.int16) - self._previous.astype(np.int16))
            self._noise += NOISE_ALPHA * (float(np.percentile(step, 75)) * 3 + 1 - self._noise)
        self._previous = small
        if self._reference is None or self._reference.shape != small.shape:
            return MotionVerdict(True, 1.0)
        delta = np.abs(small.astype(np.int16) - self._reference.astype(np.int16))
        threshold = max(MIN_PIXEL_DELTA, self._noise)
        changed = float(np.count_nonzero(delta > threshold)) / delta.size
        return MotionVerdict(changed >= self.min_changed_fraction, changed)

    def needs_detection(self, image: Image, now_ts: float) -> bool:
        """True when the detector should look at this frame; counts the frames it is spared."""
        self.frames += 1
        if self.last is None or now_ts - self._detected_ts >= self.max_skip_s:
            return True
        if self.check(image, now_ts).moved:
            return True
        self.skipped += 1
        return False

    def detected(self, image: Image, detections: Detections, now_ts: float) -> None:
        """Remember what the detector saw in ``image``, as the reference for the next frames."""
        self._reference = _small_grey(image)
        self._previous = self._reference if self._previous is None else self._previous
        self._detected_ts = now_ts
        self.last = detections


def _small_grey(image: Image) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height = max(1, round(grey.shape[0] * WIDTH / grey.shape[1]))
    small = cv2.resize(grey, (WIDTH, height), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.GaussianBlur(small, (5, 5), 0), dtype=np.uint8)
