"""The analytics loop with motion gating: a still scene spares the detector, moving traffic does not."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from core.config import AppConfig
from core.messages import Frame, Image
from core.settings import Settings
from runtime.detect_loop import DetectLoop
from tests.incidents.helpers import T0

pytestmark = pytest.mark.weights


class _Bus:
    def __init__(self) -> None:
        self.items: list[object] = []

    def put(self, item: object, /) -> None:
        self.items.append(item)


def _config(gating: bool) -> AppConfig:
    camera = {
        "id": "cam",
        "name": "Cam",
        "inputs": [{"url": "rtsp://127.0.0.1:1/cam", "roles": ["detect"]}],
        "location": {"lat": -2.98, "lon": 104.76},
        "detect": {"motion_gating": gating, "motion_max_skip_s": 5},
        "zones": [{"name": "road", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
        "rules": [{"type": "congestion", "zone": "road", "min_vehicles": 3, "min_duration_s": 1, "end_after_s": 30}],
    }
    return AppConfig.model_validate({"cameras": [camera]})


def _frames(path: Path, count: int) -> list[Image]:
    out: list[Image] = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 5 == 0:
                out.append(frame.to_ndarray(format="bgr24"))
            if len(out) >= count:
                break
    return out


def _run(loop: DetectLoop, images: list[Image]) -> int:
    for index, image in enumerate(images):
        loop.step(Frame("cam", index, T0 + index / 5, image))
    return loop._health["yolo11n-int8-openvino"].frames_total


def test_a_still_jam_is_detected_rarely_and_still_raised(settings: Settings, assets_dir: Path) -> None:
    (busy,) = _frames(assets_dir / "footage" / "bgslibrary-video02.avi", 1)  # a real frame with several cars
    rng = np.random.default_rng(3)
    still = [np.clip(busy + rng.normal(0, 4, busy.shape), 0, 255).astype(np.uint8) for _ in range(50)]  # 10 s
    gated = DetectLoop(_config(True), settings, {}, bus := _Bus(), threading.Event())
    assert _run(gated, still) <= 3  # the first frame, then once every 5 s
    assert gated.motion["cam"].skipped >= 47
    starts = [e for e in bus.items if getattr(e, "phase", None) == "start"]
    assert len(starts) == 1  # the stopped vehicles still make the incident: their detections are reused


def test_moving_traffic_goes_to_the_detector_every_frame(settings: Settings, assets_dir: Path) -> None:
    moving = _frames(assets_dir / "footage" / "bgslibrary-video02.avi", 20)
    gated = DetectLoop(_config(True), settings, {}, _Bus(), threading.Event())
    assert _run(gated, moving) == 20
