"""Traffic counts: 1-minute rows from the counting lines, and their sums over longer intervals."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import TrafficCount as CountMessage
from incidents.models import Camera, TrafficCount
from incidents.types import from_ts

logger = logging.getLogger(__name__)

RESOLUTIONS_MIN = (1, 15, 60)


@dataclass
class TrafficSeries:
    """The crossings of one line by one class in one direction, per interval (intervals without any left out)."""

    line: str
    class_name: str
    direction: str
    counts: dict[datetime, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Crossings over every interval."""
        return sum(self.counts.values())


def add_traffic_count(message: CountMessage, *, session: Session) -> TrafficCount | None:
    """Add a minute's count to its row (made if it is the first), so a minute reported twice sums up.

    Returns:
        The row, or None when the camera is unknown.
    """
    bucket_start = from_ts(message.bucket_start_ts)
    row = session.scalar(
        select(TrafficCount).where(
            TrafficCount.camera_id == message.camera_id,
            TrafficCount.line == message.line,
            TrafficCount.class_name == message.class_name,
            TrafficCount.direction == message.direction,
            TrafficCount.bucket_start == bucket_start,
        )
    )
    if row is not None:
        row.count += message.count
    elif session.get(Camera, message.camera_id) is None:
        logger.warning(
            "%s: traffic count for line %s of an unknown camera: not stored", message.camera_id, message.line
        )
        return None
    else:
        row = TrafficCount(
            camera_id=message.camera_id,
            line=message.line,
            class_name=message.class_name,
            direction=message.direction,
            bucket_start=bucket_start,
            count=message.count,
        )
        session.add(row)
    session.flush()
    return row


def interval_start(at: datetime, resolution_min: int) -> datetime:
    """The start of the ``resolution_min`` interval holding ``at``, counted in UTC from the epoch."""
    step = resolution_min * 60
    seconds = int(at.timestamp()) // step * step
    return datetime.fromtimestamp(seconds, UTC)


def traffic_series(
    camera_id: str, start: datetime, end: datetime, resolution_min: int, *, session: Session
) -> list[TrafficSeries]:
    """The camera's minutes in ``[start, end)`` summed into ``resolution_min`` intervals, per line, class, direction.

    Args:
        camera_id: The camera.
        start: Minutes starting at or after this count.
        end: Minutes starting before this count.
        resolution_min: Interval length in minutes, one of :data:`RESOLUTIONS_MIN`.

    Returns:
        One series per line, class and direction seen, sorted by those.
    """
    if resolution_min not in RESOLUTIONS_MIN:
        raise ValueError(f"resolution must be one of {RESOLUTIONS_MIN} minutes, not {resolution_min}")
    rows = session.scalars(
        select(TrafficCount)
        .where(TrafficCount.camera_id == camera_id, TrafficCount.bucket_start >= start, TrafficCount.bucket_start < end)
        .order_by(TrafficCount.bucket_start)
    )
    series: dict[tuple[str, str, str], TrafficSeries] = {}
    for row in rows:
        key = (row.line, row.class_name, row.direction)
        one = series.setdefault(key, TrafficSeries(*key))
        at = interval_start(row.bucket_start, resolution_min)
        one.counts[at] = one.counts.get(at, 0) + row.count
    return [series[key] for key in sorted(series)]
