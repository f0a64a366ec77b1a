"""Reports: camera uptime per day, per camera and per kecamatan; crashed processes; false-alarm rates."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from api.deps import SessionDep
from api.review_schemas import FalseAlarmReportOut, FalseAlarmRowOut
from api.schemas import BadQueryOut, ProcessExitOut, UptimeDayOut, UptimeOut, UptimeReportOut, UptimeRowOut
from incidents.health import UptimeTally, camera_uptime, recent_exits
from incidents.models import Camera
from incidents.reviews import false_alarm_tallies
from incidents.types import utcnow

router = APIRouter(prefix="/api", tags=["reports"])

DEFAULT_TIMEZONE = "Asia/Jakarta"  # WIB, Palembang's time
MAX_REPORT_DAYS = 366
UNKNOWN_KECAMATAN = "(unknown)"


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(422, f"{name} needs a time zone, e.g. 2026-11-29T00:00:00+07:00")
    return value


@router.get(
    "/reports/uptime",
    responses={422: {"model": BadQueryOut, "description": "A bad period or time zone."}},
)
def uptime_report(
    session: SessionDep,
    start: Annotated[datetime | None, Query(description="Start of the period (default: `end` minus 7 days).")] = None,
    end: Annotated[datetime | None, Query(description="End of the period (default: now).")] = None,
    hours: Annotated[
        int | None,
        Query(ge=1, le=MAX_REPORT_DAYS * 24, description="The period is the last this many hours before `end`."),
    ] = None,
    group: Annotated[
        Literal["camera", "kecamatan"], Query(description="One row per camera, or per kecamatan.")
    ] = "camera",
    tz: Annotated[str, Query(description="IANA time zone of the day boundaries.")] = DEFAULT_TIMEZONE,
    camera_id: Annotated[str | None, Query(description="Only this camera.")] = None,
) -> UptimeReportOut:
    """Uptime of the enabled cameras per local day: seconds up (online or degraded) and down
    (offline, auth_failed, tampered), worst first. Time the service was not running counts as
    neither, so a stopped service does not look like broken cameras."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise HTTPException(422, f"unknown time zone {tz!r}: use an IANA name such as Asia/Jakarta") from err
    now = utcnow()
    end = _aware(end, "end") or now
    if hours is not None and start is not None:
        raise HTTPException(422, "give start or hours, not both")
    start = _aware(start, "start") or end - (timedelta(hours=hours) if hours is not None else timedelta(days=7))
    if start >= end:
        raise HTTPException(422, "start must be before end")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise HTTPException(422, f"the period may be at most {MAX_REPORT_DAYS} days")
    query = select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.id)
    if camera_id is not None:
        query = query.where(Camera.id == camera_id)
    cameras = list(session.scalars(query))
    tallies = camera_uptime(start, end, now, zone, session=session, camera_ids=[c.id for c in cameras])
    groups: dict[str, list[str]] = defaultdict(list)
    for camera in cameras:
        key = camera.id if group == "camera" else (camera.kecamatan or UNKNOWN_KECAMATAN)
        groups[key].append(camera.id)
    rows = [_row(key, members, tallies) for key, members in groups.items()]
    rows.sort(key=lambda row: (row.total.uptime if row.total.uptime is not None else 2.0, row.key))
    return UptimeReportOut(start=start, end=min(end, now), timezone=tz, group=group, rows=rows)


def _row(key: str, members: list[str], tallies: dict[str, dict[str, UptimeTally]]) -> UptimeRowOut:
    per_day: dict[str, UptimeTally] = defaultdict(UptimeTally)
    total = UptimeTally()
    for camera_id in members:
        for day, tally in tallies.get(camera_id, {}).items():
            per_day[day].merge(tally)
            total.merge(tally)
    days = [UptimeDayOut(date=day, **UptimeOut.from_tally(per_day[day]).model_dump()) for day in sorted(per_day)]
    return UptimeRowOut(key=key, cameras=members, total=UptimeOut.from_tally(total), days=days)


@router.get("/reports/process-exits", responses={422: {"model": BadQueryOut, "description": "A bad time or limit."}})
def process_exits(
    session: SessionDep,
    camera_id: Annotated[str | None, Query(description="Only this camera's worker.")] = None,
    since: Annotated[datetime | None, Query(description="Only exits at or after this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")] = 100,
) -> list[ProcessExitOut]:
    """Processes that died and were restarted: a camera's decoder crash (a malformed stream can
    crash FFmpeg), an out-of-memory kill, a killed analytics process. Newest first."""
    rows = recent_exits(session=session, since=_aware(since, "since"), camera_id=camera_id, limit=limit)
    return [ProcessExitOut.from_model(row) for row in rows]


@router.get("/reports/false-alarms", responses={422: {"model": BadQueryOut, "description": "A bad group or time."}})
def false_alarms(
    session: SessionDep,
    group: Annotated[
        Literal["camera", "kind"], Query(description="One row per camera, or per detector kind.")
    ] = "kind",
    since: Annotated[datetime | None, Query(description="Only incidents that started at or after this time.")] = None,
) -> FalseAlarmReportOut:
    """Reviewed incidents per camera or detector kind: confirmed, false positives and the false-alarm
    rate, each incident counted by its latest review. Worst first."""
    since = _aware(since, "since")
    rows = [FalseAlarmRowOut.from_tally(t) for t in false_alarm_tallies(group, session=session, since=since)]
    return FalseAlarmReportOut(group=group, since=since, rows=rows)
