"""Correlation: a citizen's report with the cameras that can see it and the camera incident it repeats; twin incidents.

A report is linked to the nearest open camera incident of a matching kind (``correlation.service_kinds``)
whose camera stands within ``correlation.reports.radius_m`` of it and which was going on within
``correlation.reports.window_s`` of the report; the camera then confirms the report. Open incidents of
one kind on two cameras within ``correlation.incidents`` are suggested to operators as one event
(an :class:`IncidentLink`), who merge or dismiss them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core.incident_config import CorrelationConfig
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.geo import bearing_deg, distance_m, in_view
from incidents.links import IncidentLink, ReportCamera
from incidents.models import OPEN_STATUSES, Camera, Incident
from incidents.report_status import follow
from incidents.routing import WorkflowRules
from incidents.types import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Match:
    """An incident near a report (or another incident): how far apart in metres and seconds."""

    incident: Incident
    distance_m: float
    gap_s: float


def correlate_report(
    report: CitizenReport,
    *,
    session: Session,
    settings: CorrelationConfig,
    rules: WorkflowRules | None = None,
    now: datetime | None = None,
) -> Incident | None:
    """Store the cameras near ``report`` and link it to a matching open camera incident; flushes.

    A report an operator already linked keeps its incident. Returns the incident it is linked to.
    """
    now = now or utcnow()
    report.correlated_at = now
    if report.lat is None or report.lon is None:  # an address alone: nothing to measure from
        session.flush()
        return None
    _store_cameras(report, report.lat, report.lon, session=session, factor=settings.nearby_range_factor)
    if report.incident_id is None and report.status == ReportStatus.OPEN:
        matches = nearby_incidents(report, session=session, settings=settings, now=now)
        if matches:
            link_report(report, matches[0].incident, session=session, rules=rules, now=now)
    session.flush()
    return session.get(Incident, report.incident_id) if report.incident_id is not None else None


def nearby_incidents(
    report: CitizenReport, *, session: Session, settings: CorrelationConfig, now: datetime | None = None
) -> list[Match]:
    """Open camera incidents of a kind matching the report within the report radius and window, nearest first."""
    kinds = settings.kinds_for(report.service_code)
    if not kinds or report.lat is None or report.lon is None:
        return []
    now = now or utcnow()
    at, window = report.requested_datetime, timedelta(seconds=settings.reports.window_s)
    rows = session.execute(
        select(Incident, Camera)
        .join(Camera, Incident.camera_id == Camera.id)
        .where(Incident.kind.in_(sorted(kinds)), Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .where(Incident.started_at <= at + window)
        .where(or_(Incident.ended_at.is_(None), Incident.ended_at >= at - window))
    ).all()
    matches = []
    for incident, camera in rows:
        dist = distance_m(camera.lat, camera.lon, report.lat, report.lon)
        if dist <= settings.reports.radius_m:
            matches.append(Match(incident, dist, _gap_s(at, at, incident, now)))
    return sorted(matches, key=lambda m: (m.distance_m, m.gap_s, m.incident.id))


def link_report(
    report: CitizenReport,
    incident: Incident,
    *,
    session: Session,
    rules: WorkflowRules | None = None,
    now: datetime | None = None,
) -> None:
    """Link ``report`` to ``incident``; a camera's incident confirms the report. Its status follows the incident."""
    now = now or utcnow()
    report.incident_id = incident.id
    report.camera_confirmed_at = now if incident.camera_id is not None else None
    follow(report, incident, rules=rules, now=now)
    logger.info("%s: report %s linked to incident %d", incident.camera_id, report.service_request_id, incident.id)
    session.flush()


def correlate_incident(
    incident: Incident,
    *,
    session: Session,
    settings: CorrelationConfig,
    rules: WorkflowRules | None = None,
    now: datetime | None = None,
) -> tuple[list[CitizenReport], list[IncidentLink]]:
    """Link the open unlinked reports near a new camera incident, and suggest its twins on other cameras; flushes.

    Returns the reports it linked and the incident links it created.
    """
    now = now or utcnow()
    camera = session.get(Camera, incident.camera_id) if incident.camera_id is not None else None
    if camera is None or incident.status not in OPEN_STATUSES:
        return [], []
    linked = []
    for report in _reports_near(incident, camera, session=session, settings=settings, now=now):
        link_report(report, incident, session=session, rules=rules, now=now)
        linked.append(report)
    links = [
        _suggest(incident, match) for match in twins(incident, camera, session=session, settings=settings, now=now)
    ]
    session.add_all(links)
    session.flush()
    return linked, links


