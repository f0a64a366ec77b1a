"""Incidents that are one event: the suggested links between them, merging one into the other, dismissing."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.errors import LinkNotAllowed, LinkNotFound
from incidents.links import IncidentLink, LinkStatus
from incidents.models import Incident, IncidentStatus
from incidents.routing import WorkflowRules
from incidents.types import utcnow
from incidents.workflow import StatusChange, change_status

logger = logging.getLogger(__name__)

MERGED_BY_OPERATOR = "merged by an operator"


def merge_incident(
    incident_id: int,
    into: int,
    *,
    by: str,
    note: str | None,
    rules: WorkflowRules,
    session: Session,
    now: datetime | None = None,
) -> Incident:
    """Make ``incident_id`` a duplicate of ``into`` (audited), move its reports there, mark their link merged.

    Raises:
        IncidentNotFound: when the incident does not exist.
        TransitionNotAllowed: when its status cannot become duplicate, or ``into`` is itself a duplicate.
        TransitionInvalid: when ``into`` does not exist or is the incident itself.
    """
    now = now or utcnow()
    incident = change_status(
        incident_id,
        StatusChange(to=IncidentStatus.DUPLICATE, by=by, note=note, merged_into=into),
        rules=rules,
        session=session,
        now=now,
    )  # the workflow moves the linked citizens' reports to ``into``
    link = _link_between(incident_id, into, session)
    if link is None:
        first, second = sorted((incident_id, into))
        link = IncidentLink(incident_id=first, linked_incident_id=second, reason=MERGED_BY_OPERATOR)
        session.add(link)
    link.status, link.decided_at, link.decided_by = LinkStatus.MERGED, now, by
    session.flush()
    logger.info("%s: incident %d merged into %d by %s", incident.camera_id, incident_id, into, by)
    return incident


def dismiss_link(link_id: int, *, by: str, session: Session, now: datetime | None = None) -> IncidentLink:
    """Record an operator's decision that two linked incidents are different events.

    Raises:
        LinkNotFound: when there is no such link.
        LinkNotAllowed: when the incidents were already merged.
    """
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise LinkNotFound(f"incident link {link_id} not found")
    if link.status == LinkStatus.MERGED:
        raise LinkNotAllowed(f"incident link {link_id} was merged: it cannot be dismissed")
    link.status, link.decided_at, link.decided_by = LinkStatus.DISMISSED, now or utcnow(), by
    session.flush()
    return link


def incident_links(incident_id: int, *, session: Session) -> list[IncidentLink]:
    """The suggested and merged links of an incident, nearest first (dismissed ones are left out)."""
    return list(
        session.scalars(
            select(IncidentLink)
            .where(or_(IncidentLink.incident_id == incident_id, IncidentLink.linked_incident_id == incident_id))
            .where(IncidentLink.status.in_([LinkStatus.SUGGESTED.value, LinkStatus.MERGED.value]))
            .order_by(IncidentLink.distance_m, IncidentLink.id)
        )
    )


def _link_between(a: int, b: int, session: Session) -> IncidentLink | None:
    return session.scalar(
        select(IncidentLink).where(
            or_(
                and_(IncidentLink.incident_id == a, IncidentLink.linked_incident_id == b),
                and_(IncidentLink.incident_id == b, IncidentLink.linked_incident_id == a),
            )
        )
    )
