"""Standing water on a road, found without labelled data by comparing each frame with a learned dry road."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from core.messages import Image

FloatImage = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class WaterModelParams:
    """How the water model looks at a scene; every threshold is relative to the dry road's own noise.

    Attributes:
        work_width: width of the small working image (the height keeps the frame's aspect ratio).
        history: dry frames whose per-pixel median is the dry road.
        learn_s: the dry road learns a frame at most this often.
        dry_fraction: a zone with less water than this is dry (for callers that need a verdict).
        learn_below: a frame is learned only while water covers less than this share of the zone;
            its water pixels (and a margin around them) keep the dry road's values, so the road
            follows drying and shadows while standing water never becomes road.
        chroma_k: water's colour departs from the dry road by this many noise units.
        structure_k: water replaces the road's texture: local correlation with the dry road falls
            by this many noise units (a second cue, counted where the colour has moved halfway).
        highlight_k: reflections: brighter than the dry road by this many noise units and grey.
        window: side in working pixels of the local windows the cues are measured over.
        min_blob: smallest water region kept, as a fraction of the working image.
    """

    work_width: int = 320
    history: int = 7
    learn_s: float = 60.0
    dry_fraction: float = 0.02
    learn_below: float = 0.5
    chroma_k: float = 4.0
    structure_k: float = 5.0
    highlight_k: float = 6.0
    window: int = 15
    min_blob: float = 0.002


@dataclass(frozen=True)
class WaterResult:
    """The water found in one frame.

    Attributes:
        mask: water pixels, in the working resolution.
        fraction: share of the zone covered by water (0-1).
        learned: the frame was added to the dry road.
    """

    mask: Mask
    fraction: float
    learned: bool


@dataclass(frozen=True)
class _Cues:
    lightness: FloatImage
    chroma: FloatImage


class WaterModel:
    """A per-camera model of the dry road that tells which pixels are now under water.

    The first frame is taken as dry (a camera is installed on a dry day). Afterwards, every
    ``learn_s``, the pixels judged dry (away from water and detected objects) are learned, so the
    model follows drying surfaces, shadows and the light of the day while water never becomes road.
    """

    def __init__(self, params: WaterModelParams | None = None) -> None:
        self.params = params or WaterModelParams()
        self._dry: deque[_Cues] = deque(maxlen=self.params.history)
        self._model: _Cues | None = None
        self._noise: deque[tuple[float, float, float]] = deque(maxlen=self.params.history)
        self._last_learned_ts: float | None = None

    def reset(self) -> None:
        """Forget the dry road (the camera was moved or its picture changed size)."""
        self._dry.clear()
        self._noise.clear()
        self._model = None
        self._last_learned_ts = None

    def update(
        self,
        image: Image,
        now_ts: float,
        zone_polygon: npt.NDArray[np.float64],
        boxes: npt.NDArray[np.float32] | None = None,
    ) -> WaterResult:
        """Find the water in ``image`` and learn it as dry road when it is dry and due.

        Args:
            image: the BGR frame.
            now_ts: the frame's time, in seconds.
            zone_polygon: (N, 2) zone vertices in 0-1 image coordinates; the fraction is taken inside it.
            boxes: (M, 4) xyxy pixel boxes of detected objects; a vehicle is never water.
        """
        cues = self._cues(image)
        height, width = cues.lightness.shape
        if self._model is not None and self._model.lightness.shape != (height, width):
            # The stream's resolution changed: the old dry road no longer lines up with the picture.
            self.reset()
        zone = _polygon_mask(zone_polygon, (width, height))
        objects = _boxes_mask(boxes, image.shape[1] / width, (width, height))
        if self._model is None:
            mask = np.zeros((height, width), dtype=np.bool_)
        else:
            mask = self._water(cues, self._model) & ~objects
        counted = zone & ~objects
        fraction = float(mask[counted].mean()) if counted.any() else 0.0
        learned = False
        due = self._last_learned_ts is None or now_ts - self._last_learned_ts >= self.params.learn_s
        if due and fraction < self.params.learn_below:
            self._learn(cues, mask | objects, now_ts)
            learned = True
        return WaterResult(mask=mask & zone, fraction=fraction, learned=learned)

    def _cues(self, image: Image) -> _Cues:
        height, width = image.shape[:2]
        size = (self.params.work_width, max(1, round(height * self.params.work_width / width)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
        return _Cues(lightness=lab[..., 0], chroma=lab[..., 1:] - 128.0)

    def _learn(self, cues: _Cues, exclude: Mask, now_ts: float) -> None:
        if self._model is not None:
            keep = cv2.dilate(exclude.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
            lightness = np.where(keep, self._model.lightness, cues.lightness)
            chroma = np.where(keep[..., None], self._model.chroma, cues.chroma)
            cues = _Cues(lightness=lightness.astype(np.float32), chroma=chroma.astype(np.float32))
            self._noise.append(self._difference_levels(cues, self._model))
        self._dry.append(cues)
        lightness = np.median(np.stack([c.lightness for c in self._dry]), axis=0).astype(np.float32)
        chroma = np.median(np.stack([c.chroma for c in self._dry]), axis=0).astype(np.float32)
        self._model = _Cues(lightness=lightness, chroma=chroma)
        self._last_learned_ts = now_ts

    def _difference_levels(self, cues: _Cues, model: _Cues) -> tuple[float, float, float]:
        """How far a dry frame departs from the dry road: the 90th percentile of each cue."""
        chroma, structure, brighter = self._differences(cues, model)
        levels = [float(np.percentile(cue, 90)) for cue in (chroma, structure, np.abs(brighter))]
        return levels[0], levels[1], levels[2]

    def _noise_levels(self) -> tuple[float, float, float]:
        """The dry road's noise in each cue, never below the compression noise of a still scene."""
        floors = (1.0, 0.15, 4.0)
        if not self._noise:
            return 1.5, 0.5, 8.0
        levels = np.median(np.array(self._noise), axis=0)
        return max(float(levels[0]), floors[0]), max(float(levels[1]), floors[1]), max(float(levels[2]), floors[2])

    def _differences(self, cues: _Cues, model: _Cues) -> tuple[FloatImage, FloatImage, FloatImage]:
        """Per-pixel chroma shift, loss of local correlation and brightening against the dry road."""
        k = (self.params.window, self.params.window)
        shift = np.linalg.norm(cues.chroma - model.chroma, axis=-1).astype(np.float32)
        chroma: FloatImage = cv2.blur(shift, k)
        lightness = _match_histogram(cues.lightness, model.lightness)
        structure: FloatImage = 1.0 - _local_correlation(lightness, model.lightness, self.params.window)
        brighter = np.asarray(cv2.blur(lightness - model.lightness, k), dtype=np.float32)
        return chroma, structure, brighter

    def _water(self, cues: _Cues, model: _Cues) -> Mask:
        chroma, structure, brighter = self._differences(cues, model)
        chroma_noise, structure_noise, lightness_noise = self._noise_levels()
        grey = np.linalg.norm(cues.chroma, axis=-1) < chroma_noise
        p = self.params
        water = chroma > p.chroma_k * chroma_noise
        water |= (structure > p.structure_k * structure_noise) & (chroma > 0.5 * p.chroma_k * chroma_noise)
        water |= (brighter > p.highlight_k * lightness_noise) & grey & (structure > structure_noise)
        return _clean(water, p.min_blob)


def _match_histogram(source: FloatImage, reference: FloatImage) -> FloatImage:
    """``source`` with the grey levels of ``reference``: exposure and daylight changes cancel out."""
    matched = np.interp(source.ravel(), np.sort(source.ravel()), np.sort(reference.ravel()))
    return matched.reshape(source.shape).astype(np.float32)


def _local_correlation(a: FloatImage, b: FloatImage, window: int) -> FloatImage:
    """Normalised cross-correlation of ``a`` and ``b`` over square windows (1: the same texture)."""
    k = (window, window)
    mean_a, mean_b = cv2.blur(a, k), cv2.blur(b, k)
    var_a = cv2.blur(a * a, k) - mean_a * mean_a
    var_b = cv2.blur(b * b, k) - mean_b * mean_b
    cov = cv2.blur(a * b, k) - mean_a * mean_b
    # A flat window on both sides has no texture to lose: count it as unchanged.
    correlation = cov / np.sqrt(np.maximum(var_a, 4.0) * np.maximum(var_b, 4.0))
    return np.asarray(np.clip(correlation, -1.0, 1.0), dtype=np.float32)


def _clean(water: Mask, min_blob: float) -> Mask:
    """Water as smooth regions: speckle opened away, holes closed, small islands dropped."""
    opened = cv2.morphologyEx(
        water.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    )
    mask = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(count, dtype=np.bool_)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_blob * mask.size
    kept: Mask = keep[labels]
    return kept


def _polygon_mask(polygon: npt.NDArray[np.float64], size: tuple[int, int]) -> Mask:
    """The pixels of an image of ``size`` (w, h) inside a polygon given in 0-1 coordinates."""
    width, height = size
    mask = np.zeros((height, width), dtype=np.uint8)
    points = np.round(polygon * np.array([width, height], dtype=np.float64)).astype(np.int32)
    cv2.fillPoly(mask, [points], 1)
    inside: Mask = mask > 0
    return inside


def _boxes_mask(boxes: npt.NDArray[np.float32] | None, scale: float, size: tuple[int, int]) -> Mask:
    """The working-image pixels covered by detection boxes given in full-frame pixels."""
    width, height = size
    mask = np.zeros((height, width), dtype=np.bool_)
    if boxes is None:
        return mask
    for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64) / scale:
        mask[max(0, int(y1)) : max(0, int(np.ceil(y2))), max(0, int(x1)) : max(0, int(np.ceil(x2)))] = True
    return mask