def twins(
    incident: Incident, camera: Camera, *, session: Session, settings: CorrelationConfig, now: datetime
) -> list[Match]:
    """Open incidents of the same kind on other cameras within the incident radius and window, not yet linked."""
    window = timedelta(seconds=settings.incidents.window_s)
    start, end = incident.started_at, incident.ended_at or max(incident.last_seen_at, now)
    rows = session.execute(
        select(Incident, Camera)
        .join(Camera, Incident.camera_id == Camera.id)
        .where(Incident.kind == incident.kind, Incident.id != incident.id, Camera.id != camera.id)
        .where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .where(Incident.started_at <= end + window)
        .where(or_(Incident.ended_at.is_(None), Incident.ended_at >= start - window))
    ).all()
    known = _linked_ids(incident.id, session)
    matches = []
    for other, other_camera in rows:
        dist = distance_m(camera.lat, camera.lon, other_camera.lat, other_camera.lon)
        if dist <= settings.incidents.radius_m and other.id not in known:
            matches.append(Match(other, dist, _gap_s(start, end, other, now)))
    return sorted(matches, key=lambda m: (m.distance_m, m.gap_s, m.incident.id))


def _suggest(incident: Incident, match: Match) -> IncidentLink:
    older, newer = sorted((incident, match.incident), key=lambda i: (i.started_at, i.id))
    logger.info(
        "%s: incident %d suggested as one event with incident %d (%.0f m, %.0f s apart)",
        incident.camera_id, newer.id, older.id, match.distance_m, match.gap_s,
    )  # fmt: skip
    return IncidentLink(
        incident_id=older.id,
        linked_incident_id=newer.id,
        reason=f"{incident.kind} on two cameras {match.distance_m:.0f} m and {match.gap_s:.0f} s apart",
        distance_m=round(match.distance_m, 1),
        gap_s=round(match.gap_s, 1),
    )


def _reports_near(
    incident: Incident, camera: Camera, *, session: Session, settings: CorrelationConfig, now: datetime
) -> list[CitizenReport]:
    codes = settings.codes_for(incident.kind)
    if not codes:
        return []
    window = timedelta(seconds=settings.reports.window_s)
    end = incident.ended_at or max(incident.last_seen_at, now)
    reports = session.scalars(
        select(CitizenReport)
        .where(CitizenReport.status == ReportStatus.OPEN.value, CitizenReport.incident_id.is_(None))
        .where(CitizenReport.service_code.in_(sorted(codes)), CitizenReport.lat.is_not(None))
        .where(CitizenReport.requested_datetime >= incident.started_at - window)
        .where(CitizenReport.requested_datetime <= end + window)
        .order_by(CitizenReport.id)
    )
    radius = settings.reports.radius_m
    return [
        r
        for r in reports
        if r.lat is not None and r.lon is not None and distance_m(camera.lat, camera.lon, r.lat, r.lon) <= radius
    ]


def _store_cameras(report: CitizenReport, lat: float, lon: float, *, session: Session, factor: float) -> None:
    """Replace the report's camera rows: each enabled camera up to ``factor`` times its range, in view or not."""
    session.execute(delete(ReportCamera).where(ReportCamera.report_id == report.id))
    for camera in session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.id)):
        dist = distance_m(camera.lat, camera.lon, lat, lon)
        if dist <= camera.range_m * factor:
            session.add(
                ReportCamera(
                    report_id=report.id,
                    camera_id=camera.id,
                    distance_m=round(dist, 1),
                    bearing_deg=round(bearing_deg(camera.lat, camera.lon, lat, lon), 1),
                    in_view=in_view(camera, lat, lon),
                )
            )
    session.flush()


def _linked_ids(incident_id: int, session: Session) -> set[int]:
    rows = session.execute(
        select(IncidentLink.incident_id, IncidentLink.linked_incident_id).where(
            or_(IncidentLink.incident_id == incident_id, IncidentLink.linked_incident_id == incident_id)
        )
    ).all()
    return {i for row in rows for i in row} - {incident_id}


def _gap_s(start: datetime, end: datetime, incident: Incident, now: datetime) -> float:
    """Seconds between the span [start, end] and the incident's span (0 when they overlap); ongoing lasts to now."""
    other_end = incident.ended_at or max(incident.last_seen_at, now)
    if end < incident.started_at:
        return (incident.started_at - end).total_seconds()
    if other_end < start:
        return (start - other_end).total_seconds()
    return 0.0
