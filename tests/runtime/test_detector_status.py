"""The detector's status: reported by the analytics loop every few seconds, stored by the bus consumer."""

from __future__ import annotations

import queue
import threading
import time
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import DetectorStatus
from core.settings import Settings
from incidents.components import DETECTOR_KIND, is_stale, list_components
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from ingest.frameslots import FrameSlots, capacity_for
from runtime import detect_loop
from runtime.bus import BusConsumer
from runtime.detect_loop import DetectLoop
from tests.incidents.helpers import T0, make_config


def _status(frames_total: int, at_ts: float = T0) -> DetectorStatus:
    return DetectorStatus(
        name="yolo11n-int8-openvino",
        model="yolo11n_int8_openvino_model",
        at_ts=at_ts,
        inference_ms=12.0,
        frames_per_s=9.5,
        queue_depth=1,
        frames_total=frames_total,
        skipped_total=4,
    )


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'matakota.db'}"
    migrate(url)
    return make_session_factory(make_engine(url))


def test_the_bus_keeps_the_latest_detector_status_in_one_row(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    config = make_config()
    consumer = BusConsumer(IncidentRecorder(sessions, EvidenceStore(tmp_path / "evidence"), config), sessions)
    consumer.handle(_status(100))
    consumer.handle(_status(250, at_ts=T0 + 5))
    with session_scope(sessions) as session:
        (row,) = list_components(DETECTOR_KIND, session=session)
        assert (row.name, row.kind) == ("yolo11n-int8-openvino", "detector")
        assert row.metrics["frames_total"] == 250 and row.metrics["model"] == "yolo11n_int8_openvino_model"
        assert row.updated_at.timestamp() == T0 + 5
        assert not is_stale(row, row.updated_at + timedelta(seconds=10))
        assert is_stale(row, row.updated_at + timedelta(seconds=20))
        assert list_components("camera", session=session) == []


@pytest.mark.weights
def test_the_analytics_loop_reports_its_detector_with_frames_counted(
    settings: Settings, assets_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detect_loop, "STATUS_INTERVAL_S", 0.5)
    config: AppConfig = make_config()
    frames = {
        c.id: FrameSlots.create(tmp_path / f"{c.id}.frames", c.id, capacity_for(c.detect.max_width))
        for c in config.enabled_cameras
    }
    image = cv2.imread(str(assets_dir / "images" / "ultralytics-bus.jpg"))
    bus: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    loop = DetectLoop(config, settings, frames, bus, stop)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            frames["simpang_lima"].put(image, time.time())
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    reports = [m for m in list(bus.queue) if isinstance(m, DetectorStatus)]
    assert len(reports) >= 3
    assert {(r.name, r.model) for r in reports} == {("yolo11n-int8-openvino", "yolo11n_int8_openvino_model")}
    totals = [r.frames_total for r in reports]
    assert totals == sorted(totals) and totals[-1] > 0
    busy = [r for r in reports if r.frames_per_s > 0]
    assert busy and all(r.inference_ms > 0 for r in busy)
    assert all(0 <= r.queue_depth <= 1 for r in reports)  # one camera sends frames: at most one waits
    assert 0 <= reports[-1].skipped_total <= frames["simpang_lima"].dropped
