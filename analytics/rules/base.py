"""The contract every rule keeps: detections and time in, event candidates out, no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics.detections import Detections
from core.messages import EventPhase, Severity


@dataclass(frozen=True)
class RuleEvent:
    """A rule's verdict; the pipeline adds the camera and the snapshot."""

    kind: str
    zone: str
    phase: EventPhase
    at_ts: float
    started_ts: float
    severity: Severity
    title: str
    details: dict[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    """A pure analytic: it never loads a model, draws, or touches the database."""

    zone: str

    def process(self, now_ts: float, in_zone: Detections) -> list[RuleEvent]:
        """Look at the detections inside the rule's zone at ``now_ts``; return what changed."""
        ...
