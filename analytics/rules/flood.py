"""Floods: standing water over a share of a road zone for long enough opens an event."""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from analytics.flood import Mask, WaterModel, WaterModelParams
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.persistence import PeakEvent, Persistence, Transition
from core.config import FloodRuleConfig, ModelSlotConfig
from core.messages import EventPhase, Severity

KIND = "flood"
# A frame or two misread (a passing bus, a glare) does not restart the clock.
DIP_TOLERANCE_S = 10.0
# Once open, the event ends only when the water has fallen below this share of ``min_fraction``.
RELEASE_RATIO = 0.75
# Water fraction of the zone from which each severity applies, highest first.
SEVERITY_FRACTIONS = ((0.8, Severity.CRITICAL), (0.6, Severity.HIGH), (0.4, Severity.MEDIUM))
# The water outline in an event's details: at most this many vertices, simplified to this share of its perimeter.
MAX_OUTLINE_POINTS = 32
OUTLINE_TOLERANCE = 0.01


class WaterMeter(Protocol):
    """What the rule needs of a water detector: the share of the zone under water in a frame."""

    def measure(self, frame: RuleInput) -> float:
        """Water fraction (0-1) of ``frame.zone`` in ``frame.image``."""
        ...


class ZoneWater:
    """The water model of one camera and zone, with the frame's detections masked out."""

    def __init__(self, params: WaterModelParams) -> None:
        self.model = WaterModel(params)
        self.last_mask: Mask | None = None

    def measure(self, frame: RuleInput) -> float:
        """Water fraction of the zone; vehicles and people are never counted as water."""
        result = self.model.update(frame.image, frame.now_ts, frame.zone.polygon, frame.detections.xyxy)
        self.last_mask = result.mask
        return result.fraction

    def water_shape(self) -> dict[str, Any]:
        """Where the water of the last frame is, in 0-1 image coordinates (empty when there is none).

        ``water_box_norm`` is ``[x1, y1, x2, y2]`` around every water pixel; ``water_polygon`` is the
        largest water region's outline, simplified: labels for a training set, cheap enough per event.
        """
        return water_shape(self.last_mask) if self.last_mask is not None else {}


class SegmentedWater:
    """Water from a trained segmentation model (the rule's ``model`` slot): its masks inside the zone.

    The pipeline runs the model and hands its output in ``frame.model``; this only measures it.
    """

    def __init__(self, slot: ModelSlotConfig) -> None:
        self.slot = slot
        self.last_mask: Mask | None = None
        self._zone: tuple[tuple[int, int], Mask] | None = None

    def measure(self, frame: RuleInput) -> float:
        """Share of the zone's pixels covered by water outlines (0 when the model found none)."""
        height, width = frame.image.shape[:2]
        zone = self._zone_mask(frame, (width, height))
        water = np.zeros((height, width), np.uint8)
        found = frame.model
        if found is not None and found.outlines is not None:
            if self.slot.classes is not None:
                found = found.of_classes(self.slot.classes)
            outlines = [np.round(p).astype(np.int32) for p in found.outlines or () if len(p) >= 3]
            if outlines:
                cv2.fillPoly(water, outlines, 1)
        mask: Mask = (water > 0) & zone
        self.last_mask = mask
        area = int(zone.sum())
        return float(mask.sum()) / area if area else 0.0

    def water_shape(self) -> dict[str, Any]:
        """Where the water of the last frame is (see :func:`water_shape`)."""
        return water_shape(self.last_mask) if self.last_mask is not None else {}

    def _zone_mask(self, frame: RuleInput, size: tuple[int, int]) -> Mask:
        if self._zone is None or self._zone[0] != size:
            inside = np.zeros((size[1], size[0]), np.uint8)
            cv2.fillPoly(inside, [frame.zone.pixel_polygon(size)], 1)
            self._zone = (size, inside > 0)
        return self._zone[1]


