"""Read access to the incident store: filtered, paginated incidents, their evidence, cameras."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from core.errors import CameraNotFound, EvidenceUnavailable, IncidentNotFound
from core.incident_config import SlaConfig
from core.messages import CameraState
from incidents.cameras import effective_status
from incidents.evidence import EvidenceStore
from incidents.models import (
    OPEN_STATUSES,
    Camera,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    Incident,
    IncidentStatus,
)
from incidents.routing import overdue_clause
from incidents.types import utcnow

logger = logging.getLogger(__name__)

MAX_OFFSET = 2**63 - 1  # the largest integer SQLite and PostgreSQL (bigint) store: more is a 500, not a page


class IncidentFilter(BaseModel):
    """Which incidents to list, and which page of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str | None = Field(default=None, description="Only incidents raised by this camera.")
    kind: str | None = Field(default=None, description="Only incidents of this kind, e.g. `congestion`.")
    status: IncidentStatus | None = Field(default=None, description="Only incidents in this status.")
    started_after: AwareDatetime | None = Field(
        default=None, description="Only incidents that started at or after this time (ISO 8601 with offset)."
    )
    started_before: AwareDatetime | None = Field(
        default=None, description="Only incidents that started before this time (ISO 8601 with offset)."
    )
    overdue: bool | None = Field(
        default=None,
        description="`true`: only incidents past their SLA (not acknowledged or resolved in time); `false`: the rest.",
    )
    limit: int = Field(default=50, ge=1, le=200, description="Page size (1-200).")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Number of incidents to skip.")


def list_incidents(
    flt: IncidentFilter, *, session: Session, sla: SlaConfig | None = None, now: datetime | None = None
) -> tuple[list[Incident], int]:
    """One page of incidents matching ``flt``, newest first, and how many match in all.

    Args:
        flt: the filter and page.
        session: the database session.
        sla: the SLA targets ``flt.overdue`` is judged by (default: the configuration's defaults).
        now: the time ``flt.overdue`` is judged at (default: now).
    """
    stmt = select(Incident)
    if flt.overdue is not None:
        late = overdue_clause(sla or SlaConfig(), now or utcnow())
        # Only open incidents are ever late; said once, SQLite looks the few open ones up by status once
        # instead of once per branch of ``late`` (about 3x faster there with 100,000 incidents, 2,800 open).
        stmt = stmt.where(and_(Incident.status.in_([s.value for s in OPEN_STATUSES]), late) if flt.overdue else ~late)
    if flt.camera_id is not None:
        stmt = stmt.where(Incident.camera_id == flt.camera_id)
    if flt.kind is not None:
        stmt = stmt.where(Incident.kind == flt.kind)
    if flt.status is not None:
        stmt = stmt.where(Incident.status == flt.status)
    if flt.started_after is not None:
        stmt = stmt.where(Incident.started_at >= flt.started_after)
    if flt.started_before is not None:
        stmt = stmt.where(Incident.started_at < flt.started_before)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = (
        stmt.order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(flt.limit)
        .offset(flt.offset)
        .options(selectinload(Incident.evidence), selectinload(Incident.camera))
    )
    return list(session.scalars(page)), total


def get_incident(incident_id: int, *, session: Session) -> Incident:
    """The incident with ``incident_id``, its evidence loaded.

    Raises:
        IncidentNotFound: when there is none.
    """
    incident = session.get(Incident, incident_id, options=[selectinload(Incident.evidence)])
    if incident is None:
        raise IncidentNotFound(f"incident {incident_id} not found")
    return incident


def get_evidence(incident_id: int, kind: EvidenceKind, *, session: Session) -> Evidence:
    """The newest ready evidence of ``kind`` for the incident.

    Raises:
        IncidentNotFound: when the incident does not exist.
        EvidenceUnavailable: when it has no such evidence or it is not ready; the message says why.
    """
    evidence = get_incident(incident_id, session=session).latest_evidence(kind)
    if evidence is None:
        raise EvidenceUnavailable(f"incident {incident_id} has no {kind}")
    if evidence.status == EvidenceStatus.PENDING:
        raise EvidenceUnavailable(f"the {kind} of incident {incident_id} is not ready yet (pending)")
    if evidence.status == EvidenceStatus.FAILED:
        raise EvidenceUnavailable(f"the {kind} of incident {incident_id} failed: {evidence.error}")
    return evidence


def evidence_file(evidence: Evidence, store: EvidenceStore) -> Path:
    """The file of ready ``evidence``.

    Raises:
        EvidenceUnavailable: when the file is gone (e.g. removed by retention) or its path is bad.
    """
    what = f"the {evidence.kind} of incident {evidence.incident_id}"
    try:
        path = store.path_for(evidence.path)
    except ValueError as err:
        logger.error("%s has a bad path: %s", what, err)
        raise EvidenceUnavailable(f"{what} is unavailable") from err
    if not path.is_file():
        raise EvidenceUnavailable(f"{what} is no longer on disk")
    return path


def list_cameras(*, session: Session) -> list[Camera]:
    """Every camera, enabled or not, by id."""
    return list(session.scalars(select(Camera).order_by(Camera.id)))


def get_camera(camera_id: str, *, session: Session) -> Camera:
    """The camera with ``camera_id``.

    Raises:
        CameraNotFound: when there is none.
    """
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise CameraNotFound(f"camera {camera_id!r} not found")
    return camera


def camera_counts(now: datetime, *, session: Session) -> tuple[int, int]:
    """How many cameras are configured (enabled) and how many of them are online as of ``now``."""
    cameras = session.scalars(select(Camera).where(Camera.enabled.is_(True))).all()
    online = sum(1 for c in cameras if effective_status(c, now).state == CameraState.ONLINE)
    return len(cameras), online


def database_reachable(*, session: Session) -> bool:
    """Whether the database answers and has its tables; a failure is logged and rolled back."""
    try:
        session.execute(select(func.count()).select_from(Camera))
    except SQLAlchemyError:
        logger.exception("database unreachable")
        session.rollback()
        return False
    return True
