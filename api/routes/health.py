"""Liveness: is the service up, does its database answer, how many cameras are online."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import SessionDep
from api.schemas import HealthOut
from incidents.queries import camera_counts, database_reachable
from incidents.types import utcnow

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
def health(request: Request, session: SessionDep) -> HealthOut:
    """Whether the service and its database work, and how many cameras are online."""
    reachable = database_reachable(session=session)
    total, online = camera_counts(utcnow(), session=session) if reachable else (0, 0)
    return HealthOut(
        status="ok" if reachable else "degraded",
        version=request.app.version,
        database=reachable,
        cameras_total=total,
        cameras_online=online,
    )
