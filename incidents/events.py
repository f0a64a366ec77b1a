"""The change feed: every change of an incident or a citizen's report that people care about is an event row.

Rows are written by a session hook in the same transaction as the change itself (a transactional
outbox), whichever process makes it: the recorder in the analytics process, the API's workflow,
the Open311 intake. The live feed (Server-Sent Events) and the webhooks read this one table, so
neither can miss a change that was stored, and neither can announce one that was rolled back.

Event types:

- ``incident.created``, ``incident.updated`` (status, severity, title, end, agency, merge; not
  the recorder's ``last_seen_at`` heartbeats), ``incident.evidence`` (a snapshot or clip became
  ready);
- ``report.created``, ``report.updated`` (status, linked incident, confirmed by a camera).

Event ids grow with insertion, but on PostgreSQL two transactions may commit out of id order:
a reader that follows ``id > cursor`` must look again for ids it skipped (see :mod:`incidents.feed`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from incidents.citizen_reports import CitizenReport
from incidents.models import Base, Evidence, EvidenceStatus, Incident
from incidents.types import utcnow


class IncidentEvent(Base):
    """One change of an incident or a report, with a summary of the object after it."""

    __tablename__ = "incident_events"
    __table_args__ = (
        Index("ix_incident_events_subject_subject_id", "subject", "subject_id"),
        {"sqlite_autoincrement": True},  # ids are cursors: never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(32), index=True)  # e.g. "incident.updated"
    subject: Mapped[str] = mapped_column(String(16))  # "incident" or "report"
    subject_id: Mapped[int]
    kind: Mapped[str | None] = mapped_column(String(64))  # incident kind or report service code, for filters
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"IncidentEvent(id={self.id!r}, type={self.type!r}, subject_id={self.subject_id!r})"


# Columns whose change is news; the recorder's heartbeats (last_seen_at, details) are not.
INCIDENT_FIELDS = (
    "status",
    "severity",
    "title",
    "ended_at",
    "agency",
    "expected_by",
    "merged_into_id",
)
REPORT_FIELDS = ("status", "status_notes", "incident_id", "camera_confirmed_at", "agency_responsible")


def incident_summary(incident: Incident) -> dict[str, Any]:
    """What an event says about an incident: enough for a queue row, JSON-ready."""
    return {
        "id": incident.id,
        "camera_id": incident.camera_id,
        "kind": incident.kind,
        "zone": incident.zone,
        "status": str(incident.status),
        "severity": str(incident.severity),
        "title": incident.title,
        "agency": incident.agency,
        "started_at": _iso(incident.started_at),
        "ended_at": _iso(incident.ended_at),
        "expected_by": _iso(incident.expected_by),
        "merged_into_id": incident.merged_into_id,
    }


def report_summary(report: CitizenReport) -> dict[str, Any]:
    """What an event says about a citizen's report: no personal fields, ever."""
    return {
        "id": report.id,
        "service_request_id": report.service_request_id,
        "service_code": report.service_code,
        "status": str(report.status),
        "lat": report.lat,
        "lon": report.lon,
        "incident_id": report.incident_id,
        "camera_confirmed_at": _iso(report.camera_confirmed_at),
        "requested_datetime": _iso(report.requested_datetime),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _changed(obj: Any, fields: tuple[str, ...]) -> list[str]:
    state = inspect(obj)
    return [name for name in fields if state.attrs[name].history.has_changes()]


def _rows(session: Session) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    now = utcnow()

    def add(type_: str, subject: str, subject_id: int, kind: str | None, payload: dict[str, Any]) -> None:
        rows.append(
            {
                "created_at": now,
                "type": type_,
                "subject": subject,
                "subject_id": subject_id,
                "kind": kind,
                "payload": payload,
            }
        )

    for obj in session.new:
        if isinstance(obj, Incident):
            add("incident.created", "incident", obj.id, obj.kind, incident_summary(obj))
        elif isinstance(obj, CitizenReport):
            add("report.created", "report", obj.id, obj.service_code, report_summary(obj))
        elif isinstance(obj, Evidence) and obj.status == EvidenceStatus.READY:
            add(*_evidence_event(session, obj))
    for obj in session.dirty:
        if isinstance(obj, Incident) and (changed := _changed(obj, INCIDENT_FIELDS)):
            add("incident.updated", "incident", obj.id, obj.kind, {**incident_summary(obj), "changed": changed})
        elif isinstance(obj, CitizenReport) and (changed := _changed(obj, REPORT_FIELDS)):
            add("report.updated", "report", obj.id, obj.service_code, {**report_summary(obj), "changed": changed})
        elif isinstance(obj, Evidence) and obj.status == EvidenceStatus.READY and _changed(obj, ("status",)):
            add(*_evidence_event(session, obj))
    return rows


def _evidence_event(session: Session, evidence: Evidence) -> tuple[str, str, int, str | None, dict[str, Any]]:
    incident = session.get(Incident, evidence.incident_id)
    kind = incident.kind if incident is not None else None
    payload = {
        "id": evidence.incident_id,
        "evidence": {"id": evidence.id, "kind": str(evidence.kind), "content_type": evidence.content_type},
    }
    return "incident.evidence", "incident", evidence.incident_id, kind, payload


@event.listens_for(Session, "after_flush")
def _record_events(session: Session, _flush_context: Any) -> None:
    """Write the events of this flush in its own transaction (ids are assigned by now)."""
    rows = _rows(session)
    if rows:
        session.connection().execute(insert(IncidentEvent), rows)
