"""Live view of a camera: WebRTC for the operators' camera wall, MJPEG where WebRTC cannot connect."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CameraId, SettingsDep
from api.live import MJPEG_BOUNDARY, LiveViews
from api.schemas import ErrorOut
from core.errors import NotFoundError
from runtime.live_detections import detections_file

DETECTIONS_STALE_S = 3.0

router = APIRouter(tags=["cameras"])


class SessionDescription(BaseModel):
    """A WebRTC session description (an offer from the browser, or the server's answer)."""

    sdp: str = Field(min_length=1, max_length=20_000, description="The SDP text.")
    type: Literal["offer", "answer"] = Field(description="`offer` from the browser; the server answers `answer`.")


def get_live_views(request: Request) -> LiveViews:
    """The app's live streams and their viewers."""
    views: LiveViews = request.app.state.live_views
    return views


class ZoneOut(BaseModel):
    """A zone of the image, where the camera's rules apply."""

    name: str = Field(description="Zone name from the configuration.")
    kind: str = Field(description="What the zone covers (road, river, ...).")
    polygon: list[tuple[float, float]] = Field(description="(x, y) points in 0-1 image coordinates.")


class LineOut(BaseModel):
    """A counting line of the image."""

    name: str = Field(description="Line name from the configuration.")
    points: list[tuple[float, float]] = Field(description="Its two ends, (x, y) in 0-1 image coordinates.")


class OverlayOut(BaseModel):
    """What the camera wall draws over a camera's live video."""

    zones: list[ZoneOut] = Field(description="The camera's zones.")
    lines: list[LineOut] = Field(description="The camera's counting lines.")


class DetectionBoxOut(BaseModel):
    """One object the detector found in the camera's current picture."""

    model_config = ConfigDict(populate_by_name=True)

    box: tuple[float, float, float, float] = Field(description="Its box (x1, y1, x2, y2) in 0-1 image coordinates.")
    class_name: str = Field(alias="class", description="What it is (the detector's class name, e.g. `car`).")
    confidence: float = Field(description="The detector's confidence, 0-1.")
    track_id: int | None = Field(description="Its track across frames; null when the camera is not tracked.")


class LiveDetectionsOut(BaseModel):
    """The camera's current detections, as the analytics last published them."""

    camera_id: str = Field(description="The camera.")
    at: float = Field(description="When they were published (Unix time, seconds).")
    width: int = Field(description="Width in pixels of the picture the detector saw.")
    height: int = Field(description="Height in pixels of the picture the detector saw.")
    boxes: list[DetectionBoxOut] = Field(description="The objects found.")
    age_s: float = Field(description="Seconds since they were published.")
    stale: bool = Field(
        description=f"True when older than {DETECTIONS_STALE_S:g} s (analytics stopped or behind): do not draw them."
    )


LiveViewsDep = Annotated[LiveViews, Depends(get_live_views)]
Fps = Annotated[float, Query(gt=0, le=10, description="Pictures a second (up to 10).")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The offer is not SDP that asks for video."},
    404: {"model": ErrorOut, "description": "No such camera."},
    409: {"model": ErrorOut, "description": "The camera has no RTSP stream to watch live."},
    503: {"model": ErrorOut, "description": "The camera has as many live viewers as it allows, or its stream is down."},
}


@router.post("/api/cameras/{camera_id}/webrtc", responses=_ERRORS)
async def webrtc(camera_id: CameraId, offer: SessionDescription, views: LiveViewsDep) -> SessionDescription:
    """Watch a camera live: send a WebRTC offer (ICE gathered, receive-only video), get the answer."""
    answer = await views.answer(camera_id, offer.sdp, offer.type)
    return SessionDescription(sdp=answer.sdp, type="answer")


@router.get(
    "/api/cameras/{camera_id}/mjpeg",
    response_class=StreamingResponse,
    responses={**_ERRORS, 200: {"content": {f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}": {}}}},
)
async def mjpeg(camera_id: CameraId, views: LiveViewsDep, fps: Fps = 2.0) -> StreamingResponse:
    """Watch a camera live as a stream of JPEGs (for an `<img>`, where WebRTC cannot connect)."""
    parts = await views.mjpeg(camera_id, fps)
    media_type = f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}"
    return StreamingResponse(parts, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.get("/api/cameras/{camera_id}/overlay", responses={404: _ERRORS[404]})
def overlay(camera_id: CameraId, views: LiveViewsDep) -> OverlayOut:
    """The camera's zones and counting lines, in 0-1 image coordinates, to draw over its video."""
    camera = views.camera(camera_id)
    zones = [ZoneOut(name=z.name, kind=z.kind, polygon=z.polygon) for z in camera.zones]
    return OverlayOut(zones=zones, lines=[LineOut(name=ln.name, points=[ln.a, ln.b]) for ln in camera.lines])


@router.get(
    "/api/cameras/{camera_id}/detections",
    responses={404: {"model": ErrorOut, "description": "No such camera, or no detections published for it yet."}},
)
def detections(camera_id: CameraId, views: LiveViewsDep, settings: SettingsDep) -> LiveDetectionsOut:
    """The camera's current detections (boxes in 0-1 image coordinates), to draw over its live video."""
    views.camera(camera_id)
    try:
        body = json.loads(detections_file(settings.live_dir, camera_id).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise NotFoundError(f"no detections published for camera {camera_id!r} yet (is analytics running?)") from exc
    age_s = max(0.0, time.time() - float(body["at"]))
    return LiveDetectionsOut(**body, age_s=round(age_s, 3), stale=age_s > DETECTIONS_STALE_S)
