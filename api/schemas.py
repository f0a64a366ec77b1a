"""Response models of the API; every field is described so the OpenAPI document reads well."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.messages import CameraState, Severity
from incidents.cameras import effective_status
from incidents.models import Camera, Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus

ClipStatus = Literal["pending", "ready", "failed", "none"]
_CLIP_STATUS: dict[EvidenceStatus, ClipStatus] = {
    EvidenceStatus.PENDING: "pending",
    EvidenceStatus.READY: "ready",
    EvidenceStatus.FAILED: "failed",
}


class Out(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(frozen=True)


class ErrorOut(Out):
    """An error answer."""

    detail: str = Field(description="What went wrong, in words.")


class HealthOut(Out):
    """Whether the service and its database work, and how many cameras are online."""

    status: Literal["ok", "degraded"] = Field(description="`ok`, or `degraded` when the database is down.")
    version: str = Field(description="Version of the Mata Kota service.")
    database: bool = Field(description="Whether the database answered.")
    cameras_total: int = Field(description="Number of enabled cameras.")
    cameras_online: int = Field(description="Number of enabled cameras that are online now.")


class LocationOut(Out):
    """Where a camera stands and where it looks."""

    lat: float = Field(description="Latitude, WGS84 degrees.")
    lon: float = Field(description="Longitude, WGS84 degrees.")
    heading: float = Field(description="View direction, degrees clockwise from north.")
    kelurahan: str | None = Field(description="Kelurahan (urban village), if known.")
    kecamatan: str | None = Field(description="Kecamatan (district), if known.")
    address: str | None = Field(description="Street address or landmark, if known.")


class ResolutionOut(Out):
    """Size of a video stream."""

    width: int = Field(description="Width in pixels.")
    height: int = Field(description="Height in pixels.")


class CameraStatusOut(Out):
    """A camera's stream health as of this answer."""

    state: CameraState = Field(
        description="`starting`, `online` or `offline`; `offline` too when its worker stopped reporting."
    )
    reason: str | None = Field(description="Why the camera is in this state, when not plainly online.")
    since: datetime | None = Field(description="When the camera entered this state.")
    reported_at: datetime | None = Field(description="When its worker last reported, if ever.")
    fps_in: float = Field(description="Frames per second decoded from the stream.")
    fps_out: float = Field(description="Frames per second handed to analytics.")
    frames_dropped: int = Field(description="Frames dropped because analytics lagged behind.")
    reconnects: int = Field(description="Times the stream was reopened.")
    last_frame_at: datetime | None = Field(description="When the last frame arrived.")
    resolution: ResolutionOut | None = Field(description="Size of the detect stream, once known.")
    codec: str | None = Field(description="Codec of the detect stream, once known (e.g. `h264`).")


class CameraOut(Out):
    """A camera, where it is, and how its stream is doing."""

    id: str = Field(description="Camera id from the configuration.")
    name: str = Field(description="Human-readable camera name.")
    location: LocationOut = Field(description="Where the camera stands and looks.")
    enabled: bool = Field(description="Whether the camera is switched on in the configuration.")
    input_url: str = Field(description="Detect stream URL, credentials removed.")
    status: CameraStatusOut = Field(description="Stream health as of this answer.")

    @classmethod
    def from_model(cls, camera: Camera, now: datetime) -> CameraOut:
        """The answer for ``camera``, its status judged as of ``now``."""
        effective = effective_status(camera, now)
        resolution = (
            ResolutionOut(width=camera.width, height=camera.height)
            if camera.width is not None and camera.height is not None
            else None
        )
        return cls(
            id=camera.id,
            name=camera.name,
            location=LocationOut(
                lat=camera.lat,
                lon=camera.lon,
                heading=camera.heading,
                kelurahan=camera.kelurahan,
                kecamatan=camera.kecamatan,
                address=camera.address,
            ),
            enabled=camera.enabled,
            input_url=camera.input_url,
            status=CameraStatusOut(
                state=effective.state,
                reason=effective.reason,
                since=effective.since,
                reported_at=camera.status_at,
                fps_in=camera.fps_in,
                fps_out=camera.fps_out,
                frames_dropped=camera.frames_dropped,
                reconnects=camera.reconnects,
                last_frame_at=camera.last_frame_at,
                resolution=resolution,
                codec=camera.codec,
            ),
        )


class IncidentOut(Out):
    """An incident raised by a camera, with links to its evidence."""

    id: int = Field(description="Incident id.")
    camera_id: str | None = Field(description="Camera that raised it; null for citizen reports.")
    kind: str = Field(description="What happened, e.g. `congestion`.")
    zone: str | None = Field(description="Zone of the camera image where it happened.")
    status: IncidentStatus = Field(description="Where the incident is in the operators' workflow.")
    severity: Severity = Field(description="How urgent it is; only ever raised while the event lasts.")
    title: str = Field(description="One-line summary for the incident queue.")
    details: dict[str, Any] = Field(description="Rule-specific measurements (counts, durations, ...).")
    started_at: datetime = Field(description="When the event started.")
    last_seen_at: datetime = Field(description="When the event was last seen.")
    ended_at: datetime | None = Field(description="When the event ended; null while it is still going on.")
    snapshot_url: str | None = Field(description="URL of the JPEG snapshot; null until there is one.")
    clip_url: str | None = Field(description="URL of the MP4 clip; null until it is ready.")
    clip_status: ClipStatus = Field(
        description="`pending` while the camera cuts the clip, `ready`, `failed`, or `none` without one."
    )
    created_at: datetime = Field(description="When the incident was recorded.")
    updated_at: datetime = Field(description="When the incident was last changed.")

    @classmethod
    def from_model(cls, incident: Incident) -> IncidentOut:
        """The answer for ``incident`` (its evidence loaded)."""
        snapshot = incident.latest_evidence(EvidenceKind.SNAPSHOT)
        clip = incident.latest_evidence(EvidenceKind.CLIP)
        base = f"/api/incidents/{incident.id}"
        return cls(
            id=incident.id,
            camera_id=incident.camera_id,
            kind=incident.kind,
            zone=incident.zone,
            status=incident.status,
            severity=incident.severity,
            title=incident.title,
            details=incident.details,
            started_at=incident.started_at,
            last_seen_at=incident.last_seen_at,
            ended_at=incident.ended_at,
            snapshot_url=f"{base}/snapshot.jpg" if _ready(snapshot) else None,
            clip_url=f"{base}/clip.mp4" if _ready(clip) else None,
            clip_status=_CLIP_STATUS[clip.status] if clip is not None else "none",
            created_at=incident.created_at,
            updated_at=incident.updated_at,
        )


class IncidentPage(Out):
    """One page of incidents, newest first."""

    items: list[IncidentOut] = Field(description="The incidents on this page.")
    total: int = Field(description="Number of incidents matching the filter, on all pages.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of matching incidents skipped before this page.")


def _ready(evidence: Evidence | None) -> bool:
    return evidence is not None and evidence.status == EvidenceStatus.READY
