"""Camera health over time: state spans, the events of camera health incidents, uptime.

The supervisor's bus consumer feeds every stored status report to :class:`HealthMonitor` and
calls :meth:`HealthMonitor.check` every few seconds; the events it returns go to the incident
recorder like the analytics rules' (START past the camera's limit, UPDATE when the failure
changes, END when the camera is back, which resolves the incident). A camera whose worker stops
reporting (it crashed, or hangs) counts as offline from its last report, so a dead worker is a
health incident too, not silence.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.config import AppConfig, CameraConfig
from core.messages import CameraState, CameraStatus, Event, EventPhase, Severity
from incidents.cameras import REASON_LENGTH, STATUS_STALE_AFTER_S
from incidents.models import OPEN_STATUSES, Camera, CameraStateSpan, Incident, ProcessExit
from incidents.types import clip, from_ts

logger = logging.getLogger(__name__)

CAMERA_HEALTH_KIND = "camera_health"
CAMERA_ZONE = "camera"  # a health incident concerns the whole camera, not a zone of its image
REOPEN_WITHIN_S = 300.0  # a camera that fails again this soon after recovering continues its incident
LAST_SEEN_EVERY_S = 30.0  # a standing failure refreshes its incident's last_seen_at this often, not every check
NOT_REPORTING = "its worker stopped reporting (crashed or hung)"
_LABELS = {
    CameraState.OFFLINE: "offline",
    CameraState.AUTH_FAILED: "refuses the login",
    CameraState.TAMPERED: "tampered",
}


@dataclass(frozen=True, slots=True)
class Health:
    """A camera's state as the monitor sees it."""

    state: CameraState
    reason: str | None
    since_ts: float
    silent: bool = False  # judged by the monitor itself: the worker's reports stopped


@dataclass(frozen=True, slots=True)
class RaisedIncident:
    """What the monitor needs to know of a camera's open health incident."""

    started_ts: float
    last_seen_ts: float
    title: str
    state: str | None


class HealthMonitor:
    """Keeps ``camera_state_spans`` in step with the status reports and says when health incidents change.

    It never writes incidents: :meth:`check` returns the events, and whoever calls it hands them
    to the :class:`~incidents.recorder.IncidentRecorder`, the one writer of incidents.
    """

    def __init__(self, config: AppConfig, clock: Callable[[], float] = time.time) -> None:
        self.cameras = {camera.id: camera for camera in config.enabled_cameras}
        self.clock = clock
        self.started_ts = clock()
        self._last: dict[str, CameraStatus] = {}

    def recover(self, *, session: Session) -> int:
        """Close the spans a previous run left open, at their camera's last report; returns how many.

        The time between that report and now was not watched: it is neither up nor down.
        """
        spans = session.scalars(select(CameraStateSpan).where(CameraStateSpan.ended_at.is_(None))).all()
        for span in spans:
            camera = session.get(Camera, span.camera_id)
            last = camera.status_at if camera is not None and camera.status_at is not None else span.started_at
            span.ended_at = max(last, span.started_at)
        return len(spans)

    def on_status(self, status: CameraStatus, *, session: Session) -> None:
        """Record a stored status report's state as the camera's current span."""
        self._last[status.camera_id] = status
        self._enter(status.camera_id, status.state, status.reason, status.since_ts, session)

    def current(self, camera_id: str, now_ts: float) -> Health:
        """The camera's state now: its last report, or offline when reports stopped."""
        last = self._last.get(camera_id)
        if last is None:
            if now_ts - self.started_ts > STATUS_STALE_AFTER_S:
                reason = f"no status report since the service started: {NOT_REPORTING}"
                return Health(CameraState.OFFLINE, reason, self.started_ts, silent=True)
            return Health(CameraState.STARTING, "waiting for its worker", self.started_ts)
        if now_ts - last.at_ts > STATUS_STALE_AFTER_S:
            return Health(CameraState.OFFLINE, NOT_REPORTING, last.at_ts, silent=True)
        return Health(last.state, last.reason, last.since_ts)

    def check(self, *, session: Session, now_ts: float | None = None) -> list[Event]:
        """Mark silent cameras offline; returns the events that bring the health incidents in step.

        The events are judged against the incidents in the store, so an event that was lost is
        given again at the next check. Record them once ``session`` is committed: the recorder
        writes in its own transaction, and SQLite has one writer at a time.
        """
        now_ts = self.clock() if now_ts is None else now_ts
        raised = open_health_incidents(session=session)
        events = []
        for camera in self.cameras.values():
            health = self.current(camera.id, now_ts)
            if health.silent:
                self._enter(camera.id, health.state, health.reason, health.since_ts, session)
            event = health_event(camera, health, raised.get(camera.id), now_ts)
            if event is not None:
                events.append(event)
        return events

    def _enter(self, camera_id: str, state: CameraState, reason: str | None, since_ts: float, session: Session) -> None:
        reason = clip(reason, REASON_LENGTH)
        span = session.scalar(
            select(CameraStateSpan)
            .where(CameraStateSpan.camera_id == camera_id, CameraStateSpan.ended_at.is_(None))
            .order_by(CameraStateSpan.started_at.desc())
            .limit(1)
        )
        if span is not None and span.state == state:
            if span.reason != reason:
                span.reason = reason
            return
        since = from_ts(since_ts)
        if span is not None:
            since = max(since, span.started_at)
            span.ended_at = since
        session.add(CameraStateSpan(camera_id=camera_id, state=state, reason=reason, started_at=since))
        session.flush()


