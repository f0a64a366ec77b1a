"""Camera health over time on a real SQLite file: spans, self-resolving health incidents, uptime per day.

The monitor's events go to a real recorder, as the supervisor's bus hands them over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import CameraState, CameraStatus, Event, Severity
from incidents.cameras import REASON_LENGTH, record_status, sync_cameras
from incidents.db import session_scope
from incidents.health import (
    CAMERA_HEALTH_KIND,
    CAMERA_ZONE,
    NOT_REPORTING,
    HealthMonitor,
    camera_uptime,
    day_bounds,
)
from incidents.models import Camera, CameraStateSpan, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import T0

WIB = ZoneInfo("Asia/Jakarta")
CAM = "simpang_lima"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Checked(HealthMonitor):
    """The monitor with its checks' events recorded, as the bus does (after the check's commit)."""

    def __init__(self, config: AppConfig, clock: Clock, recorder: IncidentRecorder) -> None:
        super().__init__(config, clock=clock)
        self.recorder = recorder
        self.events: list[Event] = []

    def check_and_record(self, factory: sessionmaker[Session], now_ts: float) -> None:
        with session_scope(factory) as session:
            events = self.check(session=session, now_ts=now_ts)
        for event in events:
            self.recorder.handle_event(event)
        self.events.extend(events)


@pytest.fixture
def monitor(
    config: AppConfig, session_factory: sessionmaker[Session], recorder: IncidentRecorder
) -> tuple[Checked, Clock]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    clock = Clock(T0)
    return Checked(config, clock, recorder), clock


def _status(state: CameraState, since: float, at: float, reason: str | None = None, camera: str = CAM) -> CameraStatus:
    return CameraStatus(camera_id=camera, state=state, reason=reason, since_ts=since, at_ts=at)


def _feed(
    factory: sessionmaker[Session], monitor: Checked, clock: Clock, status: CameraStatus, *, check: bool = True
) -> None:
    clock.now = status.at_ts
    with session_scope(factory) as session:
        record_status(status, session=session)
        monitor.on_status(status, session=session)
    if check:
        monitor.check_and_record(factory, status.at_ts)


def _health_incidents(factory: sessionmaker[Session]) -> list[Incident]:
    with session_scope(factory) as session:
        rows = session.scalars(select(Incident).where(Incident.kind == CAMERA_HEALTH_KIND).order_by(Incident.id))
        incidents = list(rows)
        for incident in incidents:
            _ = incident.evidence  # load while the session is open
        session.expunge_all()
        return incidents


def _reports(
    factory: sessionmaker[Session], monitor: Checked, clock: Clock, state: CameraState, since: float,
    until: float, reason: str | None = None, camera: str = CAM,
) -> None:  # fmt: skip
    """A worker reporting ``state`` every 5 s from ``since`` to ``until`` (both cameras keep reporting)."""
    at = since
    while at <= until:
        _feed(factory, monitor, clock, _status(state, since, at, reason, camera), check=False)
        other = "ampera" if camera == CAM else CAM
        _feed(factory, monitor, clock, _status(CameraState.ONLINE, T0, at, camera=other))
        at += 5


def test_an_outage_longer_than_the_limit_raises_a_health_incident_that_resolves_itself(
    monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    health, clock = monitor
    _reports(session_factory, health, clock, CameraState.ONLINE, T0, T0 + 100)
    _reports(session_factory, health, clock, CameraState.OFFLINE, T0 + 102, T0 + 160, "connection refused")
    assert _health_incidents(session_factory) == []  # 58 s offline: under the 60 s limit
    _reports(session_factory, health, clock, CameraState.OFFLINE, T0 + 102, T0 + 200, "connection refused")
    (incident,) = _health_incidents(session_factory)
    assert incident.camera_id == CAM and incident.ended_at is None and incident.status == IncidentStatus.NEW
    assert incident.started_at == datetime.fromtimestamp(T0 + 102, UTC)
    assert incident.title == "Camera Simpang Lima offline: connection refused"
    assert incident.severity == Severity.HIGH and incident.details["state"] == "offline"
    assert incident.zone == CAMERA_ZONE and incident.evidence == []  # offline: no video, so no clip asked for

    _reports(session_factory, health, clock, CameraState.AUTH_FAILED, T0 + 203, T0 + 230, "authentication refused")
    (incident,) = _health_incidents(session_factory)
    assert "refuses the login" in incident.title and incident.details["state"] == "auth_failed"

    _reports(session_factory, health, clock, CameraState.ONLINE, T0 + 300, T0 + 310)
    (incident,) = _health_incidents(session_factory)
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.ended_at == datetime.fromtimestamp(T0 + 300, UTC)
    assert incident.details["auto_resolved"] is True and "198 s" in incident.details["resolution"]


def test_a_camera_failing_again_soon_continues_its_incident(
    monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    health, clock = monitor
    _reports(session_factory, health, clock, CameraState.OFFLINE, T0, T0 + 70, "stream ended")
    _reports(session_factory, health, clock, CameraState.ONLINE, T0 + 75, T0 + 100)
    _reports(session_factory, health, clock, CameraState.TAMPERED, T0 + 105, T0 + 170, "frozen: the same image")
    (incident,) = _health_incidents(session_factory)
    assert incident.status == IncidentStatus.NEW and incident.ended_at is None
    assert incident.details["flaps"] == 1 and "tampered: frozen" in incident.title


def test_a_worker_that_stops_reporting_is_offline_and_raises_an_incident(
    monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    health, clock = monitor
    _reports(session_factory, health, clock, CameraState.ONLINE, T0, T0 + 30)
    # silence: the worker died
    assert health.current(CAM, T0 + 40).state == CameraState.ONLINE  # one missed report is not silence
    health.check_and_record(session_factory, T0 + 50)
    assert health.current(CAM, T0 + 50).reason == NOT_REPORTING
    health.check_and_record(session_factory, T0 + 100)
    incidents = _health_incidents(session_factory)
    assert {i.camera_id for i in incidents} == {CAM, "ampera"}  # both workers went silent
    (incident,) = [i for i in incidents if i.camera_id == CAM]
    assert NOT_REPORTING in incident.title
    assert incident.started_at == datetime.fromtimestamp(T0 + 30, UTC)  # from its last report
    with session_scope(session_factory) as session:
        states = [s.state for s in session.scalars(select(CameraStateSpan).where(CameraStateSpan.camera_id == CAM))]
    assert states == [CameraState.ONLINE, CameraState.OFFLINE]


def test_a_reason_longer_than_its_column_is_stored_cut_on_every_database(
    monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    """PostgreSQL refuses what overflows a VARCHAR (SQLite keeps it): a long decoder error must not lose the report."""
    health, clock = monitor
    _feed(session_factory, health, clock, _status(CameraState.OFFLINE, T0, T0, "decoder: " + "x" * 2000), check=False)
    with session_scope(session_factory) as session:
        camera = session.get(Camera, CAM)
        span = session.scalars(select(CameraStateSpan).where(CameraStateSpan.camera_id == CAM)).one()
        stored = [camera.state_reason if camera else None, span.reason]
    assert [(len(r or ""), (r or "")[:10], (r or "")[-1:]) for r in stored] == [(REASON_LENGTH, "decoder: x", "…")] * 2


def test_uptime_per_local_day_counts_up_and_down_time_and_not_unmonitored_time(
    monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    health, clock = monitor
    # T0 is 22:06:40 WIB; local midnight is T0 + 6800. Offline for 30 minutes across it.
    _reports(session_factory, health, clock, CameraState.ONLINE, T0, T0 + 6000)
    _reports(session_factory, health, clock, CameraState.OFFLINE, T0 + 6000, T0 + 7800, "connection refused")
    _reports(session_factory, health, clock, CameraState.ONLINE, T0 + 7800, T0 + 9000)
    with session_scope(session_factory) as session:
        report = camera_uptime(
            datetime.fromtimestamp(T0 - 86400, UTC),
            datetime.fromtimestamp(T0 + 86400, UTC),
            datetime.fromtimestamp(T0 + 9000, UTC),
            WIB,
            session=session,
            camera_ids=[CAM],
        )
    days = report[CAM]
    assert sorted(days) == ["2025-06-15", "2025-06-16"]
    first, second = days["2025-06-15"], days["2025-06-16"]
    assert datetime(2025, 6, 16, tzinfo=WIB).timestamp() == T0 + 6800
    assert (first.up_s, first.down_s) == (pytest.approx(6000), pytest.approx(800))
    assert (second.up_s, second.down_s) == (pytest.approx(1200), pytest.approx(1000))
    assert first.uptime is not None and 0 < first.uptime < 1
    assert first.by_state["offline"] == pytest.approx(first.down_s)


def test_recover_closes_spans_left_open_by_a_previous_run_at_the_last_report(
    config: AppConfig, monitor: tuple[Checked, Clock], session_factory: sessionmaker[Session]
) -> None:
    health, clock = monitor
    _reports(session_factory, health, clock, CameraState.ONLINE, T0, T0 + 60)
    restarted = HealthMonitor(config, clock=Clock(T0 + 3600))
    with session_scope(session_factory) as session:
        assert restarted.recover(session=session) == 2
    with session_scope(session_factory) as session:
        span = session.scalars(select(CameraStateSpan).where(CameraStateSpan.camera_id == CAM)).one()
        assert span.ended_at == datetime.fromtimestamp(T0 + 60, UTC)
        report = camera_uptime(
            datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 3600, UTC),
            datetime.fromtimestamp(T0 + 3600, UTC), WIB, session=session,
        )  # fmt: skip
    (tally,) = report[CAM].values()
    assert tally.up_s == pytest.approx(60) and tally.monitored_s == pytest.approx(60)  # the rest was not watched


def test_day_bounds_follow_the_local_calendar() -> None:
    start = datetime(2025, 6, 15, 20, 0, tzinfo=UTC)  # 03:00 WIB on the 16th
    end = start + timedelta(days=1)
    days = day_bounds(start, end, WIB)
    assert [d[0].astimezone(WIB).isoformat() for d in days] == [
        "2025-06-16T03:00:00+07:00",
        "2025-06-17T00:00:00+07:00",
    ]
    assert sum((hi - lo).total_seconds() for lo, hi in days) == 86400
