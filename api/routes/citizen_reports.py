"""Citizens' reports as operators see them: the cameras that can see each, its incident, manual linking."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.auth import PrincipalDep
from api.citizen_report_schemas import (
    CitizenReportDetailOut,
    CitizenReportOut,
    CitizenReportPage,
    LinkReportIn,
    NearbyIncidentOut,
    ReportCameraOut,
    UnlinkReportIn,
    report_fields,
    reporter_of,
)
from api.deps import CorrelationDep, EvidenceStoreDep, SessionDep, WorkflowRulesDep, id_path
from api.schemas import ErrorOut
from core.errors import ReportNotFound
from core.incident_config import CorrelationConfig
from incidents.citizen_reports import CitizenReport
from incidents.correlation import correlate_report, nearby_incidents
from incidents.geo import distance_m
from incidents.models import Incident
from incidents.report_links import (
    CitizenReportFilter,
    get_citizen_report,
    list_citizen_reports,
    operator_link,
    operator_unlink,
    report_cameras,
)

router = APIRouter(prefix="/api/citizen-reports", tags=["citizen reports"])

ReportId = Annotated[int, id_path("Citizen report id (operators' side, not the public Open311 id).")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such report."}}
_LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such report or incident."},
    409: {"model": ErrorOut, "description": "The link cannot be made or removed (the detail says why)."},
}


@router.get("")
def list_all(flt: Annotated[CitizenReportFilter, Query()], session: SessionDep) -> CitizenReportPage:
    """Citizens' reports, newest first, filtered (status, service, linked, confirmed, time) and paginated."""
    items, total = list_citizen_reports(flt, session=session)
    return CitizenReportPage(
        items=[CitizenReportOut.from_model(r) for r in items], total=total, limit=flt.limit, offset=flt.offset
    )


@router.get("/{report_id}", responses=_NOT_FOUND)
def get_one(report_id: ReportId, session: SessionDep, correlation: CorrelationDep) -> CitizenReportDetailOut:
    """One report: its reporter, the cameras that can see it (which to ask for a snapshot), its incidents."""
    return _detail(get_citizen_report(report_id, session=session), session, correlation)


@router.post("/{report_id}/link", responses=_LINK_ERRORS)
def link(
    report_id: ReportId,
    body: LinkReportIn,
    principal: PrincipalDep,
    session: SessionDep,
    rules: WorkflowRulesDep,
    correlation: CorrelationDep,
) -> CitizenReportDetailOut:
    """Link a report to an incident by hand (audited on the incident); its status then follows the incident."""
    report = operator_link(report_id, body.incident_id, by=principal.name, note=body.note, session=session, rules=rules)
    return _detail(report, session, correlation)


@router.post("/{report_id}/unlink", responses=_LINK_ERRORS)
def unlink(
    report_id: ReportId, body: UnlinkReportIn, principal: PrincipalDep, session: SessionDep, correlation: CorrelationDep
) -> CitizenReportDetailOut:
    """Unlink a report from its incident by hand (audited on the incident); it is open again."""
    report = operator_unlink(report_id, by=principal.name, note=body.note, session=session)
    return _detail(report, session, correlation)


@router.post("/{report_id}/correlate", responses=_NOT_FOUND)
def correlate(
    report_id: ReportId, session: SessionDep, rules: WorkflowRulesDep, correlation: CorrelationDep
) -> CitizenReportDetailOut:
    """Look again for the cameras that can see a report and for a matching camera incident (after a config change)."""
    report = get_citizen_report(report_id, session=session)
    correlate_report(report, session=session, settings=correlation, rules=rules)
    return _detail(report, session, correlation)


@router.get(
    "/{report_id}/media.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The photo, without EXIF."}, **_NOT_FOUND},
)
def get_media(report_id: ReportId, session: SessionDep, store: EvidenceStoreDep) -> FileResponse:
    """The report's photo (its copy without EXIF), confidential ones too."""
    report = get_citizen_report(report_id, session=session)
    path = store.path_for(report.media_path) if report.media_path is not None else None
    if path is None or not path.is_file():
        raise ReportNotFound(f"citizen report {report_id} has no photo")
    return FileResponse(path, media_type="image/jpeg")


def _detail(report: CitizenReport, session: Session, correlation: CorrelationConfig) -> CitizenReportDetailOut:
    rows = report_cameras(report.id, session=session)
    suggested = next((camera.id for row, camera in rows if row.in_view), None)  # rows: in view first, nearest first
    incident = session.get(Incident, report.incident_id) if report.incident_id is not None else None
    nearby = [m for m in nearby_incidents(report, session=session, settings=correlation) if m.incident is not incident]
    return CitizenReportDetailOut.model_validate(
        {
            **report_fields(report),
            "reporter": reporter_of(report),
            "cameras": [ReportCameraOut.from_model(r, c, suggested=c.id == suggested) for r, c in rows],
            "incident": _linked(report, incident),
            "nearby_incidents": [NearbyIncidentOut.from_match(m) for m in nearby],
        }
    )


def _linked(report: CitizenReport, incident: Incident | None) -> NearbyIncidentOut | None:
    if incident is None:
        return None
    camera = incident.camera
    dist = None
    if camera is not None and report.lat is not None and report.lon is not None:
        dist = distance_m(camera.lat, camera.lon, report.lat, report.lon)
    return NearbyIncidentOut.from_model(incident, distance_m=dist, gap_s=None)


TAG: dict[str, Any] = {
    "name": "citizen reports",
    "description": (
        "Citizens' reports (e-lapor) as operators see them, with the reporter's contact: the cameras that can see "
        "each report (and which to ask for a fresh snapshot), the camera incident it is linked to, and manual "
        "linking. A report's public Open311 status follows its incident."
    ),
}


def install(app: FastAPI) -> None:
    """Add the routes and their tag's description to ``app``."""
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
