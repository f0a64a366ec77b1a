"""The events of camera health incidents: what the monitor says when, and what the recorder makes of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import CameraState, CameraStatus, ClipRequest, Event, EventPhase, Severity
from incidents.cameras import record_status, sync_cameras
from incidents.db import session_scope
from incidents.health import (
    CAMERA_HEALTH_KIND,
    CAMERA_ZONE,
    Health,
    HealthMonitor,
    RaisedIncident,
    health_event,
)
from incidents.models import EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.types import from_ts
from tests.incidents.helpers import T0, make_config

START, UPDATE, END = EventPhase.START, EventPhase.UPDATE, EventPhase.END
CAMERA = make_config().cameras[0]  # simpang_lima: health.incident_after_s 60 (the default)
REFUSED = Health(CameraState.OFFLINE, "connection refused", T0)
RAISED = RaisedIncident(
    started_ts=T0, last_seen_ts=T0 + 60, title="Camera Simpang Lima offline: connection refused", state="offline"
)


@pytest.mark.parametrize(
    ("health", "raised", "now_ts", "expected"),
    [
        (REFUSED, None, T0 + 59, None),  # down for less than the limit
        (REFUSED, None, T0 + 60, (START, T0 + 60, T0)),  # down for the limit: from when it went down
        (Health(CameraState.TAMPERED, "frozen", T0), None, T0 + 61, (START, T0 + 61, T0)),
        (REFUSED, RAISED, T0 + 80, None),  # the same failure, seen 20 s ago: nothing to write
        (REFUSED, RAISED, T0 + 91, (UPDATE, T0 + 91, T0)),  # still down: refresh last seen every 30 s
        (Health(CameraState.OFFLINE, "timed out", T0 + 70), RAISED, T0 + 75, (UPDATE, T0 + 75, T0)),  # new reason
        (Health(CameraState.AUTH_FAILED, "401", T0 + 70), RAISED, T0 + 71, (UPDATE, T0 + 71, T0)),  # new state
        (Health(CameraState.ONLINE, None, T0 + 200), RAISED, T0 + 205, (END, T0 + 200, T0)),  # back: ends then
        (Health(CameraState.DEGRADED, "few frames", T0 + 200), RAISED, T0 + 205, (END, T0 + 200, T0)),
        (Health(CameraState.ONLINE, None, T0 + 200), None, T0 + 205, None),
        (Health(CameraState.STARTING, "waiting for its worker", T0), None, T0 + 100, None),  # not judged yet
        (Health(CameraState.STARTING, "waiting for its worker", T0 + 70), RAISED, T0 + 80, None),
    ],
    ids=[
        "down under the limit",
        "down for the limit",
        "tampered for the limit",
        "unchanged failure",
        "unchanged failure 30 s on",
        "new reason",
        "new state",
        "recovered",
        "recovered degraded",
        "up without an incident",
        "starting",
        "starting with an incident",
    ],
)
def test_the_monitor_emits_start_update_and_end_as_the_camera_fails_and_recovers(
    health: Health, raised: RaisedIncident | None, now_ts: float, expected: tuple[EventPhase, float, float] | None
) -> None:
    event = health_event(CAMERA, health, raised, now_ts)
    assert (None if event is None else (event.phase, event.at_ts, event.started_ts)) == expected
    if event is not None:
        assert (event.camera_id, event.kind, event.zone) == ("simpang_lima", CAMERA_HEALTH_KIND, CAMERA_ZONE)
        assert event.severity == Severity.HIGH


@pytest.mark.parametrize(
    ("state", "title", "request_clip"),
    [
        (CameraState.OFFLINE, "Camera Simpang Lima offline: why", False),  # no packets: no clip bound to fail
        (CameraState.AUTH_FAILED, "Camera Simpang Lima refuses the login: why", False),
        (CameraState.TAMPERED, "Camera Simpang Lima tampered: why", True),  # frozen, black or blurred video
    ],
)
def test_a_start_asks_for_a_clip_only_when_the_camera_still_sends_video(
    state: CameraState, title: str, request_clip: bool
) -> None:
    event = health_event(CAMERA, Health(state, "why", T0), None, T0 + 60)
    assert event is not None and event.phase == START
    assert (event.title, event.request_clip, event.snapshot_jpeg) == (title, request_clip, None)
    assert event.details == {"state": state.value, "reason": "why", "down_since": from_ts(T0).isoformat()}


def test_an_end_carries_the_recovery_time_and_the_downtime() -> None:
    event = health_event(CAMERA, Health(CameraState.ONLINE, None, T0 + 198.4), RAISED, T0 + 200)
    assert event is not None and event.phase == END and event.title == RAISED.title
    assert event.details == {
        "recovered_at": from_ts(T0 + 198.4).isoformat(),
        "down_s": 198.4,
        "resolution": "the camera recovered (online) after 198 s",
    }


# -- through the recorder, on a real SQLite file ----------------------------------------------------


class Camera:
    """One camera's reports into a monitor whose events go to a real recorder, as the bus wires them."""

    def __init__(self, config: AppConfig, factory: sessionmaker[Session], recorder: IncidentRecorder) -> None:
        self.factory, self.recorder = factory, recorder
        self.monitor = HealthMonitor(config, clock=lambda: T0)
        self.requests: list[ClipRequest] = []

    def reports(self, state: CameraState, since: float, until: float, reason: str | None = None) -> list[Event]:
        """Both cameras report every 5 s from ``since`` to ``until``; simpang_lima in ``state``; checked each time."""
        events = []
        for at in range(int(since), int(until) + 1, 5):
            with session_scope(self.factory) as session:
                for status in (
                    CameraStatus("simpang_lima", state, reason, since, at),
                    CameraStatus("ampera", CameraState.ONLINE, None, T0, at),
                ):
                    record_status(status, session=session)
                    self.monitor.on_status(status, session=session)
            events.extend(self.check(at))
        return events

    def check(self, now_ts: float) -> list[Event]:
        with session_scope(self.factory) as session:
            events = self.monitor.check(session=session, now_ts=now_ts)
        for event in events:
            request = self.recorder.handle_event(event)
            if request is not None:
                self.requests.append(request)
        return events

    def incidents(self) -> list[Incident]:
        with session_scope(self.factory) as session:
            incidents = list(session.scalars(select(Incident).order_by(Incident.id)))
            for incident in incidents:
                _ = incident.evidence  # load while the session is open
            session.expunge_all()
            return incidents