# -- incidents ----------------------------------------------------------------------------------


def open_health_incidents(*, session: Session) -> dict[str, RaisedIncident]:
    """The cameras' open health incidents (not ended, still in the operators' queue), by camera id."""
    query = (
        select(Incident)
        .where(Incident.kind == CAMERA_HEALTH_KIND, Incident.zone == CAMERA_ZONE, Incident.ended_at.is_(None))
        .where(Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.started_at, Incident.id)  # the newest wins, as the recorder's does
    )
    return {
        incident.camera_id: RaisedIncident(
            started_ts=incident.started_at.timestamp(),
            last_seen_ts=incident.last_seen_at.timestamp(),
            title=incident.title,
            state=incident.details.get("state"),
        )
        for incident in session.scalars(query)
        if incident.camera_id is not None
    }


def health_event(camera: CameraConfig, health: Health, raised: RaisedIncident | None, now_ts: float) -> Event | None:
    """The event that brings ``camera``'s health incident in step with ``health``, or None when it is.

    START once the camera has been down for its limit; UPDATE when its failure changes (an incident
    follows the camera through other down states: offline -> auth_failed) and every
    ``LAST_SEEN_EVERY_S`` while it lasts; END, with the downtime, when the camera is up again.
    """
    if health.state.is_down:
        title = _title(camera, health)
        details: dict[str, object] = {
            "state": health.state.value,
            "reason": health.reason,
            "down_since": from_ts(health.since_ts),
        }
        if raised is None:
            if now_ts - health.since_ts < camera.health.incident_after_s:
                return None
            # Only a tampered camera (frozen, black, blurred) still sends video to cut a clip from.
            clip = health.state == CameraState.TAMPERED
            return _event(camera, EventPhase.START, now_ts, health.since_ts, title, details, request_clip=clip)
        changed = title != raised.title or health.state.value != raised.state
        if changed or now_ts - raised.last_seen_ts > LAST_SEEN_EVERY_S:
            return _event(camera, EventPhase.UPDATE, now_ts, raised.started_ts, title, details)
        return None
    if health.state.is_up and raised is not None:
        recovered_ts = max(health.since_ts, raised.started_ts)
        down_s = recovered_ts - raised.started_ts
        recovery: dict[str, object] = {
            "recovered_at": from_ts(recovered_ts),
            "down_s": round(down_s, 1),
            "resolution": f"the camera recovered ({health.state.value}) after {down_s:.0f} s",
        }
        return _event(camera, EventPhase.END, recovered_ts, raised.started_ts, raised.title, recovery)
    return None


