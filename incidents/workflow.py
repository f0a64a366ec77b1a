"""The operators' incident workflow: which status changes are allowed, and the audit row of each.

The table (``TRANSITIONS``)::

    new           -> acknowledged | false_positive | duplicate | on_hold
    acknowledged  -> dispatched | in_progress | resolved | false_positive | duplicate | on_hold
    dispatched    -> in_progress | resolved | on_hold
    in_progress   -> resolved | on_hold
    on_hold       -> acknowledged | dispatched | in_progress
    resolved      -> closed | in_progress (reopened)
    closed, false_positive, duplicate: final

``dispatched`` needs an agency (given, else the routed one) and records when the agency should
have it resolved (given, else now + the SLA's resolve time); ``duplicate`` needs the incident it
is merged into. The recorder's own changes (a camera that recovered resolves its health incident,
one that fails again reopens it) bypass the table, since no operator made them, but are audited
too, by ``system``. After every change, the citizens' reports linked to the incident follow it
(:mod:`incidents.report_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core.errors import IncidentNotFound, TransitionInvalid, TransitionNotAllowed
from core.messages import Severity
from incidents.models import Incident, IncidentAudit
from incidents.models import IncidentStatus as S
from incidents.report_status import sync_reports
from incidents.routing import WorkflowRules
from incidents.types import utcnow

logger = logging.getLogger(__name__)

SYSTEM = "system"  # who the recorder's own changes are by

TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, S.FALSE_POSITIVE, S.DUPLICATE, S.ON_HOLD}),
    S.ACKNOWLEDGED: frozenset({S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.FALSE_POSITIVE, S.DUPLICATE, S.ON_HOLD}),
    S.DISPATCHED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.ON_HOLD}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
    S.FALSE_POSITIVE: frozenset(),
    S.DUPLICATE: frozenset(),
}
FINAL: frozenset[S] = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What an operator asks: move an incident to ``to``, with what that status needs."""

    to: S
    by: str
    note: str | None = None
    agency: str | None = None  # dispatched: the agency's code; default the routed one
    expected_by: datetime | None = None  # dispatched: default now + the SLA's resolve time
    merged_into: int | None = None  # duplicate: the incident this one repeats
    stated_by: str | None = None  # a name the client gave that is not the caller's: kept in the audit details


def check_transition(current: S, to: S) -> None:
    """Nothing when ``current`` may go to ``to``.

    Raises:
        TransitionNotAllowed: saying why (a final status, or which moves there are).
    """
    if to in TRANSITIONS[current]:
        return
    if current in FINAL:
        raise TransitionNotAllowed(f"cannot go from {current} to {to}: {current} is final")
    allowed = ", ".join(sorted(TRANSITIONS[current]))
    raise TransitionNotAllowed(f"cannot go from {current} to {to}: allowed from {current}: {allowed}")


def change_status(
    incident_id: int, change: StatusChange, *, rules: WorkflowRules, session: Session, now: datetime | None = None
) -> Incident:
    """Move an incident to ``change.to`` and write the audit row; returns the incident.

    Raises:
        IncidentNotFound: when there is no such incident.
        TransitionNotAllowed: when the table forbids the move, or the incident to merge into is a duplicate.
        TransitionInvalid: when the agency is missing or unknown, or the incident to merge into is bad.
    """
    now = now or utcnow()
    # Locked (PostgreSQL) so two operators' changes of one incident apply one after the other.
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    check_transition(incident.status, change.to)
    details: dict[str, Any] = {}
    if change.to == S.DISPATCHED:
        details = _dispatch(incident, change, rules, now)
    elif change.to == S.DUPLICATE:
        details = {"merged_into": _merge_target(incident, change.merged_into, session).id}
        incident.merged_into_id = details["merged_into"]
    elif change.to == S.ACKNOWLEDGED and incident.acknowledged_at is None:
        incident.acknowledged_at = now
    elif change.to == S.RESOLVED:
        incident.resolved_at = now
    elif change.to == S.IN_PROGRESS and incident.status == S.RESOLVED:  # reopened
        incident.resolved_at = None
    if change.stated_by is not None and change.stated_by != change.by:
        details["stated_by"] = change.stated_by
    _record(incident, change.to, by=change.by, note=change.note, details=details, at=now, session=session)
    sync_reports(incident, session=session, rules=rules)  # the citizens' reports linked to it follow
    return incident


