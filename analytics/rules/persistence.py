"""When a condition has held long enough to start an event, and been gone long enough to end it.

Shared by the rules whose events follow one yes/no condition (a count at or above a threshold,
water over a share of the zone, a level of service of E or F): one noisy frame never opens or
closes an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.messages import Severity


class Transition(StrEnum):
    """What an update changed."""

    START = "start"
    END = "end"


class Persistence:
    """Start after ``min_duration_s`` of the condition, end after ``end_after_s`` without it.

    Before a start, a gap of at most ``dip_tolerance_s`` (a vehicle missed for a frame or two)
    does not restart the clock; a longer one does. ``since`` is when the condition began: the
    event's start time.
    """

    def __init__(self, min_duration_s: float, end_after_s: float, dip_tolerance_s: float) -> None:
        self.min_duration_s = min_duration_s
        self.end_after_s = end_after_s
        self.dip_tolerance_s = dip_tolerance_s
        self.since: float | None = None
        self.gone_since: float | None = None
        self.active = False

    def update(self, now_ts: float, holds: bool) -> Transition | None:
        """Feed whether the condition holds at ``now_ts``; returns a start or an end when one happens."""
        if holds:
            self.gone_since = None
            if self.since is None:
                self.since = now_ts
        elif self.gone_since is None:
            self.gone_since = now_ts
        if self.active:
            if self.gone_since is not None and now_ts - self.gone_since >= self.end_after_s:
                self.active, self.since = False, None
                return Transition.END
            return None
        if self.since is None:
            return None
        if self.gone_since is not None:
            if now_ts - self.gone_since > self.dip_tolerance_s:
                self.since = None
            return None
        if now_ts - self.since < self.min_duration_s:
            return None
        self.active = True
        return Transition.START


@dataclass
class PeakEvent:
    """A running event that follows the peak of one measurement (vehicles, water share) and its severity."""

    started_ts: float
    peak: float
    severity: Severity
    last_update_ts: float
    last_sent_peak: float

    def observe(self, value: float, severity: Severity, now_ts: float, update_interval_s: float) -> bool:
        """Take one reading; True when an UPDATE is due: at once when the severity escalates, else at most
        every ``update_interval_s`` when the peak changed. Severity never drops while the event runs."""
        self.peak = max(self.peak, value)
        escalated = severity.rank > self.severity.rank
        due = now_ts - self.last_update_ts >= update_interval_s
        if not (escalated or (due and self.peak != self.last_sent_peak)):
            return False
        self.severity = max(severity, self.severity, key=lambda s: s.rank)
        self.last_update_ts = now_ts
        self.last_sent_peak = self.peak
        return True
