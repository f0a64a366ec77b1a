"""Operators' reviews of incidents (confirmed or false positive) and the false-alarm tallies built on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, selectinload

from core.errors import IncidentNotFound
from incidents.models import Incident, IncidentReview, ReviewVerdict
from incidents.types import utcnow

FalseAlarmGroup = Literal["camera", "kind"]
NO_CAMERA = "(none)"  # the key of incidents no camera raised (citizen reports, later)


@dataclass(frozen=True)
class FalseAlarmTally:
    """Reviewed incidents of one camera or detector kind, by their latest verdict."""

    key: str
    confirmed: int
    false_positives: int

    @property
    def reviewed(self) -> int:
        """Incidents with at least one review."""
        return self.confirmed + self.false_positives

    @property
    def false_alarm_rate(self) -> float | None:
        """Share of the reviewed incidents that were false positives; None before any review."""
        return self.false_positives / self.reviewed if self.reviewed else None


def add_review(
    incident_id: int,
    verdict: ReviewVerdict,
    *,
    by: str,
    note: str | None = None,
    at: datetime | None = None,
    session: Session,
) -> IncidentReview:
    """Record an operator's verdict on an incident; it becomes the incident's latest review.

    The incident's status is left alone: the operators' workflow (acknowledge, dispatch, close)
    owns it.

    Raises:
        IncidentNotFound: when there is no such incident.
    """
    if session.get(Incident, incident_id) is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    review = IncidentReview(
        incident_id=incident_id, verdict=verdict, note=note, reviewed_by=by, reviewed_at=at or utcnow()
    )
    session.add(review)
    session.flush()
    return review


def latest_review(incident_id: int, *, session: Session) -> IncidentReview | None:
    """The newest review of an incident, or None when nobody reviewed it."""
    return session.scalar(
        select(IncidentReview)
        .where(IncidentReview.incident_id == incident_id)
        .order_by(IncidentReview.id.desc())  # as in _latest_ids: the last one recorded counts
        .limit(1)
    )


def _latest_ids() -> Select[int]:
    """The id of each incident's newest review (ids only grow, so the largest is the newest)."""
    return select(func.max(IncidentReview.id)).group_by(IncidentReview.incident_id)


def reviewed_incidents(
    *, session: Session, kinds: list[str] | None = None, since: datetime | None = None
) -> list[tuple[Incident, IncidentReview]]:
    """Camera incidents with their latest review, oldest first, evidence loaded.

    Args:
        session: the database session.
        kinds: only incidents of these kinds; all when None.
        since: only incidents that started at or after this time.
    """
    query = (
        select(Incident, IncidentReview)
        .join(IncidentReview, IncidentReview.incident_id == Incident.id)
        .where(IncidentReview.id.in_(_latest_ids()), Incident.camera_id.is_not(None))
        .options(selectinload(Incident.evidence))
        .order_by(Incident.started_at, Incident.id)
    )
    if kinds is not None:
        query = query.where(Incident.kind.in_(kinds))
    if since is not None:
        query = query.where(Incident.started_at >= since)
    return [(incident, review) for incident, review in session.execute(query)]


def false_alarm_tallies(
    group: FalseAlarmGroup, *, session: Session, since: datetime | None = None
) -> list[FalseAlarmTally]:
    """Confirmed and false-positive counts per camera or per kind, by each incident's latest verdict.

    Rows are sorted worst first (highest false-alarm rate), then by key.
    """
    column = Incident.camera_id if group == "camera" else Incident.kind
    false_positive = case((IncidentReview.verdict == ReviewVerdict.FALSE_POSITIVE.value, 1), else_=0)
    query = (
        select(column, func.count(), func.sum(false_positive))
        .select_from(Incident)
        .join(IncidentReview, IncidentReview.incident_id == Incident.id)
        .where(IncidentReview.id.in_(_latest_ids()))
        .group_by(column)
    )
    if since is not None:
        query = query.where(Incident.started_at >= since)
    tallies = [
        FalseAlarmTally(key=key or NO_CAMERA, confirmed=int(total) - int(false or 0), false_positives=int(false or 0))
        for key, total, false in session.execute(query)
    ]
    tallies.sort(key=lambda t: (-(t.false_alarm_rate or 0.0), t.key))
    return tallies
