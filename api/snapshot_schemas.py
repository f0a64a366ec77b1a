"""Request and response models of cameras' snapshots: a fresh picture an operator asks a camera for."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.deps import MAX_ID
from api.schemas import Out
from core.messages import CameraState
from incidents.cameras import effective_status
from incidents.models import Camera
from incidents.snapshots import DEFAULT_TIMEOUT_S, SnapshotRequest, SnapshotStatus

MAX_TIMEOUT_S = 60.0


class SnapshotIn(BaseModel):
    """What the picture is for; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The citizen report the picture is to verify."
    )
    incident_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The incident the picture is to verify.")
    note: str | None = Field(default=None, max_length=500, description="Why the picture is wanted (logged).")
    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S,
        ge=1.0,
        le=MAX_TIMEOUT_S,
        description="How long the camera has to send a frame before the request fails, seconds.",
    )


class SnapshotOut(Out):
    """A request for a camera's current picture, and the picture once it is there."""

    id: int = Field(description="Snapshot id.")
    camera_id: str = Field(description="The camera asked.")
    status: SnapshotStatus = Field(
        description="`pending` (waiting for the camera's next frame), `ready` (see `image_url`) or `failed` (see "
        "`error`)."
    )
    requested_by: str = Field(description="Who asked: the authenticated user, or `key:<name>` for an API key.")
    requested_at: datetime = Field(description="When it was asked; the picture is always taken after this.")
    deadline_at: datetime = Field(description="When a request still pending fails.")
    report_id: int | None = Field(description="The citizen report it verifies, if any.")
    incident_id: int | None = Field(description="The incident it verifies, if any.")
    frame_at: datetime | None = Field(description="When the camera took the picture (ready only).")
    completed_at: datetime | None = Field(description="When it became ready or failed.")
    error: str | None = Field(description="Why it failed (failed only), e.g. the camera sent no frame in time.")
    image_url: str | None = Field(description="Where the JPEG is (ready only): the undrawn camera frame.")
    camera_state: CameraState = Field(
        description="The camera's stream state as of this answer: an offline camera is asked all the same, but is "
        "unlikely to answer before the deadline."
    )
    camera_reason: str | None = Field(description="Why the camera is in that state, when not plainly online.")

    @classmethod
    def from_model(cls, request: SnapshotRequest, camera: Camera, now: datetime) -> SnapshotOut:
        """The answer for ``request``, its camera's state judged as of ``now``."""
        state = effective_status(camera, now)
        ready = request.status == SnapshotStatus.READY
        return cls(
            id=request.id,
            camera_id=request.camera_id,
            status=request.status,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            deadline_at=request.deadline_at,
            report_id=request.report_id,
            incident_id=request.incident_id,
            frame_at=request.frame_at,
            completed_at=request.completed_at,
            error=request.error,
            image_url=f"/api/snapshots/{request.id}/image" if ready else None,
            camera_state=state.state,
            camera_reason=state.reason,
        )
