"""The RTSP server killed mid-stream and started again after 5 s and after 60 s.

A real camera worker reads a real RTSP server; its status reports go through the supervisor's
bus consumer into a real SQLite store, where the health monitor opens and resolves camera health
incidents. The test measures how long each step takes and prints it (run with ``-s`` to see).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import CameraState, CameraStatus
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.health import CAMERA_HEALTH_KIND, HealthMonitor
from incidents.models import CameraStateSpan, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from ingest.simulator import Simulator
from runtime.bus import BusConsumer
from tests.ingest.workers import RunningWorker, make_camera, running_workers

pytestmark = pytest.mark.rtsp


@dataclass
class Pipeline:
    """Worker → bus consumer → store, driven by the test's own loop."""

    worker: RunningWorker
    consumer: BusConsumer
    health: HealthMonitor
    sessions: sessionmaker[Session]
    marks: dict[str, float] = field(default_factory=dict)
    _last_check: float = 0.0

    def pump(self) -> None:
        for status in self.worker.statuses[len(self._seen) :]:
            self.consumer.handle(status)
        self._seen.extend(self.worker.statuses[len(self._seen) :])
        if time.time() - self._last_check >= 1.0:
            self._last_check = time.time()
            self.consumer.check_health()

    def until(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
        """Wait for ``predicate`` while pumping; returns the time it became true."""

        def pumped() -> bool:
            self.pump()
            return predicate()

        assert self.worker.wait_for(pumped, timeout_s), f"{what} within {timeout_s} s: {self.worker.statuses[-3:]}"
        self.marks[what] = time.time()
        return self.marks[what]

    def health_incidents(self) -> list[Incident]:
        with session_scope(self.sessions) as session:
            rows = list(session.scalars(select(Incident).where(Incident.kind == CAMERA_HEALTH_KIND)))
            session.expunge_all()
            return rows

    def open_incident(self) -> bool:
        return any(i.ended_at is None for i in self.health_incidents())

    def resolved(self) -> bool:
        incidents = self.health_incidents()
        return bool(incidents) and all(i.status == IncidentStatus.RESOLVED for i in incidents)

    def __post_init__(self) -> None:
        self._seen: list[CameraStatus] = []


@pytest.fixture
def pipeline_for(tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    workers = running_workers(tmp_path)
    start = next(workers)
    engines = []

    def build(simulator: Simulator, **camera: object) -> Pipeline:
        config = AppConfig.model_validate(
            {"cameras": [make_camera(simulator.url("cam"), **camera).model_dump()]}  # type: ignore[arg-type]
        )
        url = f"sqlite:///{tmp_path / 'matakota.db'}"
        migrate(url)
        engine = make_engine(url)
        engines.append(engine)
        sessions = make_session_factory(engine)
        with session_scope(sessions) as session:
            sync_cameras(config, session=session)
        health = HealthMonitor(config)
        recorder = IncidentRecorder(sessions, EvidenceStore(tmp_path / "evidence"), config)
        consumer = BusConsumer(recorder, sessions, health=health)
        return Pipeline(start(config.cameras[0]), consumer, health, sessions)

    yield build
    for _ in workers:  # stops the workers
        pass
    for engine in engines:
        engine.dispose()


def _outage(
    rtsp_camera_server: Callable[..., Simulator],
    pipeline_for: Callable[..., Pipeline],
    down_s: float,
    **camera: object,
) -> Pipeline:
    server = rtsp_camera_server({"cam": "bgslibrary-video02.avi"})
    p = pipeline_for(server, **camera)
    p.until(lambda: p.worker.state == CameraState.ONLINE, 20, "online")
    before = p.worker.next_frame().seq
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)  # a power cut at the camera: no goodbye on the connection
    killed = time.time()
    server.stop()
    p.until(lambda: p.worker.state == CameraState.OFFLINE, 30, "offline")
    p.until(p.open_incident, 60, "incident opened")
    remaining = down_s - (time.time() - killed)
    assert remaining > 0, f"the camera took longer than the {down_s} s outage to be reported: {p.marks}"
    p.until(lambda: time.time() - killed >= down_s, down_s + 5, "outage over")
    server.start()
    restarted = time.time()
    p.until(lambda: p.worker.state == CameraState.ONLINE, 60, "online again")
    p.until(p.resolved, 30, "incident resolved")
    p.worker.reader.get_latest()  # let go of a frame from before the outage
    assert p.worker.next_frame(timeout_s=10).seq > before  # frames flow again
    figures = {
        "outage_s": down_s,
        "offline_after_kill_s": round(p.marks["offline"] - killed, 1),
        "incident_after_kill_s": round(p.marks["incident opened"] - killed, 1),
        "online_after_restart_s": round(p.marks["online again"] - restarted, 1),
        "resolved_after_restart_s": round(p.marks["incident resolved"] - restarted, 1),
    }
    print(f"\ncamera outage: {json.dumps(figures)}")
    (incident,) = p.health_incidents()
    assert incident.details["auto_resolved"] is True and incident.title.startswith("Camera Test camera offline")
    with session_scope(p.sessions) as session:
        states = [s.state for s in session.scalars(select(CameraStateSpan).order_by(CameraStateSpan.started_at))]
    assert states[-3:] == [CameraState.ONLINE, CameraState.OFFLINE, CameraState.ONLINE], states
    return p


def test_a_five_second_outage(
    rtsp_camera_server: Callable[..., Simulator], pipeline_for: Callable[..., Pipeline]
) -> None:
    _outage(
        rtsp_camera_server,
        pipeline_for,
        5.0,
        health={"incident_after_s": 2},
        offline_after_s=1.5,
        read_timeout_s=1,
        reconnect_initial_s=0.5,
        reconnect_max_s=2,
    )


def test_a_sixty_second_outage_with_the_default_backoff(
    rtsp_camera_server: Callable[..., Simulator], pipeline_for: Callable[..., Pipeline]
) -> None:
    """The shipped reconnect schedule (1 s doubling to a 30 s ceiling, with jitter)."""
    p = _outage(
        rtsp_camera_server,
        pipeline_for,
        60.0,
        health={"incident_after_s": 20},
        offline_after_s=5,
        read_timeout_s=5,
        reconnect_initial_s=1,
        reconnect_max_s=30,
    )
    assert p.worker.statuses[-1].reconnects >= 4  # it kept trying through the outage
