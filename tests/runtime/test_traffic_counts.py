"""Traffic counts end to end: real footage through the analytics loop, onto the bus, into SQLite."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest

from core.config_loader import parse_config
from core.messages import Frame, TrafficCount
from core.settings import Settings
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from incidents.traffic import traffic_series
from runtime.bus import BusConsumer
from runtime.detect_loop import DetectLoop

START_TS = 1_800_000_000.0  # a whole minute
CLIP_FPS = 25

# bgslibrary-video02.avi, a motorway: the line crosses the right carriageway, where vehicles drive
# away from the camera (up the picture, so "out").
CONFIG = """
version: 1
cameras:
  - id: motorway
    name: Motorway
    inputs:
      - url: rtsp://127.0.0.1:8554/motorway
        roles: [detect]
    location: {lat: -2.98, lon: 104.75}
    detect: {fps: 5}
    lines:
      - name: right_carriageway
        a: [0.45, 0.55]
        b: [0.95, 0.55]
        in_label: towards the camera
        out_label: away from the camera
"""


@pytest.mark.weights
def test_counts_from_real_footage_reach_the_database_once_their_minute_is_over(
    settings: Settings, assets_dir: Path, tmp_path: Path
) -> None:
    config = parse_config(CONFIG)
    bus: queue.Queue[object] = queue.Queue()
    loop = DetectLoop(config, settings, {}, bus, threading.Event())
    capture = cv2.VideoCapture(str(assets_dir / "footage" / "bgslibrary-video02.avi"))
    index = 0
    ok, image = capture.read()
    while ok:
        if index % (CLIP_FPS // 5) == 0:
            loop.step(Frame("motorway", index, START_TS + index / CLIP_FPS, image))
            last = image
        index += 1
        ok, image = capture.read()
    capture.release()
    assert not [m for m in bus.queue if isinstance(m, TrafficCount)]  # the minute is still open
    loop.step(Frame("motorway", index, START_TS + 60, last))
    counts = [m for m in list(bus.queue) if isinstance(m, TrafficCount)]
    assert counts and {(c.camera_id, c.line, c.bucket_start_ts) for c in counts} == {
        ("motorway", "right_carriageway", START_TS)
    }

    url = f"sqlite:///{tmp_path / 'matakota.db'}"
    migrate(url)
    sessions = make_session_factory(make_engine(url))
    with session_scope(sessions) as session:
        sync_cameras(config, session=session)
    consumer = BusConsumer(IncidentRecorder(sessions, EvidenceStore(tmp_path / "evidence"), config), sessions)
    for message in counts:
        consumer.handle(message)
    start = datetime.fromtimestamp(START_TS, UTC)
    with session_scope(sessions) as session:
        series = traffic_series("motorway", start, start + timedelta(hours=1), 15, session=session)
    totals = {(s.direction, s.class_name): s.total for s in series}
    away = sum(n for (direction, _), n in totals.items() if direction == "out")
    # Counted at 25 fps the same line gives 22 vehicles driving away in these 30 s.
    assert 16 <= away <= 28, totals
    assert sum(n for (direction, _), n in totals.items() if direction == "in") <= 1, totals
