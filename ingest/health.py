"""Image health: a camera that delivers frames may still be useless (frozen, covered, blurred).

Each sampled frame is reduced to a few numbers on a small grey copy (brightness, contrast,
sharpness, change from the previous sample). A condition marks the camera tampered when the
median over its whole window says so, and clears once the last few seconds look normal again,
so a single odd frame never flips the state. The thresholds were checked on the project's real
footage: the sharpest-to-dullest real scenes sit far from a black, frozen or blurred stream.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

from core.config import HealthConfig
from core.messages import Image

SHARPNESS_WIDTH = 320  # sharpness is measured at this width, so it does not depend on the resolution
CHANGE_WIDTH = 160  # change between samples is measured at this width (averages away sensor noise)
SAMPLE_INTERVAL_S = 0.5  # at most this often: the stats cost about a millisecond
FROZEN_CHANGE = 0.2  # mean absolute grey difference (0-255) below which two samples are the same image
DARK_CONTRAST = 12.0  # a covered lens is dark *and* flat; a night scene has lights in it
RECOVER_S = 4.0  # this many seconds of normal images clear a tampered state


@dataclass(frozen=True, slots=True)
class ImageStats:
    """Numbers describing one sampled frame."""

    ts: float
    brightness: float  # mean grey level, 0-255
    contrast: float  # standard deviation of the grey level
    sharpness: float  # variance of the Laplacian at SHARPNESS_WIDTH
    change: float | None  # mean absolute difference from the previous sample at CHANGE_WIDTH


def _grey_at(image: Image, width: int) -> Image:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    return np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


class TamperWatch:
    """Watches sampled frames of one camera for a frozen, dark or blurred image."""

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        self.window_s = max(config.frozen_after_s, config.dark_after_s, config.blur_after_s, RECOVER_S)
        self._samples: deque[ImageStats] = deque()
        self._previous: Image | None = None
        self._last_ts = float("-inf")
        self._verdict: str | None = None

    def wants_sample(self, now: float) -> bool:
        """True when the next frame should be measured."""
        return now - self._last_ts >= SAMPLE_INTERVAL_S

    def add(self, image: Image, now: float) -> ImageStats:
        """Measure one frame (BGR or grey) taken at ``now``."""
        sharp = _grey_at(image, SHARPNESS_WIDTH)
        small = _grey_at(sharp, CHANGE_WIDTH)
        change = None
        if self._previous is not None and self._previous.shape == small.shape:
            change = float(np.abs(small.astype(np.int16) - self._previous.astype(np.int16)).mean())
        self._previous = small
        stats = ImageStats(
            ts=now,
            brightness=float(sharp.mean()),
            contrast=float(sharp.std()),
            sharpness=float(cv2.Laplacian(sharp, cv2.CV_64F).var()),
            change=change,
        )
        self._last_ts = now
        self._samples.append(stats)
        while self._samples and self._samples[0].ts < now - self.window_s:
            self._samples.popleft()
        return stats

    def reset(self) -> None:
        """Forget everything (a new connection, or frames stopped)."""
        self._samples.clear()
        self._previous = None
        self._last_ts = float("-inf")
        self._verdict = None

    def verdict(self, now: float) -> str | None:
        """Why the camera is tampered, or None when its images look usable."""
        if self._verdict is not None and self._normal_since(now - RECOVER_S):
            self._verdict = None
        if self._verdict is None:
            self._verdict = self._judge(now)
        return self._verdict

    def _window(self, now: float, seconds: float) -> list[ImageStats] | None:
        """The samples of the last ``seconds``, or None unless they span (nearly) all of it."""
        samples = [s for s in self._samples if s.ts >= now - seconds]
        if not samples or samples[0].ts > now - seconds + 2 * SAMPLE_INTERVAL_S + 0.5:
            return None
        return samples

    def _judge(self, now: float) -> str | None:
        config = self.config
        if config.dark_after_s > 0 and (samples := self._window(now, config.dark_after_s)):
            brightness = median(s.brightness for s in samples)
            contrast = median(s.contrast for s in samples)
            if brightness < config.dark_luma and contrast < DARK_CONTRAST:
                return (
                    f"dark: black or covered lens for {config.dark_after_s:g} s "
                    f"(brightness {brightness:.0f}/255, contrast {contrast:.0f})"
                )
        if config.frozen_after_s > 0 and (samples := self._window(now, config.frozen_after_s)):
            changes = [s.change for s in samples if s.change is not None]
            if len(changes) >= 2 and median(changes) < FROZEN_CHANGE:
                return f"frozen: the same image for {config.frozen_after_s:g} s (change {median(changes):.2f}/255)"
        if config.blur_after_s > 0 and (samples := self._window(now, config.blur_after_s)):
            sharpness = median(s.sharpness for s in samples)
            if sharpness < config.blur_threshold:
                return (
                    f"blurred: lens obscured or out of focus for {config.blur_after_s:g} s "
                    f"(sharpness {sharpness:.1f} < {config.blur_threshold:g})"
                )
        return None

    def _normal_since(self, since: float) -> bool:
        recent = [s for s in self._samples if s.ts >= since]
        if len(recent) < 2:
            return False
        config = self.config
        changes = [s.change for s in recent if s.change is not None]
        brightness, contrast = median(s.brightness for s in recent), median(s.contrast for s in recent)
        dark = config.dark_after_s > 0 and brightness < config.dark_luma and contrast < DARK_CONTRAST
        frozen = config.frozen_after_s > 0 and bool(changes) and median(changes) < FROZEN_CHANGE
        blurred = config.blur_after_s > 0 and median(s.sharpness for s in recent) < config.blur_threshold
        return not (dark or frozen or blurred)
