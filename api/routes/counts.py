"""Traffic counts of a camera's counting lines: crossings per line, class and direction over time."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import CameraId, RangeEnd, RangeStart, SessionDep
from api.schemas import BadQueryOut, ErrorOut, TrafficCountsOut, TrafficSeriesOut
from incidents.queries import get_camera
from incidents.traffic import traffic_series
from incidents.types import utcnow

router = APIRouter(prefix="/api/cameras", tags=["cameras"])

MAX_RANGE = timedelta(days=31)


class Resolution(IntEnum):
    """Interval lengths the counts are summed into, minutes."""

    MINUTE = 1
    QUARTER = 15
    HOUR = 60


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such camera."},
    422: {
        "model": BadQueryOut,
        "description": "A bad range or resolution: no time zone, end not after start, or too long.",
    },
}


@router.get("/{camera_id}/counts", responses=_ERRORS)
def traffic_counts(
    camera_id: CameraId,
    session: SessionDep,
    start: RangeStart = None,
    end: RangeEnd = None,
    resolution: Annotated[
        Resolution, Query(description="Interval length in minutes: 1, 15 or 60 (intervals start on UTC).")
    ] = Resolution.MINUTE,
) -> TrafficCountsOut:
    """Objects that crossed the camera's counting lines, per line, class and direction, per interval."""
    end = end or utcnow()
    start = start or end - timedelta(hours=1)
    if end <= start:
        raise HTTPException(422, f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if end - start > MAX_RANGE:
        raise HTTPException(422, f"the range is longer than {MAX_RANGE.days} days: ask for a shorter one")
    get_camera(camera_id, session=session)
    series = traffic_series(camera_id, start, end, int(resolution), session=session)
    return TrafficCountsOut(
        camera_id=camera_id,
        start=start,
        end=end,
        resolution_min=int(resolution),
        series=[TrafficSeriesOut.from_series(s) for s in series],
    )
