"""Request and response models of operators' reviews and the false-alarm report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.citizen_report_schemas import IncidentLinkOut, IncidentReportOut
from api.schemas import IncidentOut, Out
from incidents.models import Incident, IncidentReview, ReviewVerdict
from incidents.reviews import FalseAlarmTally
from incidents.routing import WorkflowRules


class ReviewIn(BaseModel):
    """An operator's verdict on an incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: ReviewVerdict = Field(
        description="`confirmed` (it happened: a positive for training) or `false_positive` (a false alarm)."
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, in the operator's words.")
    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Optional, for older clients, and not recorded: the review is by the logged-in user or API key.",
    )


class ReviewOut(Out):
    """A recorded review of an incident."""

    incident_id: int = Field(description="The incident reviewed.")
    verdict: ReviewVerdict = Field(description="`confirmed` or `false_positive`.")
    note: str | None = Field(description="The operator's note, if any.")
    by: str = Field(description="Who reviewed it: a username, or `key:<name>` for an API key.")
    at: datetime = Field(description="When the review was recorded.")

    @classmethod
    def from_model(cls, review: IncidentReview) -> ReviewOut:
        """The answer for ``review``."""
        return cls(
            incident_id=review.incident_id,
            verdict=review.verdict,
            note=review.note,
            by=review.reviewed_by,
            at=review.reviewed_at,
        )


class IncidentDetailOut(IncidentOut):
    """One incident with links to its evidence and its latest review."""

    review: ReviewOut | None = Field(description="The latest operator review; null until someone reviews it.")
    linked_incidents: list[IncidentLinkOut] = Field(
        default=[], description="Incidents of the same kind close in space and time: suggested or merged links."
    )
    citizen_reports: list[IncidentReportOut] = Field(default=[], description="Citizens' reports linked to it.")

    @classmethod
    def with_review(
        cls,
        incident: Incident,
        review: IncidentReview | None,
        rules: WorkflowRules,
        now: datetime,
        *,
        links: list[IncidentLinkOut] | None = None,
        reports: list[IncidentReportOut] | None = None,
    ) -> IncidentDetailOut:
        """The answer for ``incident`` (evidence loaded) and its latest ``review``, routed and timed by ``rules``."""
        base = IncidentOut.from_model(incident, rules, now).model_dump()
        return cls(
            **base,
            review=ReviewOut.from_model(review) if review is not None else None,
            linked_incidents=links or [],
            citizen_reports=reports or [],
        )


class FalseAlarmRowOut(Out):
    """Reviewed incidents of one camera or detector kind, each counted by its latest verdict."""

    key: str = Field(description="Camera id or incident kind, as grouped.")
    reviewed: int = Field(description="Incidents with at least one review.")
    confirmed: int = Field(description="Of those, incidents confirmed as real.")
    false_positives: int = Field(description="Of those, incidents marked as false alarms.")
    false_alarm_rate: float | None = Field(description="false_positives / reviewed, 0-1; null when none reviewed.")

    @classmethod
    def from_tally(cls, tally: FalseAlarmTally) -> FalseAlarmRowOut:
        """The row of ``tally``."""
        return cls(
            key=tally.key,
            reviewed=tally.reviewed,
            confirmed=tally.confirmed,
            false_positives=tally.false_positives,
            false_alarm_rate=tally.false_alarm_rate,
        )


class FalseAlarmReportOut(Out):
    """How often operators found the detectors wrong, worst first."""

    group: Literal["camera", "kind"] = Field(description="Rows are per camera or per detector kind.")
    since: datetime | None = Field(description="Only incidents that started at or after this time; null for all.")
    rows: list[FalseAlarmRowOut] = Field(description="One row per camera or kind, highest false-alarm rate first.")
