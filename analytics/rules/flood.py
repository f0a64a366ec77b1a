"""Floods: standing water over a share of a road zone for long enough opens an event."""

from __future__ import annotations

from typing import Protocol

from analytics.flood import WaterModel, WaterModelParams
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.persistence import PeakEvent, Persistence, Transition
from core.config import FloodRuleConfig
from core.messages import EventPhase, Severity

KIND = "flood"
# A frame or two misread (a passing bus, a glare) does not restart the clock.
DIP_TOLERANCE_S = 10.0
# Once open, the event ends only when the water has fallen below this share of ``min_fraction``.
RELEASE_RATIO = 0.75
# Water fraction of the zone from which each severity applies, highest first.
SEVERITY_FRACTIONS = ((0.8, Severity.CRITICAL), (0.6, Severity.HIGH), (0.4, Severity.MEDIUM))


class WaterMeter(Protocol):
    """What the rule needs of a water detector: the share of the zone under water in a frame."""

    def measure(self, frame: RuleInput) -> float:
        """Water fraction (0-1) of ``frame.zone`` in ``frame.image``."""
        ...


class ZoneWater:
    """The water model of one camera and zone, with the frame's detections masked out."""

    def __init__(self, params: WaterModelParams) -> None:
        self.model = WaterModel(params)

    def measure(self, frame: RuleInput) -> float:
        """Water fraction of the zone; vehicles and people are never counted as water."""
        result = self.model.update(frame.image, frame.now_ts, frame.zone.polygon, frame.detections.xyxy)
        return result.fraction


class FloodRule:
    """Measures the water in a zone every ``interval_s``; emits START after ``min_duration_s`` at or
    above ``min_fraction``, UPDATE when the peak or severity changes (at once on escalation, else at
    most every ``update_interval_s``) and END after ``end_after_s`` below ``RELEASE_RATIO`` of it."""

    needs_tracks = False

    def __init__(self, config: FloodRuleConfig, water: WaterMeter | None = None) -> None:
        self.config = config
        self.zone = config.zone
        self.interval_s: float | None = config.interval_s
        self.water = water or ZoneWater(WaterModelParams(learn_s=config.learn_s))
        self._held = Persistence(config.min_duration_s, config.end_after_s, DIP_TOLERANCE_S)
        self._active: PeakEvent | None = None

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
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=f"Flood in {self.zone}: water over up to {active.peak:.0%} of the zone",
            details={
                "water_fraction": round(fraction, 3),
                "peak_water_fraction": round(active.peak, 3),
                "threshold": self.config.min_fraction,
                "duration_s": round(now_ts - active.started_ts, 1),
            },
        )


def _severity(fraction: float) -> Severity:
    for lowest, severity in SEVERITY_FRACTIONS:
        if fraction >= lowest:
            return severity
    return Severity.LOW
