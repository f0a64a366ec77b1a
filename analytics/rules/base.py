"""The contract every rule keeps: detections and time in, event candidates out, no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics.detections import Detections
from analytics.zones import Zone
from core.config import ModelSlotConfig
from core.messages import EventPhase, Image, Severity


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


@dataclass(frozen=True)
class RuleInput:
    """What a rule sees of one analysed frame.

    ``detections`` are all of the frame's (with track ids when a rule of the camera asked for
    tracking); ``in_zone`` are those whose bottom-centre lies in the rule's zone. Rules that
    look at pixels (floods, dumped objects) read ``image``, the BGR frame analytics got.
    ``model`` is the output of the rule's own trained model (its ``model`` slot) on this frame,
    when the rule has one.
    """

    now_ts: float
    image: Image
    detections: Detections
    in_zone: Detections
    zone: Zone
    model: Detections | None = None


class Rule(Protocol):
    """A pure analytic: it never loads a model, draws, or touches the database.

    ``needs_tracks``: the pipeline runs a tracker for the camera and fills ``track_id``.
    ``interval_s``: the rule is given a frame at most this often (None: every analysed frame).
    ``model``: a trained model the pipeline runs for the rule at its interval (None: no own model).
    """

    zone: str
    needs_tracks: bool
    interval_s: float | None
    model: ModelSlotConfig | None

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Look at one analysed frame; return what changed."""
        ...