def water_shape(mask: Mask) -> dict[str, Any]:
    """The box around ``mask``'s pixels and its largest region's simplified outline, normalised to 0-1."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return {}
    height, width = mask.shape
    box = [xs.min() / width, ys.min() / height, (xs.max() + 1) / width, (ys.max() + 1) / height]
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    largest = max(contours, key=cv2.contourArea)
    tolerance = OUTLINE_TOLERANCE * cv2.arcLength(largest, True)
    outline = cv2.approxPolyDP(largest, tolerance, True).reshape(-1, 2)
    while len(outline) > MAX_OUTLINE_POINTS:
        tolerance *= 1.5
        outline = cv2.approxPolyDP(largest, tolerance, True).reshape(-1, 2)
    shape: dict[str, Any] = {"water_box_norm": [round(float(v), 4) for v in box]}
    if len(outline) >= 3:
        shape["water_polygon"] = [[round(float(x) / width, 4), round(float(y) / height, 4)] for x, y in outline]
    return shape


class FloodRule:
    """Measures the water in a zone every ``interval_s``; emits START after ``min_duration_s`` at or
    above ``min_fraction``, UPDATE when the peak or severity changes (at once on escalation, else at
    most every ``update_interval_s``) and END after ``end_after_s`` below ``RELEASE_RATIO`` of it."""

    needs_tracks = False

    def __init__(self, config: FloodRuleConfig, water: WaterMeter | None = None) -> None:
        self.config = config
        self.zone = config.zone
        self.interval_s: float | None = config.interval_s
        self.model = config.model
        if water is None:
            water = (
                SegmentedWater(config.model) if config.model else ZoneWater(WaterModelParams(learn_s=config.learn_s))
            )
        self.water = water
        self._held = Persistence(config.min_duration_s, config.end_after_s, DIP_TOLERANCE_S)
        self._active: PeakEvent | None = None
        self._start_shape: dict[str, Any] = {}

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Update the rule with the water in its zone."""
        now_ts = frame.now_ts
        fraction = self.water.measure(frame)
        limit = self.config.min_fraction * (RELEASE_RATIO if self._active else 1.0)
        transition = self._held.update(now_ts, fraction >= limit)
        if transition == Transition.START:
            assert self._held.since is not None
            self._active = PeakEvent(self._held.since, fraction, _severity(fraction), now_ts, fraction)
            return [self._event(EventPhase.START, now_ts, fraction)]
        if self._active is None:
            return []
        if transition == Transition.END:
            event = self._event(EventPhase.END, now_ts, fraction)
            self._active = None
            return [event]
        return self._follow(now_ts, fraction)

    def _follow(self, now_ts: float, fraction: float) -> list[RuleEvent]:
        active = self._active
        assert active is not None
        if not active.observe(fraction, _severity(fraction), now_ts, self.config.update_interval_s):
            return []
        return [self._event(EventPhase.UPDATE, now_ts, fraction)]

    def _event(self, phase: EventPhase, now_ts: float, fraction: float) -> RuleEvent:
        active = self._active
        assert active is not None
        details: dict[str, Any] = {
            "water_fraction": round(fraction, 3),
            "peak_water_fraction": round(active.peak, 3),
            "threshold": self.config.min_fraction,
            "duration_s": round(now_ts - active.started_ts, 1),
        }
        shape = getattr(self.water, "water_shape", None)  # a meter may not know where the water is
        if phase != EventPhase.END and callable(shape):
            details.update(shape())
        if phase == EventPhase.START:
            # The water in the START frame (the one kept as evidence), whatever later updates say.
            self._start_shape = {f"start_{k}": details[k] for k in ("water_box_norm", "water_polygon") if k in details}
        details.update(self._start_shape)
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=f"Flood in {self.zone}: water over up to {active.peak:.0%} of the zone",
            details=details,
        )


def _severity(fraction: float) -> Severity:
    for lowest, severity in SEVERITY_FRACTIONS:
        if fraction >= lowest:
            return severity
    return Severity.LOW
