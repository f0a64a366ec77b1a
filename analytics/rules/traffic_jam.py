"""Traffic jams: a road zone's level of service (A-F) from occupancy and speed; E or F held opens an event.

Occupancy is the share of the zone covered by the vehicles' footprints (the lower part of each
box), rasterised on a coarse grid; speed is each tracked vehicle's bottom-centre displacement over
the window divided by its box height, so "body lengths per second" read the same near and far from
the camera. The level is the worse of the two bands below, with two exceptions: under
``queue_occupancy`` the level comes from occupancy alone (a lone slow or parked vehicle is no jam),
and while the median speed is in band A-C (traffic flows) the level is at most D.

===== ============================ =====================================
level occupancy (default bands)    median speed, body lengths per second
===== ============================ =====================================
A     below 0.08                   2.0 or more (free flow, about 30 km/h)
B     0.08 to 0.15                 1.4 to 2.0
C     0.15 to 0.25                 0.9 to 1.4
D     0.25 to 0.35                 0.5 to 0.9 (heavy but moving)
E     0.35 to 0.50                 0.25 to 0.5 (queueing, walking pace)
F     0.50 or more                 below 0.25 (stop-and-go)
===== ============================ =====================================

A body length is a box height: about a car's length (4-5 m) from an elevated camera looking along
the road, so the speed bands are roughly those of an urban street's level of service as a share
of a 35-40 km/h free-flow speed. A zone with a ground calibration (four image points and the same
points in metres) measures speeds in km/h instead, against ``speed_levels_kmh`` (32, 23, 15, 8
and 4 km/h by default).

Without track ids (or with fewer than ``min_tracked`` measured vehicles) the speed is unknown and
the level comes from occupancy alone; boxes the tracker has not confirmed (negative ids) count for
occupancy but not for speed. Severity: E is medium, F high, F at or above ``critical_occupancy``
critical; it never drops within an event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import fmean, median

import cv2
import numpy as np
import numpy.typing as npt

from analytics.detections import Detections
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.persistence import Persistence, Transition
from analytics.zones import Zone
from core.config import ModelSlotConfig, TrafficJamRuleConfig
from core.messages import EventPhase, Severity

KIND = "traffic_jam"
LEVELS = ("A", "B", "C", "D", "E", "F")
JAM = LEVELS.index("E")
# Short spells of a better level (a queue moving up) do not restart the clock.
DIP_TOLERANCE_S = 3.0
# Occupancy is measured on a grid this wide: fine enough for vehicles, cheap at any frame size.
GRID_WIDTH = 320

# ts, bottom-centre x, y and box height in pixels; or x, y in metres and 1 in a calibrated zone
Sample = tuple[float, float, float, float]


def level_of(occupancy: float, speed: float | None, config: TrafficJamRuleConfig, *, kmh: bool = False) -> str:
    """The level of service (A-F) of a zone.

    Args:
        occupancy: Share (0-1) of the zone covered by vehicles.
        speed: Median speed in body lengths per second, or km/h when ``kmh``; None when unknown.
        config: The rule's bands.
        kmh: ``speed`` is in km/h (a calibrated zone).
    """
    by_occupancy = sum(occupancy >= bound for bound in config.occupancy_levels)
    if speed is None or occupancy < config.queue_occupancy:
        return LEVELS[by_occupancy]
    by_speed = sum(speed < bound for bound in (config.speed_levels_kmh if kmh else config.speed_levels))
    level = max(by_occupancy, by_speed)
    if by_speed <= LEVELS.index("C"):
        level = min(level, LEVELS.index("D"))
    return LEVELS[level]


def occupancy_of(vehicles: Detections, zone: Zone, footprint: float) -> float:
    """The share (0-1) of ``zone`` covered by the union of the vehicles' footprints."""
    width, height = vehicles.image_size
    scale = GRID_WIDTH / width
    zone_mask = _zone_mask(zone, (GRID_WIDTH, max(1, round(height * scale))))
    zone_area = int(zone_mask.sum())
    if zone_area == 0 or len(vehicles) == 0:
        return 0.0
    covered = np.zeros_like(zone_mask)
    boxes = vehicles.xyxy.astype(np.float64) * scale
    boxes[:, 1] = boxes[:, 3] - (boxes[:, 3] - boxes[:, 1]) * footprint
    for x1, y1, x2, y2 in np.round(boxes).astype(np.int32):
        covered[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = 1
    return int((covered & zone_mask).sum()) / zone_area


@lru_cache(maxsize=64)
def _zone_mask(zone: Zone, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """1 inside ``zone`` on a grid of ``size`` (w, h); read only."""
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(mask, [zone.pixel_polygon(size)], 1)
    return mask


def _ground_homography(zone: Zone) -> npt.NDArray[np.float64] | None:
    """The zone's 0-1 image coordinates to metres, or None when it has no calibration."""
    if zone.calibration is None:
        return None
    image = np.array(zone.calibration.image, np.float32)
    metres = np.array(zone.calibration.metres, np.float32)
    return cv2.getPerspectiveTransform(image, metres).astype(np.float64)


@dataclass
class _Active:
    started_ts: float
    level: str
    peak_level: str
    severity: Severity
    last_update_ts: float


@dataclass
class Reading:
    """A zone's level of service on one frame: occupancy (0-1), median speed (None: unknown) in ``unit``."""

    level: str
    occupancy: float
    speed: float | None
    unit: str
    tracked: int
    vehicles: Detections


@dataclass
class _Tracks:
    """Recent bottom-centre positions of every tracked vehicle, for speeds over a window.

    With a ``ground`` homography (0-1 image coordinates to metres) positions are kept in metres
    and speeds come out in metres per second; otherwise in pixels, divided by the box height.
    """

    window_s: float
    ground: npt.NDArray[np.float64] | None = None
    samples: dict[int, deque[Sample]] = field(default_factory=dict)

    def add(self, now_ts: float, vehicles: Detections) -> None:
        if vehicles.track_id is not None:
            points = vehicles.bottom_centers().astype(np.float64)
            heights = (vehicles.xyxy[:, 3] - vehicles.xyxy[:, 1]).astype(np.float64)
            if self.ground is not None and len(points):
                normalised = (points / np.array(vehicles.image_size, np.float64)).reshape(-1, 1, 2)
                points = np.asarray(cv2.perspectiveTransform(normalised, self.ground), np.float64).reshape(-1, 2)
                heights = np.ones(len(points))
            for track, (x, y), h in zip(vehicles.track_id.tolist(), points.tolist(), heights.tolist(), strict=True):
                if track >= 0:  # below zero: a box the tracker has not confirmed
                    self.samples.setdefault(track, deque()).append((now_ts, x, y, h))
        for track in list(self.samples):
            history = self.samples[track]
            while history and history[0][0] < now_ts - self.window_s:
                history.popleft()
            if not history:
                del self.samples[track]

    def speed(self, track: int) -> float | None:
        """Body lengths (or metres) per second over the window; None until the track spans half of it."""
        history = self.samples.get(track)
        if not history or history[-1][0] - history[0][0] < self.window_s / 2:
            return None
        (t0, x0, y0, _), (t1, x1, y1, _) = history[0], history[-1]
        body = median(h for _, _, _, h in history)
        return float(np.hypot(x1 - x0, y1 - y0)) / (t1 - t0) / max(body, 1e-6)


class TrafficJamRule:
    """Classifies a road zone's level of service each frame; emits START after ``min_duration_s`` at
    E or F, UPDATE when the level changes (at once when it worsens, at most every
    ``update_interval_s`` when it eases) and END after ``end_after_s`` at D or better (hysteresis)."""

    needs_tracks = True
    interval_s: float | None = None
    model: ModelSlotConfig | None = None  # detections come from the camera's detector

    def __init__(self, config: TrafficJamRuleConfig) -> None:
        self.config = config
        self.zone = config.zone
        self._tracks: _Tracks | None = None  # made on the first frame, which brings the zone's calibration
        self._occupancy: deque[tuple[float, float]] = deque()
        self._held = Persistence(config.min_duration_s, config.end_after_s, DIP_TOLERANCE_S)
        self._active: _Active | None = None
        self.reading: Reading | None = None  # the latest frame's, for anyone watching the zone live

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Update the rule with the frame's vehicles."""
        now_ts = frame.now_ts
        measure = self.reading = self._measure(frame)
        transition = self._held.update(now_ts, LEVELS.index(measure.level) >= JAM)
        if transition == Transition.START:
            assert self._held.since is not None
            severity = self._severity(measure)
            self._active = _Active(self._held.since, measure.level, measure.level, severity, now_ts)
            return [self._event(EventPhase.START, now_ts, measure)]
        if self._active is None:
            return []
        if transition == Transition.END:
            event = self._event(EventPhase.END, now_ts, measure)
            self._active = None
            return [event]
        if self._held.gone_since is not None:
            return []  # clearing: no updates while the level is D or better
        return self._follow(now_ts, measure)

    def _measure(self, frame: RuleInput) -> Reading:
        now_ts = frame.now_ts
        everywhere = frame.detections.of_classes(self.config.classes)
        if self._tracks is None:
            self._tracks = _Tracks(self.config.window_s, _ground_homography(frame.zone))
        tracks = self._tracks
        kmh = tracks.ground is not None
        tracks.add(now_ts, everywhere)
        self._occupancy.append((now_ts, occupancy_of(everywhere, frame.zone, self.config.footprint)))
        while self._occupancy[0][0] < now_ts - self.config.window_s:
            self._occupancy.popleft()
        occupancy = fmean(value for _, value in self._occupancy)
        vehicles = frame.in_zone.of_classes(self.config.classes)
        speeds: list[float] = []
        if vehicles.track_id is not None:
            measured = (tracks.speed(track) for track in vehicles.track_id.tolist())
            speeds = [speed * 3.6 if kmh else speed for speed in measured if speed is not None]
        speed = median(speeds) if len(speeds) >= self.config.min_tracked else None
        level = level_of(occupancy, speed, self.config, kmh=kmh)
        return Reading(level, occupancy, speed, "km/h" if kmh else "body lengths/s", len(speeds), vehicles)

    def _follow(self, now_ts: float, measure: Reading) -> list[RuleEvent]:
        active = self._active
        assert active is not None
        severity = self._severity(measure)
        escalated = severity.rank > active.severity.rank or measure.level > active.level
        due = now_ts - active.last_update_ts >= self.config.update_interval_s
        if not (escalated or (due and measure.level != active.level)):
            return []
        active.level = measure.level
        active.peak_level = max(active.peak_level, measure.level)
        active.severity = max(severity, active.severity, key=lambda s: s.rank)
        active.last_update_ts = now_ts
        return [self._event(EventPhase.UPDATE, now_ts, measure)]

    def _severity(self, measure: Reading) -> Severity:
        if measure.level != "F":
            return Severity.MEDIUM
        return Severity.CRITICAL if measure.occupancy >= self.config.critical_occupancy else Severity.HIGH

    def _event(self, phase: EventPhase, now_ts: float, measure: Reading) -> RuleEvent:
        active = self._active
        assert active is not None
        speed = None if measure.speed is None else round(measure.speed, 2)
        moving = "speed unknown" if speed is None else f"median speed {speed:g} {measure.unit}"
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=(
                f"Traffic jam in {self.zone}: level of service {active.level} "
                f"(occupancy {measure.occupancy:.0%}, {moving})"
            ),
            details={
                "level": measure.level,
                "peak_level": active.peak_level,
                "occupancy": round(measure.occupancy, 3),
                "vehicles": len(measure.vehicles),
                "median_speed": speed,
                "speed_unit": measure.unit,
                "tracked_vehicles": measure.tracked,
                "by_class": measure.vehicles.count_by_class(),
                "duration_s": round(now_ts - active.started_ts, 1),
            },
        )
