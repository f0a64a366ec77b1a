"""Continuous recording of a camera: what is recorded in a time range, and that range as one MP4."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.deps import CameraId, RangeEnd, RangeStart, SessionDep, SettingsDep
from api.schemas import BadQueryOut, ErrorOut, RecordingsOut
from core.settings import Settings
from incidents.models import RecordingSegment
from incidents.queries import get_camera
from incidents.recordings import RecordingNotFound, export_range, segments_between
from incidents.types import utcnow

router = APIRouter(prefix="/api/cameras", tags=["cameras"])

MAX_LIST_S = 24 * 3600.0  # the longest range one listing answers
MAX_EXPORT_S = 3600.0  # the longest range one export holds

Start = Annotated[AwareDatetime, Query(description="Start of the range (ISO 8601 with a time zone offset).")]
End = Annotated[AwareDatetime, Query(description="End of the range, after its start (ISO 8601 with an offset).")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such camera, or nothing recorded in the range (the detail says)."},
    422: {
        "model": BadQueryOut,
        "description": "A bad range: no time zone, end not after start, or too long (the detail says why).",
    },
}


@router.get("/{camera_id}/recordings", responses=_ERRORS)
def list_recordings(
    camera_id: CameraId,
    session: SessionDep,
    start: RangeStart = None,
    end: RangeEnd = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Page size of the segment list (1-5000).")] = 1000,
    offset: Annotated[int, Query(ge=0, description="Number of segments to skip.")] = 0,
) -> RecordingsOut:
    """What the camera recorded in a range of at most 24 hours (the last hour by default): unbroken
    stretches and segments."""
    end = end or utcnow()
    start = start or end - timedelta(hours=1)
    _check_range(start, end, MAX_LIST_S)
    get_camera(camera_id, session=session)
    segments = segments_between(camera_id, start, end, session=session)
    return RecordingsOut.build(camera_id, start, end, segments, limit, offset)


@router.get(
    "/{camera_id}/recording.mp4",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"video/mp4": {}},
            "description": "The recording of the range as one MP4.",
            "headers": {
                "X-Recording-Start": {
                    "description": "When its first frame was recorded (ISO 8601).",
                    "schema": {"type": "string"},
                },
                "X-Recording-End": {
                    "description": "When its last frame ends (ISO 8601).",
                    "schema": {"type": "string"},
                },
                "X-Recorded-Seconds": {
                    "description": "Seconds of recording it holds; less than the range when the recording has gaps.",
                    "schema": {"type": "string"},
                },
            },
        },
        206: {"content": {"video/mp4": {}}, "description": "The requested byte range of that MP4."},
        416: {"description": "The requested byte range is outside the file."},
        **_ERRORS,
    },
)
def export_recording(
    camera_id: CameraId, start: Start, end: End, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The recording of a range of at most one hour as one MP4, from the keyframe before `start`; HTTP Range works."""
    _check_range(start, end, MAX_EXPORT_S)
    get_camera(camera_id, session=session)
    segments = segments_between(camera_id, start, end, session=session)
    if not segments:
        raise RecordingNotFound(
            f"camera {camera_id!r} recorded nothing between {start.isoformat()} and {end.isoformat()}"
        )
    return _export(settings, segments, start, end, f"{camera_id}-{start.strftime('%Y%m%dT%H%M%S%z')}.mp4")


def _check_range(start: datetime, end: datetime, max_s: float) -> None:
    if end <= start:
        raise HTTPException(422, f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if (end - start).total_seconds() > max_s:
        raise HTTPException(422, f"the range is longer than the limit of {max_s / 3600:g} h: ask for a shorter one")


def _export(
    settings: Settings, segments: list[RecordingSegment], start: datetime, end: datetime, filename: str
) -> FileResponse:
    """Export into a directory of its own in the cache, removed once the answer is sent."""
    exports = settings.resolved_cache_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    workdir = FilePath(tempfile.mkdtemp(prefix="export-", dir=exports))
    try:
        info = export_range(segments, settings.recordings_dir, start, end, workdir / filename)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    headers = {
        "X-Recording-Start": info.start.isoformat(),
        "X-Recording-End": info.end.isoformat(),
        "X-Recorded-Seconds": f"{info.covered_s:.3f}",
    }
    return _ExportResponse(workdir, info.path, media_type="video/mp4", filename=filename, headers=headers)


class _ExportResponse(FileResponse):
    """The exported file, its directory removed once the answer is over, whatever the answer was.

    Starlette's FileResponse answers Range requests itself (206, 416, Accept-Ranges), but skips a
    background task on some of them (416), so the removal is not one.
    """

    def __init__(self, workdir: FilePath, path: FilePath, **kwargs: Any) -> None:
        super().__init__(path, content_disposition_type="inline", **kwargs)
        self.workdir = workdir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(shutil.rmtree, self.workdir, True)
