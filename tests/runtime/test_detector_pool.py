"""The detector pool: worker processes with the real weights, batching, a killed worker, the analytics loop on it."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.detector import Detector
from core.config import AppConfig, DetectorsConfig
from core.messages import Event, Image
from core.settings import Settings
from ingest.frameslots import FrameSlots, capacity_for
from models.registry import resolve
from runtime.detect_loop import DetectLoop
from runtime.detector_pool import DetectorPool, DetectRequest, DetectResult

pytestmark = pytest.mark.weights

MODEL = "yolo11n-int8-openvino"


@pytest.fixture(scope="module")
def images() -> list[Image]:
    assets = Path(os.environ["CCTV_ASSETS_DIR"])
    bus = cv2.imread(str(assets / "images" / "ultralytics-bus.jpg"))
    capture = cv2.VideoCapture(str(assets / "footage" / "bgslibrary-video02.avi"))
    traffic = [capture.read()[1] for _ in range(3)]
    return [bus, *traffic]


@pytest.fixture(scope="module")
def pool() -> Iterator[DetectorPool]:
    settings = Settings(allow_downloads=False)
    model = resolve(MODEL, settings)
    config = DetectorsConfig(workers=1, batch_size=4, max_wait_ms=200, timeout_s=10)
    # Inbox slots for 640x480: the traffic frames travel through shared memory, the bus photo through the pipe.
    models = {MODEL: (model.path, model.spec.task)}
    started = DetectorPool(config, settings, models, queue_size=16, frame_bytes=capacity_for(640))
    started.start()
    yield started
    started.stop()
    assert started.alive() == 0


def _request(request_id: int, image: Image, confidence: float = 0.3) -> DetectRequest:
    return DetectRequest(request_id, f"cam_{request_id}", request_id, MODEL, 640, confidence, image)


def _answers(pool: DetectorPool, count: int, timeout_s: float = 20.0) -> dict[int, DetectResult]:
    answers: dict[int, DetectResult] = {}
    deadline = time.monotonic() + timeout_s
    while len(answers) < count:
        result = pool.results.get(timeout=max(0.01, deadline - time.monotonic()))
        answers[result.request_id] = result
    return answers


def test_pool_answers_equal_the_detector_in_this_process_and_come_batched(
    pool: DetectorPool, images: list[Image]
) -> None:
    local = Detector(resolve(MODEL, Settings(allow_downloads=False)).path)
    expected = [local.detect([image], confidence=0.3)[0] for image in images]
    batches = pool.stats.batches
    for index, image in enumerate(images):  # queued together within max_wait_ms: one batch of 4
        assert pool.submit(_request(index, image))
    answers = _answers(pool, len(images))
    assert pool.stats.batches == batches + 1 and pool.stats.max_batch == len(images)
    for index, want in enumerate(expected):
        got = answers[index]
        assert got.detections is not None and got.batch == len(images) and got.inference_ms > 0
        assert (got.camera_id, got.seq) == (f"cam_{index}", index)
        assert got.detections.count_by_class() == want.count_by_class()
        assert np.allclose(got.detections.xyxy, want.xyxy, atol=2.0)
        assert np.allclose(got.detections.confidence, want.confidence, atol=0.03)
    assert answers[0].detections is not None and answers[0].detections.count_by_class().get("bus") == 1


def test_a_batch_is_split_by_confidence_into_one_call_per_group(pool: DetectorPool, images: list[Image]) -> None:
    for index, confidence in enumerate((0.3, 0.7, 0.3, 0.7)):
        pool.submit(_request(100 + index, images[0], confidence))
    answers = _answers(pool, 4)
    assert {a.batch for a in answers.values()} == {2}
    low, high = answers[100].detections, answers[101].detections
    assert low is not None and high is not None and len(high) < len(low)


def test_a_worker_killed_with_sigkill_is_replaced_and_its_requests_dropped(
    pool: DetectorPool, images: list[Image]
) -> None:
    (pid,) = pool.pids()
    restarts = pool.stats.restarts
    for index, image in enumerate(images):
        pool.submit(_request(200 + index, image))
    deadline = time.monotonic() + 5
    while not pool.in_flight():  # handed to the worker (after max_wait_ms)
        assert time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    lost = _answers(pool, len(images), timeout_s=5)  # answered as dropped, not left hanging
    assert all(a.detections is None and a.error == "detector worker 0 died" for a in lost.values())
    deadline = time.monotonic() + 30
    while not (pool.stats.restarts > restarts and pool.pids() and pool.pids() != [pid]):
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.1)
    pool.submit(_request(210, images[0]))  # waits in the queue while the new worker loads its model
    (answer,) = _answers(pool, 1, timeout_s=30).values()
    assert answer.detections is not None and answer.detections.count_by_class().get("bus") == 1


def test_a_request_no_worker_takes_in_time_is_dropped_at_its_deadline(images: list[Image]) -> None:
    settings = Settings(allow_downloads=False)
    model = resolve(MODEL, settings)
    idle = DetectorPool(DetectorsConfig(workers=0, timeout_s=0.3), settings, {MODEL: (model.path, "detect")})
    idle.start()  # no worker at all: nothing will ever answer
    try:
        started = time.monotonic()
        assert idle.submit(_request(1, images[0]))
        result = idle.results.get(timeout=3)
        assert result.detections is None and result.error == "deadline passed"
        assert 0.25 < time.monotonic() - started < 1.5
    finally:
        idle.stop()


def _loop_config(cameras: int) -> AppConfig:
    return AppConfig.model_validate(
        {
            "detectors": {"workers": 2, "batch_size": 4, "max_wait_ms": 5},
            "cameras": [
                {
                    "id": f"cam_{i}",
                    "name": f"Camera {i}",
                    "inputs": [{"url": f"rtsp://127.0.0.1:1/cam_{i}", "roles": ["detect"]}],
                    "location": {"lat": -2.98, "lon": 104.76},
                    "detect": {"motion_gating": False},
                    "zones": [{"name": "road", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
                    "rules": [
                        {
                            "type": "congestion",
                            "zone": "road",
                            "classes": ["person"],
                            "min_vehicles": 3,
                            "min_duration_s": 0.5,
                        }
                    ],
                }
                for i in range(cameras)
            ],
        }
    )


def test_the_analytics_loop_on_two_workers_raises_events_for_every_camera(
    settings: Settings, images: list[Image], tmp_path: Path
) -> None:
    config = _loop_config(3)
    frames = {
        c.id: FrameSlots.create(tmp_path / f"{c.id}.frames", c.id, capacity_for(c.detect.max_width))
        for c in config.enabled_cameras
    }
    bus: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    loop = DetectLoop(config, settings, frames, bus, stop)
    assert loop.pool is not None and loop.pool.alive() == 2
    workers = loop.pool.pids()
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            for slots in frames.values():
                slots.put(images[0], time.time())  # the bus and its passengers: 4 and more people
            time.sleep(0.03)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    events = [m for m in list(bus.queue) if isinstance(m, Event)]
    assert {e.camera_id for e in events} == set(frames)
    assert loop._health[MODEL].frames_total >= 6
    assert loop.dropped == 0
    time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers left running after stop"
