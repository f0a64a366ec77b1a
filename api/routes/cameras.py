"""Cameras: where they are and how their streams are doing."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CameraId, SessionDep
from api.schemas import CameraOut, ErrorOut
from incidents.queries import get_camera, list_cameras
from incidents.types import utcnow

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("")
def list_all(session: SessionDep) -> list[CameraOut]:
    """All cameras, with their location and stream health."""
    now = utcnow()
    return [CameraOut.from_model(camera, now) for camera in list_cameras(session=session)]


@router.get("/{camera_id}", responses={404: {"model": ErrorOut, "description": "No such camera."}})
def get_one(camera_id: CameraId, session: SessionDep) -> CameraOut:
    """One camera, with its location and stream health."""
    return CameraOut.from_model(get_camera(camera_id, session=session), utcnow())
