"""Incidents: the queue operators work through, the snapshot and clip behind each, reviews, the workflow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from api.deps import EvidenceStoreDep, SessionDep, WorkflowRulesDep
from api.review_schemas import IncidentDetailOut, ReviewIn, ReviewOut
from api.schemas import ErrorOut, IncidentOut, IncidentPage
from api.workflow_schemas import AuditOut, StatusChangeIn
from incidents.models import EvidenceKind
from incidents.queries import IncidentFilter, evidence_file, get_evidence, get_incident, list_incidents
from incidents.reviews import add_review, latest_review
from incidents.types import utcnow
from incidents.workflow import audit_trail, change_status

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

IncidentId = Annotated[int, Path(description="Incident id.")]

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
    return IncidentDetailOut.with_review(incident, latest_review(incident_id, session=session), rules, utcnow())


@router.post(
    "/{incident_id}/status",
    responses={
        404: {"model": ErrorOut, "description": "No such incident."},
        409: {"model": ErrorOut, "description": "The move is not allowed from the incident's status (says why)."},
        422: {"description": "The body is invalid, or lacks what the new status needs (agency, merged_into)."},
    },
)
def set_status(
    incident_id: IncidentId, body: StatusChangeIn, session: SessionDep, rules: WorkflowRulesDep
) -> IncidentOut:
    """Move an incident along the operators' workflow (acknowledge, dispatch, resolve, ...); it is audited."""
    now = utcnow()
    change_status(incident_id, body.to_change(), rules=rules, session=session, now=now)
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
def review(incident_id: IncidentId, body: ReviewIn, session: SessionDep) -> ReviewOut:
    """Record an operator's verdict (confirmed or false positive); the newest review counts."""
    recorded = add_review(incident_id, body.verdict, by=body.by, note=body.note, session=session)
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
