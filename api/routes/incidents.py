"""Incidents: the queue operators work through, the snapshot and clip behind each, reviews, the workflow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.auth import PrincipalDep, SupervisorOnly, ensure
from api.citizen_report_schemas import IncidentLinkOut, IncidentReportOut, MergeIn
from api.deps import EvidenceStoreDep, SessionDep, WorkflowRulesDep, id_path
from api.review_schemas import IncidentDetailOut, ReviewIn, ReviewOut
from api.schemas import ErrorOut, IncidentOut, IncidentPage
from api.workflow_schemas import AuditOut, StatusChangeIn
from incidents.accounts import UserRole
from incidents.merging import dismiss_link, incident_links, merge_incident
from incidents.models import EvidenceKind, IncidentStatus
from incidents.queries import IncidentFilter, evidence_file, get_evidence, get_incident, list_incidents
from incidents.report_links import incident_reports
from incidents.reviews import add_review, latest_review
from incidents.types import utcnow
from incidents.workflow import audit_trail, change_status

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

IncidentId = Annotated[int, id_path("Incident id.")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorOut,
        "description": "No such incident, or the file is not ready (the detail says why).",
    }
}


@router.get("")
def list_all(flt: Annotated[IncidentFilter, Query()], session: SessionDep, rules: WorkflowRulesDep) -> IncidentPage:
    """Incidents, newest first, filtered (also by SLA: `overdue`) and paginated."""
    now = utcnow()
    items, total = list_incidents(flt, session=session, sla=rules.sla, now=now)
    return IncidentPage(
        items=[IncidentOut.from_model(i, rules, now) for i in items], total=total, limit=flt.limit, offset=flt.offset
    )


@router.get("/{incident_id}", responses=_NOT_FOUND)
def get_one(incident_id: IncidentId, session: SessionDep, rules: WorkflowRulesDep) -> IncidentDetailOut:
    """One incident, with links to its evidence, its latest review, its routing and SLA."""
    incident = get_incident(incident_id, session=session)
    review = latest_review(incident_id, session=session)
    links = [IncidentLinkOut.from_model(link) for link in incident_links(incident_id, session=session)]
    reports = [IncidentReportOut.from_model(r, d) for r, d in incident_reports(incident, session=session)]
    return IncidentDetailOut.with_review(incident, review, rules, utcnow(), links=links, reports=reports)


@router.post(
    "/{incident_id}/merge",
    dependencies=[SupervisorOnly],
    responses={
        404: {"model": ErrorOut, "description": "No such incident."},
        409: {"model": ErrorOut, "description": "It cannot become a duplicate, or `into` is itself one (says why)."},
        422: {"description": "The body is invalid, or `into` does not exist or is the incident itself."},
    },
)
def merge(
    incident_id: IncidentId, body: MergeIn, principal: PrincipalDep, session: SessionDep, rules: WorkflowRulesDep
) -> IncidentOut:
    """Merge an incident into another (it becomes a duplicate, audited); its citizens' reports move there."""
    now = utcnow()
    merge_incident(incident_id, body.into, by=principal.name, note=body.note, rules=rules, session=session, now=now)
    return IncidentOut.from_model(get_incident(incident_id, session=session), rules, now)


@router.post(
    "/links/{link_id}/dismiss",
    responses={
        404: {"model": ErrorOut, "description": "No such link."},
        409: {"model": ErrorOut, "description": "The incidents were already merged."},
    },
)
def dismiss(
    link_id: Annotated[int, id_path("Incident link id.")],
    principal: PrincipalDep,
    session: SessionDep,
) -> IncidentLinkOut:
    """Say two linked incidents are different events; the link is kept as dismissed, with who decided."""
    return IncidentLinkOut.from_model(dismiss_link(link_id, by=principal.name, session=session))


@router.post(
    "/{incident_id}/status",
    responses={
        404: {"model": ErrorOut, "description": "No such incident."},
        403: {"model": ErrorOut, "description": "Closing or reopening needs a supervisor; integration cannot write."},
        409: {"model": ErrorOut, "description": "The move is not allowed from the incident's status (says why)."},
        422: {"description": "The body is invalid, or lacks what the new status needs (agency, merged_into)."},
    },
)
def set_status(
    incident_id: IncidentId, body: StatusChangeIn, principal: PrincipalDep, session: SessionDep, rules: WorkflowRulesDep
) -> IncidentOut:
    """Move an incident along the operators' workflow (acknowledge, dispatch, resolve, ...); it is audited.

    Operators make every move but closing and reopening (`resolved` to `in_progress`), which need a supervisor."""
    now = utcnow()
    current = get_incident(incident_id, session=session).status
    if body.to == IncidentStatus.CLOSED:
        ensure(principal, UserRole.SUPERVISOR, "closing an incident")
    elif current == IncidentStatus.RESOLVED and body.to == IncidentStatus.IN_PROGRESS:
        ensure(principal, UserRole.SUPERVISOR, "reopening an incident")
    change_status(incident_id, body.to_change(principal.name), rules=rules, session=session, now=now)
    return IncidentOut.from_model(get_incident(incident_id, session=session), rules, now)


@router.get("/{incident_id}/audit", responses={404: {"model": ErrorOut, "description": "No such incident."}})
def get_audit(incident_id: IncidentId, session: SessionDep) -> list[AuditOut]:
    """Every status change of an incident, oldest first: who, when, from what to what, why."""
    return [AuditOut.from_model(row) for row in audit_trail(incident_id, session=session)]


@router.post(
    "/{incident_id}/review",
    status_code=201,
    responses={404: {"model": ErrorOut, "description": "No such incident."}},
)
def review(incident_id: IncidentId, body: ReviewIn, principal: PrincipalDep, session: SessionDep) -> ReviewOut:
    """Record an operator's verdict (confirmed or false positive); the newest review counts."""
    recorded = add_review(incident_id, body.verdict, by=principal.name, note=body.note, session=session)
    return ReviewOut.from_model(recorded)


@router.get(
    "/{incident_id}/snapshot.jpg",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The JPEG snapshot."}, **_NOT_FOUND},
)
def get_snapshot(incident_id: IncidentId, session: SessionDep, store: EvidenceStoreDep) -> FileResponse:
    """The JPEG snapshot taken when the incident opened."""
    evidence = get_evidence(incident_id, EvidenceKind.SNAPSHOT, session=session)
    return FileResponse(evidence_file(evidence, store), media_type="image/jpeg")


@router.get(
    "/{incident_id}/clip.mp4",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The whole MP4 clip."},
        206: {"content": {"video/mp4": {}}, "description": "The requested byte range of the clip."},
        416: {"description": "The requested byte range is outside the clip."},
        **_NOT_FOUND,
    },
)
def get_clip(incident_id: IncidentId, session: SessionDep, store: EvidenceStoreDep) -> FileResponse:
    """The MP4 clip around the incident's start; honours HTTP Range requests so players can seek."""
    evidence = get_evidence(incident_id, EvidenceKind.CLIP, session=session)
    # Starlette's FileResponse answers Range requests itself (206, 416, Accept-Ranges).
    return FileResponse(evidence_file(evidence, store), media_type="video/mp4")
