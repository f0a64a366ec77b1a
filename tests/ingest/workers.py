"""A camera worker run in a thread against real RTSP servers, for the ingest tests."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.config import CameraConfig
from core.messages import CameraState, CameraStatus, ClipRequest, ClipResult, Frame
from ingest.frameslots import FrameSlots, capacity_for
from ingest.simulator import Simulator
from ingest.worker import CameraWorker, SegmentSink


def make_camera(
    url: str,
    max_width: int = 1280,
    *,
    record_url: str | None = None,
    health: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
    **stream: Any,
) -> CameraConfig:
    """A test camera on ``url`` (and a separate record input on ``record_url``) that gives up quickly."""
    inputs = [{"url": url, "roles": ["detect", "record"]}]
    if record_url is not None:
        inputs = [{"url": url, "roles": ["detect"]}, {"url": record_url, "roles": ["record"]}]
    return CameraConfig.model_validate(
        {
            "id": "cam_test",
            "name": "Test camera",
            "inputs": inputs,
            "location": {"lat": -2.98, "lon": 104.76},
            "detect": {"fps": 5, "max_width": max_width},
            "record": {"pre_roll_s": 2, "post_roll_s": 2, "buffer_s": 10, **(record or {})},
            "stream": {
                "offline_after_s": 2,
                "read_timeout_s": 2,
                "open_timeout_s": 3,
                "reconnect_max_s": 2,
                **stream,
            },
            "health": health or {},
        }
    )


class RunningWorker:
    """A worker in a thread with plain queues, so the test can watch everything it sends."""

    def __init__(self, camera: CameraConfig, frames_path: Path, segments: SegmentSink | None = None) -> None:
        self.frames = FrameSlots.create(frames_path, camera.id, capacity_for(camera.detect.max_width))
        self.reader = FrameSlots.attach(frames_path, camera.id)  # as the analytics process would
        self.control: queue.Queue[ClipRequest] = queue.Queue()
        self.bus: queue.Queue[object] = queue.Queue()
        self.stop = threading.Event()
        self.worker = CameraWorker(camera, self.frames, self.control, self.bus, self.stop, segments=segments)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.statuses: list[CameraStatus] = []
        self.clips: list[ClipResult] = []

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.bus.get(timeout=0.2)
            except queue.Empty:
                message = None
            if isinstance(message, CameraStatus):
                self.statuses.append(message)
            elif isinstance(message, ClipResult):
                self.clips.append(message)
            if predicate():
                return True
        return False

    @property
    def state(self) -> CameraState | None:
        return self.statuses[-1].state if self.statuses else None

    def next_frame(self, timeout_s: float = 10) -> Frame:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frame = self.reader.get_latest()
            if frame is not None:
                return frame
            time.sleep(0.02)
        raise AssertionError(f"no frame within {timeout_s} s; statuses: {self.statuses[-3:]}")


def online_worker(
    rtsp_camera_server: Callable[[dict[str, str]], Simulator], running: Callable[[CameraConfig], RunningWorker]
) -> tuple[Simulator, RunningWorker]:
    """A worker on a real RTSP camera of traffic footage, once it reports online."""
    server = rtsp_camera_server({"traffic": "bgslibrary-video02.avi"})
    w = running(make_camera(server.url("traffic")))
    assert w.wait_for(lambda: w.state == CameraState.ONLINE, 15), w.statuses
    return server, w


def running_workers(tmp_path: Path) -> Iterator[Callable[..., RunningWorker]]:
    """Starts workers in threads; stops every one (and checks it stopped) when the generator closes."""
    started: list[RunningWorker] = []

    def start(camera: CameraConfig, segments: SegmentSink | None = None) -> RunningWorker:
        worker = RunningWorker(camera, tmp_path / f"frames-{len(started)}", segments)
        worker.thread.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop.set()
        worker.thread.join(timeout=10)
        assert not worker.thread.is_alive(), "worker did not stop"
