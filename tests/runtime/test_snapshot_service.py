"""The snapshot service on real frames of real footage: a pending request becomes a JPEG of a fresh frame, or fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import Frame, Image
from core.settings import Settings
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.snapshots import SnapshotRequest, SnapshotStatus, get_snapshot, request_snapshot
from incidents.types import from_ts
from runtime.detect_loop import DetectLoop
from runtime.snapshot_service import SnapshotService
from tests.incidents.helpers import T0, make_config

CAMERA = "simpang_lima"


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def footage_frames(assets_dir: Path) -> list[Image]:
    with av.open(str(assets_dir / "footage" / "bgslibrary-video02.avi")) as container:
        decoded = zip(range(6), container.decode(video=0), strict=False)
        return [np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8) for _, frame in decoded]


@pytest.fixture(scope="module")
def assets_dir() -> Path:
    from tests.conftest import ASSETS

    return ASSETS


@pytest.fixture
def engine(fresh_db_url: str) -> Iterator[Engine]:
    migrate(fresh_db_url)
    engine = make_engine(fresh_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def config() -> AppConfig:
    return make_config()


@pytest.fixture
def sessions(engine: Engine, config: AppConfig) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        sync_cameras(config, session=session)
    return factory


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def clock() -> _Clock:
    return _Clock(T0)


@pytest.fixture
def service(sessions: sessionmaker[Session], store: EvidenceStore, clock: _Clock) -> SnapshotService:
    return SnapshotService(sessions, store, [CAMERA, "ampera"], poll_interval_s=0.5, clock=clock)


def _ask(sessions: sessionmaker[Session], at_ts: float, camera_id: str = CAMERA, timeout_s: float = 10) -> int:
    with session_scope(sessions) as session:
        return request_snapshot(
            camera_id, session=session, requested_by="sari", timeout_s=timeout_s, now=from_ts(at_ts)
        ).id


def _stored(sessions: sessionmaker[Session], snapshot_id: int) -> SnapshotRequest:
    with session_scope(sessions) as session:
        return get_snapshot(snapshot_id, session=session)


def test_a_pending_request_becomes_a_jpeg_of_the_next_fresh_frame(
    service: SnapshotService, sessions: sessionmaker[Session], store: EvidenceStore, footage_frames: list[Image]
) -> None:
    snapshot_id = _ask(sessions, T0)
    assert service.run_once() == 0  # the first round learns what is pending
    service.offer(Frame(CAMERA, 1, T0 - 0.2, footage_frames[0]))  # taken before the request: not it
    assert service.run_once() == 0
    assert _stored(sessions, snapshot_id).status == SnapshotStatus.PENDING
    service.offer(Frame(CAMERA, 2, T0 + 0.25, footage_frames[1]))
    assert service.run_once() == 1

    ready = _stored(sessions, snapshot_id)
    assert ready.status == SnapshotStatus.READY and ready.error is None
    assert ready.frame_at == from_ts(T0 + 0.25) and ready.frame_at > ready.requested_at
    assert ready.path == f"snapshots/{CAMERA}/2025-06-15/{snapshot_id}.jpg"
    image = cv2.imdecode(np.frombuffer(store.path_for(ready.path).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == footage_frames[1].shape  # the whole frame, undrawn
    assert float(np.abs(image.astype(int) - footage_frames[1].astype(int)).mean()) < 4  # this frame, not another
    assert service.run_once() == 0  # answered once


def test_requests_of_one_camera_share_a_frame_and_a_later_one_waits_for_a_later_frame(
    service: SnapshotService, sessions: sessionmaker[Session], footage_frames: list[Image], clock: _Clock
) -> None:
    first, second = _ask(sessions, T0), _ask(sessions, T0 + 0.1)
    later = _ask(sessions, T0 + 1.0)
    other = _ask(sessions, T0, camera_id="ampera")
    service.run_once()
    service.offer(Frame(CAMERA, 1, T0 + 0.5, footage_frames[0]))
    assert service.run_once() == 2
    assert [_stored(sessions, i).status for i in (first, second, later, other)] == [
        "ready",
        "ready",
        "pending",
        "pending",
    ]
    assert _stored(sessions, first).path != _stored(sessions, second).path  # each request its own file

    clock.now = T0 + 1.5
    service.offer(Frame(CAMERA, 2, T0 + 1.2, footage_frames[1]))
    assert service.run_once() == 1
    assert _stored(sessions, later).frame_at == from_ts(T0 + 1.2)


def test_a_camera_that_sends_no_frame_fails_the_request_at_its_deadline(
    service: SnapshotService, sessions: sessionmaker[Session], footage_frames: list[Image], clock: _Clock
) -> None:
    snapshot_id = _ask(sessions, T0, timeout_s=2)
    service.run_once()
    service.offer(Frame("ampera", 1, T0 + 0.5, footage_frames[0]))  # another camera's frame does not count
    clock.now = T0 + 1.9
    service.run_once()
    assert _stored(sessions, snapshot_id).status == SnapshotStatus.PENDING
    clock.now = T0 + 2.5  # the next poll after the deadline
    service.run_once()
    failed = _stored(sessions, snapshot_id)
    assert failed.status == SnapshotStatus.FAILED
    assert failed.error == "camera sent no frame in 2 s"
    assert failed.path is None and failed.frame_at is None

    service.offer(Frame(CAMERA, 2, T0 + 2.6, footage_frames[1]))  # too late: it stays failed
    assert service.run_once() == 0
    assert _stored(sessions, snapshot_id).status == SnapshotStatus.FAILED


def test_a_broken_database_costs_the_loop_nothing_and_the_thread_survives(
    tmp_path: Path, store: EvidenceStore, footage_frames: list[Image], caplog: pytest.LogCaptureFixture
) -> None:
    never_migrated = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    service = SnapshotService(never_migrated, store, [CAMERA], poll_interval_s=0.05)
    service.start()
    try:
        started = time.perf_counter()
        for seq in range(200):
            service.offer(Frame(CAMERA, seq, time.time(), footage_frames[0]))
        assert (time.perf_counter() - started) / 200 < 0.001  # a dict look-up per frame, whatever the database does
        time.sleep(0.3)
        assert service._thread is not None and service._thread.is_alive()
    finally:
        service.stop()
    assert "snapshot" in caplog.text


class _Footage:
    """A frame source that hands out real footage frames stamped with the wall clock, like a camera worker."""

    def __init__(self, camera_id: str, images: list[Image]) -> None:
        self.camera_id, self.images, self.seq = camera_id, images, 0

    def get_latest(self) -> Frame | None:
        self.seq += 1
        return Frame(self.camera_id, self.seq, time.time(), self.images[self.seq % len(self.images)])

    @property
    def dropped(self) -> int:
        return 0


class _Bus:
    def put(self, item: object, /) -> None:
        pass


@pytest.mark.weights
def test_the_analytics_loop_offers_its_frames_and_a_request_is_answered(
    sessions: sessionmaker[Session], store: EvidenceStore, settings: Settings, footage_frames: list[Image]
) -> None:
    config = AppConfig.model_validate(
        {
            "cameras": [
                {
                    "id": CAMERA,
                    "name": "Simpang Lima",
                    "inputs": [{"url": "rtsp://127.0.0.1:1/cam", "roles": ["detect"]}],
                    "location": {"lat": -2.99, "lon": 104.75},
                }
            ]
        }
    )
    service = SnapshotService(sessions, store, [CAMERA], poll_interval_s=0.1)
    stop = threading.Event()
    loop = DetectLoop(config, settings, {CAMERA: _Footage(CAMERA, footage_frames)}, _Bus(), stop, snapshots=service)
    snapshot_id = _ask(sessions, time.time())
    service.start()
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while _stored(sessions, snapshot_id).status == SnapshotStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(10)
        service.stop()
    ready = _stored(sessions, snapshot_id)
    assert ready.status == SnapshotStatus.READY, ready.error
    assert ready.frame_at is not None and ready.frame_at >= ready.requested_at
    assert sum(loop._processed.values()) + loop._health["yolo11n-int8-openvino"].frames_total > 0  # it detected too
