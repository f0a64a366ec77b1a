"""Operators' side of citizens' reports: list and find them, their cameras, link them to incidents by hand."""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import IncidentNotFound, LinkNotAllowed, ReportNotFound
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.correlation import link_report
from incidents.geo import distance_m
from incidents.links import ReportCamera
from incidents.models import Camera, Incident, IncidentAudit, IncidentStatus
from incidents.report_status import unlink
from incidents.routing import WorkflowRules
from incidents.types import utcnow

logger = logging.getLogger(__name__)

UNLINKABLE = frozenset({IncidentStatus.FALSE_POSITIVE, IncidentStatus.DUPLICATE})


class CitizenReportFilter(BaseModel):
    """Which citizens' reports to list, and which page of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: ReportStatus | None = Field(default=None, description="Only reports in this Open311 status.")
    service_code: str | None = Field(default=None, description="Only reports of this service, e.g. `trash`.")
    linked: bool | None = Field(
        default=None, description="`true`: only reports linked to an incident; `false`: the rest."
    )
    confirmed: bool | None = Field(
        default=None, description="`true`: only reports a camera confirmed; `false`: the rest."
    )
    requested_after: AwareDatetime | None = Field(
        default=None, description="Only reports submitted at or after this time (ISO 8601 with offset)."
    )
    requested_before: AwareDatetime | None = Field(
        default=None, description="Only reports submitted before this time (ISO 8601 with offset)."
    )
    limit: int = Field(default=50, ge=1, le=200, description="Page size (1-200).")
    offset: int = Field(default=0, ge=0, description="Number of reports to skip.")


def list_citizen_reports(flt: CitizenReportFilter, *, session: Session) -> tuple[list[CitizenReport], int]:
    """One page of reports matching ``flt``, newest first, and how many match in all."""
    stmt = select(CitizenReport)
    if flt.status is not None:
        stmt = stmt.where(CitizenReport.status == flt.status.value)
    if flt.service_code is not None:
        stmt = stmt.where(CitizenReport.service_code == flt.service_code)
    if flt.linked is not None:
        linked = CitizenReport.incident_id.is_not(None)
        stmt = stmt.where(linked if flt.linked else ~linked)
    if flt.confirmed is not None:
        confirmed = CitizenReport.camera_confirmed_at.is_not(None)
        stmt = stmt.where(confirmed if flt.confirmed else ~confirmed)
    if flt.requested_after is not None:
        stmt = stmt.where(CitizenReport.requested_datetime >= flt.requested_after)
    if flt.requested_before is not None:
        stmt = stmt.where(CitizenReport.requested_datetime < flt.requested_before)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(CitizenReport.requested_datetime.desc(), CitizenReport.id.desc())
    return list(session.scalars(page.limit(flt.limit).offset(flt.offset))), total


def get_citizen_report(report_id: int, *, session: Session) -> CitizenReport:
    """The report with id ``report_id``.

    Raises:
        ReportNotFound: when there is none.
    """
    report = session.get(CitizenReport, report_id)
    if report is None:
        raise ReportNotFound(f"citizen report {report_id} not found")
    return report


def report_cameras(report_id: int, *, session: Session) -> list[tuple[ReportCamera, Camera]]:
    """The cameras stored near a report: those that see it first, then nearest first."""
    rows = session.execute(
        select(ReportCamera, Camera)
        .join(Camera, ReportCamera.camera_id == Camera.id)
        .where(ReportCamera.report_id == report_id)
        .order_by(ReportCamera.in_view.desc(), ReportCamera.distance_m, Camera.id)
    ).all()
    return [(rc, camera) for rc, camera in rows]


def incident_reports(incident: Incident, *, session: Session) -> list[tuple[CitizenReport, float | None]]:
    """The reports linked to ``incident``, oldest first, each with its distance from the incident's camera."""
    reports = session.scalars(
        select(CitizenReport).where(CitizenReport.incident_id == incident.id).order_by(CitizenReport.id)
    )
    camera = incident.camera
    return [
        (
            r,
            distance_m(camera.lat, camera.lon, r.lat, r.lon)
            if camera is not None and r.lat is not None and r.lon is not None
            else None,
        )
        for r in reports
    ]


def operator_link(
    report_id: int,
    incident_id: int,
    *,
    by: str,
    note: str | None,
    session: Session,
    rules: WorkflowRules | None = None,
    now: datetime | None = None,
) -> CitizenReport:
    """An operator's decision that a report is about ``incident``; audited on the incident.

    Raises:
        ReportNotFound, IncidentNotFound: when either does not exist.
        LinkNotAllowed: when the incident is a false positive or a duplicate (link to the one it repeats).
    """
    now = now or utcnow()
    report = get_citizen_report(report_id, session=session)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    if incident.status in UNLINKABLE:
        raise LinkNotAllowed(f"incident {incident_id} is {incident.status}: a report cannot be linked to it")
    previous = report.incident_id
    link_report(report, incident, session=session, rules=rules, now=now)
    if previous is not None and previous != incident.id:
        _audit(previous, by, note, {"report_unlinked": report.service_request_id}, session=session, now=now)
    _audit(incident.id, by, note, {"report_linked": report.service_request_id}, session=session, now=now)
    return report


def operator_unlink(
    report_id: int, *, by: str, note: str | None, session: Session, now: datetime | None = None
) -> CitizenReport:
    """An operator's decision that a report is not about the incident it is linked to; audited on the incident.

    Raises:
        ReportNotFound: when the report does not exist.
        LinkNotAllowed: when it is not linked.
    """
    now = now or utcnow()
    report = get_citizen_report(report_id, session=session)
    if report.incident_id is None:
        raise LinkNotAllowed(f"citizen report {report_id} is not linked to an incident")
    incident_id = report.incident_id
    unlink(report, now=now)
    _audit(incident_id, by, note, {"report_unlinked": report.service_request_id}, session=session, now=now)
    return report


def _audit(
    incident_id: int, by: str, note: str | None, details: dict[str, str], *, session: Session, now: datetime
) -> None:
    """An audit row on the incident that keeps its status: who linked or unlinked which report, and why."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return
    session.add(
        IncidentAudit(
            incident_id=incident_id,
            changed_at=now,
            changed_by=by,
            from_status=incident.status,
            to_status=incident.status,
            note=note,
            details=details,
        )
    )
    logger.info("%s: incident %d: %s by %s", incident.camera_id, incident_id, details, by)
    session.flush()