@pytest.fixture
def camera(config: AppConfig, session_factory: sessionmaker[Session], recorder: IncidentRecorder) -> Iterator[Camera]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    yield Camera(config, session_factory, recorder)


def _phases(events: list[Event]) -> list[EventPhase]:
    return [e.phase for e in events]


def test_an_outage_opens_follows_and_resolves_one_incident_through_the_recorder(camera: Camera) -> None:
    assert camera.reports(CameraState.OFFLINE, T0, T0 + 55, "connection refused") == []
    assert _phases(camera.reports(CameraState.OFFLINE, T0, T0 + 65, "connection refused")) == [START]
    assert _phases(camera.reports(CameraState.AUTH_FAILED, T0 + 70, T0 + 80, "401")) == [UPDATE]
    assert _phases(camera.reports(CameraState.ONLINE, T0 + 90, T0 + 100)) == [END]

    (incident,) = camera.incidents()
    assert (incident.kind, incident.zone, incident.status) == (CAMERA_HEALTH_KIND, CAMERA_ZONE, IncidentStatus.RESOLVED)
    assert (incident.started_at, incident.ended_at) == (from_ts(T0), from_ts(T0 + 90))
    assert incident.title == "Camera Simpang Lima refuses the login: 401"
    assert incident.details["state"] == "auth_failed" and incident.details["auto_resolved"] is True
    assert incident.details["down_s"] == 90 and incident.details["recovered_at"] == from_ts(T0 + 90).isoformat()
    assert incident.evidence == [] and camera.requests == []  # offline: no clip asked of a camera without video


