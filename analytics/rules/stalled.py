"""Stalled vehicles and illegal parking: a tracked vehicle staying put in a zone too long opens an event.

A vehicle stays put while its bottom-centre is within ``radius`` box heights of its spot, so a few
pixels of box jitter never restart its clock, at any distance from the camera. Leaving the spot
for a moment (a box that jumps for a frame or two) is forgiven; leaving it for longer moves the
spot. The zone has one event that lists every stalled vehicle, because incidents are kept per
camera, kind and zone: it starts with the first stalled vehicle, updates when the list changes and
ends when the last one has been away from its spot, or unseen, for ``end_after_s``. Vehicles
without a track id (an untracked camera, or a box the tracker has not confirmed) are never judged.
Severity is medium, high once three or more vehicles are stalled at once (a lane is blocked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.detections import Detections
from analytics.rules.base import RuleEvent, RuleInput
from core.config import ModelSlotConfig, StalledVehicleRuleConfig
from core.messages import EventPhase, Severity

KIND = "stalled_vehicle"
# Away from its spot this long, a vehicle that is not (yet) stalled has moved on.
AWAY_CONFIRM_S = 2.0
# This many vehicles stalled at once block the road rather than one kerb.
MANY_STALLED = 3


@dataclass
class _Track:
    class_name: str
    spot: tuple[float, float]
    since_ts: float
    last_seen_ts: float
    box: tuple[float, float, float, float]
    away_since: float | None = None
    stalled: bool = False

    @property
    def height(self) -> float:
        return max(self.box[3] - self.box[1], 1.0)

    def near(self, point: tuple[float, float], radius: float) -> bool:
        return (point[0] - self.spot[0]) ** 2 + (point[1] - self.spot[1]) ** 2 <= (radius * self.height) ** 2


@dataclass
class _Active:
    started_ts: float
    listed: frozenset[int]
    severity: Severity
    last_update_ts: float


class StalledVehicleRule:
    """Follows every tracked vehicle in the zone; emits START when one has stayed put for
    ``max_stationary_s``, UPDATE when the list of stalled vehicles changes (or, with only their
    times growing, every ``update_interval_s``) and END once none is left."""

    needs_tracks = True
    interval_s: float | None = None
    model: ModelSlotConfig | None = None  # detections come from the camera's detector

    def __init__(self, config: StalledVehicleRuleConfig) -> None:
        self.config = config
        self.zone = config.zone
        self._tracks: dict[int, _Track] = {}
        self._active: _Active | None = None

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Update the rule with the tracked vehicles in its zone."""
        now_ts = frame.now_ts
        self._see(now_ts, frame.in_zone.of_classes(self.config.classes))
        for track_id, track in list(self._tracks.items()):
            if now_ts - track.last_seen_ts >= self.config.end_after_s:
                del self._tracks[track_id]
            elif track.away_since is None and now_ts - track.since_ts >= self.config.max_stationary_s:
                track.stalled = True
        listed = {i: t for i, t in self._tracks.items() if t.stalled}
        if self._active is None:
            if not listed:
                return []
            started_ts = min(t.since_ts for t in listed.values())
            self._active = _Active(started_ts, frozenset(listed), self._severity(listed), now_ts)
            return [self._event(EventPhase.START, now_ts, listed)]
        return self._follow(now_ts, listed)

    def _see(self, now_ts: float, vehicles: Detections) -> None:
        if vehicles.track_id is None:
            return
        points = vehicles.bottom_centers().tolist()
        for track_id, (x, y), box, name in zip(
            vehicles.track_id.tolist(), points, vehicles.xyxy.tolist(), vehicles.class_names, strict=True
        ):
            if track_id < 0:  # a box the tracker has not confirmed
                continue
            point, xyxy = (x, y), (box[0], box[1], box[2], box[3])
            track = self._tracks.get(track_id) or self._inherit(now_ts, point, name)
            if track is None:
                track = _Track(name, point, now_ts, now_ts, xyxy)
            self._tracks[track_id] = track
            track.last_seen_ts, track.box = now_ts, xyxy
            self._follow_spot(now_ts, track, point)

    def _follow_spot(self, now_ts: float, track: _Track, point: tuple[float, float]) -> None:
        if track.near(point, self.config.radius):
            track.away_since = None
            return
        if track.away_since is None:
            track.away_since = now_ts
        confirm_s = self.config.end_after_s if track.stalled else AWAY_CONFIRM_S
        if now_ts - track.away_since >= confirm_s:
            track.spot, track.since_ts, track.away_since, track.stalled = point, now_ts, None, False

    def _inherit(self, now_ts: float, point: tuple[float, float], name: str) -> _Track | None:
        """The state of a vanished track of the same class at this spot: the tracker lost and renamed it."""
        candidates = [
            (track_id, track)
            for track_id, track in self._tracks.items()
            if track.last_seen_ts < now_ts and track.class_name == name and track.near(point, self.config.radius)
        ]
        if not candidates:
            return None
        track_id, track = min(candidates, key=lambda item: now_ts - item[1].last_seen_ts)
        del self._tracks[track_id]
        return track

    def _follow(self, now_ts: float, listed: dict[int, _Track]) -> list[RuleEvent]:
        active = self._active
        assert active is not None
        if not listed:
            event = self._event(EventPhase.END, now_ts, listed)
            self._active = None
            return [event]
        changed = frozenset(listed) != active.listed
        if not changed and now_ts - active.last_update_ts < self.config.update_interval_s:
            return []
        active.listed = frozenset(listed)
        active.severity = max(self._severity(listed), active.severity, key=lambda s: s.rank)
        active.last_update_ts = now_ts
        return [self._event(EventPhase.UPDATE, now_ts, listed)]

    @staticmethod
    def _severity(listed: dict[int, _Track]) -> Severity:
        return Severity.HIGH if len(listed) >= MANY_STALLED else Severity.MEDIUM

    def _event(self, phase: EventPhase, now_ts: float, listed: dict[int, _Track]) -> RuleEvent:
        active = self._active
        assert active is not None
        vehicles: list[dict[str, Any]] = [
            {
                "track_id": track_id,
                "class": track.class_name,
                "box": [round(v) for v in track.box],
                "stationary_s": round(now_ts - track.since_ts, 1),
            }
            for track_id, track in sorted(listed.items(), key=lambda item: item[1].since_ts)
        ]
        if len(vehicles) == 1:
            only = vehicles[0]
            title = f"Stalled vehicle in {self.zone}: {only['class']} stopped {only['stationary_s']:.0f} s"
        elif vehicles:
            longest = vehicles[0]["stationary_s"]
            title = f"{len(vehicles)} stalled vehicles in {self.zone}, longest stopped {longest:.0f} s"
        else:
            title = f"Stalled vehicles in {self.zone}: none left"
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=title,
            details={"vehicles": vehicles, "count": len(vehicles)},
        )
