"""Snapshots: ask a camera for a fresh picture now (to verify a citizen's report or an incident), then fetch it.

The analytics process, which sees every camera's frames, answers: it takes the camera's next frame
after the request and stores it as a JPEG, usually within a second or two.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import PrincipalDep
from api.deps import CameraId, EvidenceStoreDep, SessionDep, id_path
from api.schemas import ErrorOut
from api.snapshot_schemas import SnapshotIn, SnapshotOut
from incidents.db import session_scope
from incidents.queries import get_camera
from incidents.snapshots import SnapshotStatus, get_snapshot, recent_snapshots, request_snapshot, snapshot_file
from incidents.types import utcnow

logger = logging.getLogger(__name__)

router = APIRouter(tags=["cameras"])

MAX_WAIT_S = 10.0
WAIT_POLL_S = 0.2  # how often a waiting POST looks at its request

SnapshotId = Annotated[int, id_path("Snapshot id.")]
WaitS = Annotated[
    float,
    Query(
        ge=0.0,
        le=MAX_WAIT_S,
        description="Seconds to wait for the picture before answering (0-10); 0 answers at once, still pending.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="How many of the newest requests (1-100).")]


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The app's session factory, for handlers that open short units of work themselves."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such snapshot."}}


@router.post(
    "/api/cameras/{camera_id}/snapshots",
    status_code=202,
    responses={404: {"model": ErrorOut, "description": "No such camera, incident or citizen report."}},
)
async def request_one(
    camera_id: CameraId,
    response: Response,
    sessions: SessionFactoryDep,
    principal: PrincipalDep,
    wait_s: WaitS = 0.0,
    body: Annotated[SnapshotIn | None, Body()] = None,
) -> SnapshotOut:
    """Ask a camera for its next frame; with `wait_s`, answer once the picture is ready or failed."""
    snapshot = await run_in_threadpool(_request, sessions, camera_id, body or SnapshotIn(), principal.name)
    deadline = time.monotonic() + wait_s
    while snapshot.status == SnapshotStatus.PENDING and time.monotonic() < deadline:
        await asyncio.sleep(WAIT_POLL_S)  # the event loop serves others meanwhile; the reads run in threads
        snapshot = await run_in_threadpool(_read, sessions, snapshot.id)
    response.headers["Location"] = f"/api/snapshots/{snapshot.id}"
    return snapshot


@router.get("/api/snapshots/{snapshot_id}", responses=_NOT_FOUND)
def get_one(snapshot_id: SnapshotId, session: SessionDep) -> SnapshotOut:
    """A snapshot request: pending, ready (with the image URL and when the frame was taken) or failed (why)."""
    request = get_snapshot(snapshot_id, session=session)
    return SnapshotOut.from_model(request, get_camera(request.camera_id, session=session), utcnow())


@router.get(
    "/api/snapshots/{snapshot_id}/image",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The camera's picture, undrawn."},
        404: {"model": ErrorOut, "description": "No such snapshot, or it is not ready yet (the detail says)."},
        409: {"model": ErrorOut, "description": "The camera gave no picture for this request (the detail says why)."},
    },
)
def get_image(snapshot_id: SnapshotId, session: SessionDep, store: EvidenceStoreDep) -> FileResponse:
    """The JPEG of a ready snapshot."""
    path = snapshot_file(get_snapshot(snapshot_id, session=session), store)
    return FileResponse(path, media_type="image/jpeg")


@router.get(
    "/api/cameras/{camera_id}/snapshots", responses={404: {"model": ErrorOut, "description": "No such camera."}}
)
def list_recent(camera_id: CameraId, session: SessionDep, limit: Limit = 20) -> list[SnapshotOut]:
    """The camera's newest snapshot requests, newest first."""
    requests = recent_snapshots(camera_id, session=session, limit=limit)
    camera, now = get_camera(camera_id, session=session), utcnow()
    return [SnapshotOut.from_model(request, camera, now) for request in requests]


def _request(sessions: sessionmaker[Session], camera_id: str, body: SnapshotIn, requested_by: str) -> SnapshotOut:
    """Queue the request and commit it, so the analytics process sees it at its next poll."""
    with session_scope(sessions) as session:
        request = request_snapshot(
            camera_id,
            session=session,
            requested_by=requested_by,
            report_id=body.report_id,
            incident_id=body.incident_id,
            timeout_s=body.timeout_s,
        )
        if body.note:
            logger.info("%s: snapshot %d: %s", camera_id, request.id, body.note)
        return SnapshotOut.from_model(request, get_camera(camera_id, session=session), utcnow())


def _read(sessions: sessionmaker[Session], snapshot_id: int) -> SnapshotOut:
    """The request as committed now (a unit of work of its own, so a SQLite reader sees new commits)."""
    with session_scope(sessions) as session:
        request = get_snapshot(snapshot_id, session=session)
        return SnapshotOut.from_model(request, get_camera(request.camera_id, session=session), utcnow())