def _event(
    camera: CameraConfig,
    phase: EventPhase,
    at_ts: float,
    started_ts: float,
    title: str,
    details: Mapping[str, object],
    *,
    request_clip: bool = False,
) -> Event:
    return Event(
        camera_id=camera.id,
        kind=CAMERA_HEALTH_KIND,
        zone=CAMERA_ZONE,
        phase=phase,
        at_ts=at_ts,
        started_ts=started_ts,
        severity=Severity.HIGH,
        title=title,
        details=_jsonable(details),
        request_clip=request_clip,
    )


def _title(camera: CameraConfig, health: Health) -> str:
    label = _LABELS.get(health.state, health.state.value)
    return f"Camera {camera.name} {label}: {health.reason or 'no reason given'}"[:200]


def _jsonable(details: Mapping[str, object]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in details.items()}


# -- uptime -----------------------------------------------------------------------------------------


@dataclass
class UptimeTally:
    """Seconds a camera (or a group of cameras) spent up, down and starting within a period."""

    up_s: float = 0.0
    down_s: float = 0.0
    starting_s: float = 0.0
    by_state: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def monitored_s(self) -> float:
        """Seconds the service watched (the rest of the period it was not running)."""
        return self.up_s + self.down_s + self.starting_s

    @property
    def uptime(self) -> float | None:
        """Up time as a share of up and down time (starting counts as neither); None when never judged."""
        judged = self.up_s + self.down_s
        return self.up_s / judged if judged > 0 else None

    def add(self, state: CameraState, seconds: float) -> None:
        """Count ``seconds`` in ``state``."""
        if seconds <= 0:
            return
        self.by_state[state.value] += seconds
        if state.is_up:
            self.up_s += seconds
        elif state.is_down:
            self.down_s += seconds
        else:
            self.starting_s += seconds

    def merge(self, other: UptimeTally) -> None:
        """Add another tally's seconds to this one."""
        self.up_s += other.up_s
        self.down_s += other.down_s
        self.starting_s += other.starting_s
        for state, seconds in other.by_state.items():
            self.by_state[state] += seconds


def day_bounds(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """Local calendar days (in ``zone``) covering ``[start, end)``, clipped to it."""
    days = []
    local = start.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    while day_start < end:
        next_day = (day_start + timedelta(days=1, hours=2)).replace(hour=0, minute=0, second=0, microsecond=0)
        lo, hi = max(day_start, start), min(next_day, end)
        if lo < hi:
            days.append((lo, hi))
        day_start = next_day
    return days


def camera_uptime(
    start: datetime,
    end: datetime,
    now: datetime,
    zone: tzinfo,
    *,
    session: Session,
    camera_ids: Iterable[str] | None = None,
) -> dict[str, dict[str, UptimeTally]]:
    """Per camera, per local day (ISO date in ``zone``), the seconds up, down and starting in ``[start, end)``.

    An open span counts until ``now``; the future and unmonitored time count as nothing.
    """
    end = min(end, now)
    query = select(CameraStateSpan).where(
        CameraStateSpan.started_at < end,
        or_(CameraStateSpan.ended_at.is_(None), CameraStateSpan.ended_at > start),
    )
    if camera_ids is not None:
        query = query.where(CameraStateSpan.camera_id.in_(list(camera_ids)))
    days = day_bounds(start, end, zone) if start < end else []
    result: dict[str, dict[str, UptimeTally]] = defaultdict(dict)
    for span in session.scalars(query.order_by(CameraStateSpan.camera_id, CameraStateSpan.started_at)):
        span_end = span.ended_at or now
        for day_start, day_end in days:
            seconds = (min(span_end, day_end) - max(span.started_at, day_start)).total_seconds()
            if seconds > 0:
                key = day_start.astimezone(zone).date().isoformat()
                result[span.camera_id].setdefault(key, UptimeTally()).add(span.state, seconds)
    return dict(result)


def recent_exits(
    *, session: Session, since: datetime | None = None, camera_id: str | None = None, limit: int = 100
) -> list[ProcessExit]:
    """Child processes that died, newest first."""
    query = select(ProcessExit).order_by(ProcessExit.at.desc()).limit(limit)
    if since is not None:
        query = query.where(ProcessExit.at >= since)
    if camera_id is not None:
        query = query.where(ProcessExit.camera_id == camera_id)
    return list(session.scalars(query))