def audit_trail(incident_id: int, *, session: Session) -> list[IncidentAudit]:
    """The status changes of an incident, oldest first.

    Raises:
        IncidentNotFound: when there is no such incident.
    """
    if session.get(Incident, incident_id) is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    query = select(IncidentAudit).where(IncidentAudit.incident_id == incident_id).order_by(IncidentAudit.id)
    return list(session.scalars(query))


def resolve_by_system(incident: Incident, *, at: datetime, note: str) -> None:
    """Resolve an incident whose trouble went away by itself (a camera back online), audited by ``system``."""
    incident.resolved_at = at
    session = _session_of(incident)
    _record(incident, S.RESOLVED, by=SYSTEM, note=note, details={}, at=at, session=session)
    sync_reports(incident, session=session)


def reopen_by_system(incident: Incident, *, at: datetime, note: str) -> None:
    """Reopen, as ``new``, an incident that resolved itself and came back, audited by ``system``."""
    incident.resolved_at = None
    session = _session_of(incident)
    _record(incident, S.NEW, by=SYSTEM, note=note, details={}, at=at, session=session)
    sync_reports(incident, session=session)


def _dispatch(incident: Incident, change: StatusChange, rules: WorkflowRules, now: datetime) -> dict[str, Any]:
    agency = change.agency or rules.routed_agency(incident)
    if agency is None:
        raise TransitionInvalid(f"dispatching needs an agency: none given and none routed for {incident.kind}")
    if agency not in rules.agencies:
        raise TransitionInvalid(f"unknown agency {agency!r} (known: {', '.join(sorted(rules.agencies))})")
    resolve_s = rules.sla.target(incident.kind, Severity(incident.severity)).resolve_within_s
    incident.agency = agency
    incident.dispatched_at = now
    incident.expected_by = change.expected_by or now + timedelta(seconds=resolve_s)
    return {"agency": agency, "expected_by": incident.expected_by.isoformat()}


def _merge_target(incident: Incident, merged_into: int | None, session: Session) -> Incident:
    if merged_into is None:
        raise TransitionInvalid("duplicate needs merged_into: the incident this one repeats")
    if merged_into == incident.id:
        raise TransitionInvalid(f"incident {incident.id} cannot be a duplicate of itself")
    target = session.get(Incident, merged_into)
    if target is None:
        raise TransitionInvalid(f"incident {merged_into} to merge into does not exist")
    if target.status == S.DUPLICATE:
        raise TransitionNotAllowed(
            f"cannot merge into incident {merged_into}: it is itself a duplicate of {target.merged_into_id}; "
            "merge into that one"
        )
    return target


def _record(
    incident: Incident, to: S, *, by: str, note: str | None, details: dict[str, Any], at: datetime, session: Session
) -> None:
    """Set the status and add the audit row of the change."""
    audit = IncidentAudit(
        incident_id=incident.id,
        changed_at=at,
        changed_by=by,
        from_status=incident.status,
        to_status=to,
        note=note,
        details=details,
    )
    logger.info("%s: incident %d %s -> %s by %s", incident.camera_id, incident.id, incident.status, to, by)
    incident.status = to
    session.add(audit)
    session.flush()


def _session_of(incident: Incident) -> Session:
    session = object_session(incident)
    if session is None:  # the recorder always works on incidents of its open session
        raise RuntimeError(f"incident {incident.id} is not in a session")
    return session
