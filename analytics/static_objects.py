"""New static objects (dumped waste) from two background models, without labelled data.

The method is Porikli's dual background: a short-term model follows the scene within seconds
and a long-term model holds the scene as it was before anything new arrived. Per pixel:

====================  =====================  ==========================================
long-term foreground  short-term foreground  meaning
====================  =====================  ==========================================
no                    no                     background
yes                   yes                    something moving
yes                   no                     **new and static**: arrived, then stopped
no                    yes                    something just left (uncovered background)
====================  =====================  ==========================================

Both models are running averages whose rates come from time constants in seconds, so the
detector behaves the same at any frame rate. The long-term model must not absorb a new object
before it has been reported, so it learns only where a pixel is neither moving nor new and
static ("held" pixels are frozen); what stays held longer than ``forget_s`` is taken into the
long-term model on purpose (the pile became part of the scene). Three things keep a frozen
model honest: a global gain correction (clouds, auto exposure), a relearn when most of the
zone turns static at once (a light switched on, the camera moved), and a ghost test (an object
that stood long enough to be learnt and then left leaves a hole with the old object's edges
in the long-term model but none in the frame; such a hole is learnt away, never reported).

Thresholds follow the scene's noise: a global noise level from the median absolute residual
of the frame against the short-term model (rain, sensor noise at night raise it everywhere)
and a per-pixel variance of that residual (leaves, reflections raise it locally). Static
pixels are cleaned by morphology, grouped into connected components and followed as blobs by
the IoU of their boxes, so noise, which never stays in the same place, never forms a blob old
enough to count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from core.messages import Image

FloatImage = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

# Robust standard deviation from a median absolute deviation.
MAD_TO_SIGMA = 1.4826
# A residual larger than this many thresholds is an object, not noise, and is clipped before it
# enters the per-pixel variance.
VARIANCE_CLIP = 2.0
# A blob whose box lies this much inside an earlier blob's box is that blob with a new outline.
CONTAINED = 0.6


@dataclass(frozen=True)
class StaticObjectParams:
    """How the detector learns and what it calls a static blob."""

    short_s: float = 10.0  # time constant of the short-term model: how fast a stopped object is learnt
    long_s: float = 600.0  # time constant of the long-term model where nothing is held
    learn_s: float = 60.0  # warm-up: the long-term model learns everywhere, nothing is reported
    forget_s: float = 3600.0  # a blob held this long becomes part of the long-term model
    miss_s: float = 20.0  # a blob unseen this long (a passing bus hid it) is dropped
    work_width: int = 320  # width of the working image in pixels
    min_diff: float = 14.0  # smallest difference (0-255 grey levels) that counts
    noise_k: float = 4.0  # threshold in global noise standard deviations
    pixel_k: float = 3.0  # threshold in per-pixel residual standard deviations
    min_area_px: int = 12  # smallest blob at working resolution, before the rule's own minimum
    match_iou: float = 0.3  # a blob is its earlier self when their boxes overlap this much
    relearn_frac: float = 0.5  # more of the zone than this static at once is a scene change


@dataclass
class StaticBlob:
    """A new static region followed over time; boxes are in pixels of the analysed image."""

    blob_id: int
    first_ts: float
    last_ts: float
    xyxy: tuple[float, float, float, float]
    area_px: float  # in pixels of the analysed image
    zone_fraction: float  # share of the watched zone it covers

    def age_s(self, now_ts: float) -> float:
        """How long it has stood."""
        return now_ts - self.first_ts


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two ``xyxy`` boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class StaticObjectDetector:
    """Finds regions that are new to the long-term background and static in the short-term one.

    Args:
        params: learning times and thresholds.
        polygon: the watched area as (x, y) points in 0-1 image coordinates.
    """

    def __init__(self, params: StaticObjectParams, polygon: npt.NDArray[np.float64]) -> None:
        self.params = params
        self.polygon = polygon
        self._image_size: tuple[int, int] | None = None
        self._zone: Mask = np.zeros((0, 0), np.bool_)
        self._short: FloatImage = np.zeros((0, 0), np.float32)
        self._long: FloatImage = np.zeros((0, 0), np.float32)
        self._var: FloatImage = np.zeros((0, 0), np.float32)
        self._held_since: npt.NDArray[np.float64] = np.zeros((0, 0), np.float64)
        self._started_ts = 0.0
        self._last_ts = 0.0
        self._noise = 0.0
        self._next_id = 1
        self.blobs: dict[int, StaticBlob] = {}
        self.static_mask: Mask = np.zeros((0, 0), np.bool_)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(w, h) of the analysed frames; None before the first."""
        return self._image_size

    @property
    def noise_sigma(self) -> float:
        """The scene's current global noise level in grey levels."""
        return self._noise

    def learning(self, now_ts: float) -> bool:
        """Whether the long-term model is still in its warm-up."""
        return self._image_size is None or now_ts - self._started_ts < self.params.learn_s

    def update(self, image: Image, now_ts: float) -> list[StaticBlob]:
        """Learn from one BGR frame; return the static blobs now seen (none while warming up)."""
        gray = self._prepare(image)
        if self._image_size is None or self._image_size != (image.shape[1], image.shape[0]):
            self._reset(gray, (image.shape[1], image.shape[0]), now_ts)
            return []
        dt = max(0.0, now_ts - self._last_ts)
        self._last_ts = now_ts
        gain = self._gain(gray)
        short_res = gray - self._short
        threshold = self._threshold(short_res)
        moving = np.abs(short_res) > threshold
        # Compared at the frame's own brightness, so both models are held to the same threshold.
        new = np.abs(gray - self._long / gain) > threshold
        static = new & ~moving & self._zone
        warming = self.learning(now_ts)
        self._learn(gray, gain, short_res, threshold, moving, static, dt, warming)
        if warming:
            self.static_mask = np.zeros_like(static)
            return []
        static = self._clean(static)
        if static.sum() > self.params.relearn_frac * max(1, int(self._zone.sum())):
            self._long = self._short.copy()  # the whole scene changed: start over from what is seen now
            self.blobs.clear()
            self.static_mask = np.zeros_like(static)
            return []
        self.static_mask = static
        self._follow(static, now_ts)
        self._forget(now_ts)
        return list(self.blobs.values())

    def is_ghost(self, blob: StaticBlob, image: Image) -> bool:
        """Whether a blob is a hole left by an object the long-term model had learnt.

        A real new object has its outline in the frame; a hole has it in the long-term model.
        """
        mask = self._blob_mask(blob)
        if not mask.any():
            return True
        kernel = np.ones((5, 5), np.uint8)
        as_u8 = mask.astype(np.uint8)
        band = (cv2.dilate(as_u8, kernel) - cv2.erode(as_u8, kernel)).astype(bool)
        frame_edges = _edges(self._prepare(image))[band].sum()
        long_edges = _edges(self._long)[band].sum()
        return bool(frame_edges < long_edges)

    def absorb(self, blob: StaticBlob) -> None:
        """Take a blob into the long-term model and stop following it."""
        mask = self._blob_mask(blob)
        self._long[mask] = self._short[mask]
        self._held_since[mask] = np.inf
        self.blobs.pop(blob.blob_id, None)

    def _prepare(self, image: Image) -> FloatImage:
        height, width = image.shape[:2]
        work_w = min(self.params.work_width, width)
        work_h = max(1, round(height * work_w / width))
        small = cv2.resize(image, (work_w, work_h), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return np.asarray(cv2.GaussianBlur(gray.astype(np.float32), (5, 5), 0), np.float32)

    def _reset(self, gray: FloatImage, image_size: tuple[int, int], now_ts: float) -> None:
        self._image_size = image_size
        height, width = gray.shape
        points = np.round(self.polygon * np.array([width, height])).astype(np.int32)
        zone = np.zeros((height, width), np.uint8)
        cv2.fillPoly(zone, [points], 1)
        self._zone = zone.astype(bool)
        self._short = gray.copy()
        self._long = gray.copy()
        self._var = np.full_like(gray, self.params.min_diff**2 / self.params.pixel_k**2)
        self._held_since = np.full(gray.shape, np.inf)
        self._started_ts = self._last_ts = now_ts
        self._noise = 0.0
        self.blobs.clear()
        self.static_mask = np.zeros_like(self._zone)

    def _gain(self, gray: FloatImage) -> float:
        """Brightness ratio of the long-term model to the frame, so global light changes cancel."""
        frame_level = float(np.median(gray))
        return float(np.median(self._long)) / frame_level if frame_level > 1.0 else 1.0

    def _threshold(self, short_res: FloatImage) -> FloatImage:
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(short_res)))
        # The global level moves slowly so one odd frame does not swing every threshold.
        self._noise = sigma if self._noise == 0.0 else 0.8 * self._noise + 0.2 * sigma
        floor = max(self.params.min_diff, self.params.noise_k * self._noise)
        threshold: FloatImage = np.maximum(floor, self.params.pixel_k * np.sqrt(self._var)).astype(np.float32)
        return threshold

    def _learn(
        self,
        gray: FloatImage,
        gain: float,
        short_res: FloatImage,
        threshold: FloatImage,
        moving: Mask,
        static: Mask,
        dt: float,
        warming: bool,
    ) -> None:
        p = self.params
        a_short = 1.0 - math.exp(-dt / p.short_s)
        self._short += a_short * short_res
        clipped = np.minimum(np.abs(short_res), VARIANCE_CLIP * threshold)
        a_long = 1.0 - math.exp(-dt / (p.learn_s / 4 if warming else p.long_s))
        self._var += a_long * (clipped**2 - self._var)
        target = gray * gain
        if warming:
            self._long += a_long * (target - self._long)
            return
        free = ~(moving | static)
        self._long[free] += a_long * (target[free] - self._long[free])
        self._held_since[~static] = np.inf
        self._held_since[static & np.isinf(self._held_since)] = self._last_ts

    def _clean(self, static: Mask) -> Mask:
        opened = cv2.morphologyEx(static.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        cleaned: Mask = np.asarray(closed, np.bool_) & self._zone
        return cleaned

    def _follow(self, static: Mask, now_ts: float) -> None:
        assert self._image_size is not None
        count, _, stats, _ = cv2.connectedComponentsWithStats(static.astype(np.uint8), connectivity=8)
        scale = self._image_size[0] / static.shape[1]
        zone_px = max(1, int(self._zone.sum()))
        seen: set[int] = set()
        earlier = {b.blob_id: b.xyxy for b in self.blobs.values()}
        for index in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[index])
            if area < self.params.min_area_px:
                continue
            box = (x * scale, y * scale, (x + w) * scale, (y + h) * scale)
            here = [b for b in self.blobs.values() if self._same_place(earlier[b.blob_id], box)]
            # The oldest blob at this place keeps the identity, so an outline that changes from
            # frame to frame never hands the object over to a younger blob.
            match = min((b for b in here if b.blob_id not in seen), key=lambda b: b.first_ts, default=None)
            if match is None:
                # A part split off a blob already seen in this frame (an object whose middle matches
                # the ground) keeps that blob's onset, so a changing outline never resets the clock.
                first_ts = min((b.first_ts for b in here), default=now_ts)
                match = StaticBlob(self._next_id, first_ts, now_ts, box, 0.0, 0.0)
                self.blobs[match.blob_id] = match
                earlier[match.blob_id] = box
                self._next_id += 1
            match.last_ts, match.xyxy = now_ts, box
            match.area_px, match.zone_fraction = area * scale * scale, area / zone_px
            seen.add(match.blob_id)
        for blob in list(self.blobs.values()):
            if blob.blob_id not in seen and now_ts - blob.last_ts > self.params.miss_s:
                del self.blobs[blob.blob_id]

    def _same_place(self, a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
        """Boxes of one object: they overlap enough, or the smaller lies mostly inside the larger."""
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
        inside = iw * ih / smaller if smaller > 0 else 0.0
        return box_iou(a, b) >= self.params.match_iou or inside >= CONTAINED

    def _forget(self, now_ts: float) -> None:
        old = now_ts - self._held_since > self.params.forget_s
        if old.any():
            self._long[old] = self._short[old]
            self._held_since[old] = np.inf
            for blob in list(self.blobs.values()):
                if blob.age_s(now_ts) > self.params.forget_s:
                    self.blobs.pop(blob.blob_id)

    def _blob_mask(self, blob: StaticBlob) -> Mask:
        assert self._image_size is not None
        scale = self.static_mask.shape[1] / self._image_size[0]
        x1, y1, x2, y2 = (round(v * scale) for v in blob.xyxy)
        mask = np.zeros_like(self.static_mask)
        mask[y1:y2, x1:x2] = self.static_mask[y1:y2, x1:x2]
        return mask


def _edges(gray: FloatImage) -> FloatImage:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(cv2.magnitude(gx, gy), np.float32)