def test_a_camera_failing_again_within_five_minutes_continues_its_incident_and_counts_flaps(camera: Camera) -> None:
    camera.reports(CameraState.OFFLINE, T0, T0 + 60, "stream ended")
    camera.reports(CameraState.ONLINE, T0 + 65, T0 + 70)
    camera.reports(CameraState.OFFLINE, T0 + 75, T0 + 135, "stream ended")  # 10 s after recovering
    camera.reports(CameraState.ONLINE, T0 + 140, T0 + 145)
    events = camera.reports(CameraState.TAMPERED, T0 + 400, T0 + 460, "frozen")  # 260 s after recovering
    assert _phases(events) == [START]

    (incident,) = camera.incidents()
    assert incident.status == IncidentStatus.NEW and incident.ended_at is None
    assert incident.details["flaps"] == 2 and incident.started_at == from_ts(T0)
    assert "auto_resolved" not in incident.details and "resolution" not in incident.details  # open again
    assert incident.title == "Camera Simpang Lima tampered: frozen"

    camera.reports(CameraState.ONLINE, T0 + 470, T0 + 475)
    (incident,) = camera.incidents()
    assert incident.status == IncidentStatus.RESOLVED and incident.details["flaps"] == 2


def test_a_camera_failing_again_after_five_minutes_opens_a_new_incident(camera: Camera) -> None:
    camera.reports(CameraState.OFFLINE, T0, T0 + 60, "stream ended")
    camera.reports(CameraState.ONLINE, T0 + 65, T0 + 70)
    camera.reports(CameraState.OFFLINE, T0 + 370, T0 + 430, "stream ended")  # 305 s after recovering
    first, second = camera.incidents()
    assert first.status == IncidentStatus.RESOLVED and second.status == IncidentStatus.NEW
    assert "flaps" not in second.details


def test_an_incident_an_operator_resolved_is_not_continued(camera: Camera) -> None:
    camera.reports(CameraState.OFFLINE, T0, T0 + 60, "stream ended")
    with session_scope(camera.factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None
        incident.status, incident.ended_at = IncidentStatus.RESOLVED, from_ts(T0 + 62)  # by hand: camera replaced
    camera.reports(CameraState.OFFLINE, T0 + 70, T0 + 130, "stream ended")
    assert [i.status for i in camera.incidents()] == [IncidentStatus.RESOLVED, IncidentStatus.NEW]


def test_a_tampered_camera_gets_a_pending_clip_of_the_moment_the_limit_passed(camera: Camera) -> None:
    camera.reports(CameraState.TAMPERED, T0, T0 + 60, "black image")
    (request,) = camera.requests
    assert (request.camera_id, request.start_ts, request.end_ts) == ("simpang_lima", T0 + 60 - 4, T0 + 60 + 6)
    (incident,) = camera.incidents()
    (clip,) = incident.evidence
    assert (clip.kind, clip.status, clip.request_id) == (EvidenceKind.CLIP, EvidenceStatus.PENDING, request.request_id)


def test_an_event_that_was_lost_is_given_again_at_the_next_check(camera: Camera) -> None:
    camera.reports(CameraState.OFFLINE, T0, T0 + 55, "connection refused")
    with session_scope(camera.factory) as session:
        lost = camera.monitor.check(session=session, now_ts=T0 + 61)  # the database was busy: never recorded
    assert _phases(lost) == [START] and camera.incidents() == []
    assert _phases(camera.check(T0 + 62)) == [START]
    assert len(camera.incidents()) == 1
    assert camera.check(T0 + 63) == []


def test_a_restarted_monitor_ends_the_incident_a_previous_run_left_open(
    camera: Camera, config: AppConfig, session_factory: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    camera.reports(CameraState.OFFLINE, T0, T0 + 60, "connection refused")
    restarted = Camera(config, session_factory, recorder)
    assert _phases(restarted.reports(CameraState.ONLINE, T0 + 600, T0 + 600)) == [END]
    (incident,) = restarted.incidents()
    assert incident.status == IncidentStatus.RESOLVED and incident.ended_at == from_ts(T0 + 600)
