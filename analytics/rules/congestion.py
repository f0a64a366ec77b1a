"""Vehicle congestion: enough vehicles in a road zone for long enough opens an event."""

from __future__ import annotations

from analytics.detections import Detections
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.persistence import PeakEvent, Persistence, Transition
from core.config import CongestionRuleConfig, ModelSlotConfig
from core.messages import EventPhase, Severity

KIND = "congestion"
# Short dips below the threshold (a vehicle missed for a frame or two) do not restart the clock.
DIP_TOLERANCE_S = 2.0


class CongestionRule:
    """Counts vehicles in a zone; emits START after ``min_duration_s`` at or above ``min_vehicles``,
    UPDATE when the peak or severity changes (at most every ``update_interval_s``, at once on
    escalation) and END after ``end_after_s`` below the threshold (hysteresis)."""

    needs_tracks = False
    interval_s: float | None = None
    model: ModelSlotConfig | None = None  # detections come from the camera's detector

    def __init__(self, config: CongestionRuleConfig) -> None:
        self.config = config
        self.zone = config.zone
        self._held = Persistence(config.min_duration_s, config.end_after_s, DIP_TOLERANCE_S)
        self._active: PeakEvent | None = None

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Update the rule with the detections in its zone."""
        now_ts = frame.now_ts
        vehicles = frame.in_zone.of_classes(self.config.classes)
        count = len(vehicles)
        transition = self._held.update(now_ts, count >= self.config.min_vehicles)
        if transition == Transition.START:
            assert self._held.since is not None
            self._active = PeakEvent(self._held.since, count, self._severity(count), now_ts, count)
            return [self._event(EventPhase.START, now_ts, count, vehicles)]
        if self._active is None:
            return []
        if transition == Transition.END:
            event = self._event(EventPhase.END, now_ts, count, vehicles)
            self._active = None
            return [event]
        return self._follow(now_ts, count, vehicles)

    def _follow(self, now_ts: float, count: int, vehicles: Detections) -> list[RuleEvent]:
        active = self._active
        assert active is not None
        if not active.observe(count, self._severity(count), now_ts, self.config.update_interval_s):
            return []
        return [self._event(EventPhase.UPDATE, now_ts, count, vehicles)]

    def _severity(self, count: int) -> Severity:
        ratio = count / self.config.min_vehicles
        if ratio >= 2:
            return Severity.HIGH
        if ratio >= 1.5:
            return Severity.MEDIUM
        return Severity.LOW

    def _event(self, phase: EventPhase, now_ts: float, count: int, vehicles: Detections) -> RuleEvent:
        active = self._active
        assert active is not None
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=f"Congestion in {self.zone}: up to {active.peak} vehicles (threshold {self.config.min_vehicles})",
            details={
                "vehicles": count,
                "peak_vehicles": active.peak,
                "threshold": self.config.min_vehicles,
                "duration_s": round(now_ts - active.started_ts, 1),
                "by_class": vehicles.count_by_class(),
            },
        )
