"""Motion gating on real footage: busy streets keep the detector busy, a still scene spares it."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from analytics.detections import Detections
from analytics.motion import MotionGate
from core.messages import Image


def _frames(path: Path, fps: float = 5.0, seconds: float = 12.0) -> list[tuple[float, Image]]:
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        step = max(1, round(rate / fps))
        for index, frame in enumerate(container.decode(stream)):
            if index % step == 0:
                out.append((index / rate, frame.to_ndarray(format="bgr24")))
            if index / rate > seconds:
                break
    return out


def _run(gate: MotionGate, frames: list[tuple[float, Image]]) -> list[bool]:
    """Which frames went to the detector (the detector itself is not needed to judge the gate)."""
    ran = []
    for ts, image in frames:
        needed = gate.needs_detection(image, ts)
        if needed:
            gate.detected(image, Detections.empty({}, (image.shape[1], image.shape[0])), ts)
        ran.append(needed)
    return ran


def test_busy_traffic_goes_to_the_detector_every_time(assets_dir: Path) -> None:
    ran = _run(MotionGate(), _frames(assets_dir / "footage" / "bgslibrary-video02.avi"))
    assert len(ran) > 50 and all(ran)


def test_a_still_scene_is_detected_only_every_max_skip_s(assets_dir: Path) -> None:
    (_, still), *_ = _frames(assets_dir / "footage" / "car-detection.mp4", seconds=0.1)
    rng = np.random.default_rng(7)
    frames = []
    for i in range(100):  # 20 s at 5 fps of the same real frame with sensor noise (night, rain)
        noisy = np.clip(still.astype(np.int16) + rng.normal(0, 6, still.shape), 0, 255).astype(np.uint8)
        frames.append((i / 5, noisy))
    gate = MotionGate(max_skip_s=5.0)
    ran = _run(gate, frames)
    assert sum(ran) <= 6, sum(ran)  # the first frame, then about once every 5 s; noise is not motion
    assert gate.skipped == len(ran) - sum(ran)


def test_something_entering_a_still_scene_wakes_the_detector(assets_dir: Path) -> None:
    (_, still), *_ = _frames(assets_dir / "footage" / "car-detection.mp4", seconds=0.1)
    (_, other), *_ = _frames(assets_dir / "footage" / "bgslibrary-video02.avi", seconds=0.1)
    patch = np.ascontiguousarray(other[60:140, 100:220])  # a real piece of another street, 120x80 px
    gate = MotionGate(max_skip_s=60.0)
    frames = [(i / 5, still.copy()) for i in range(10)]
    for i in range(10, 20):  # from frame 10 the piece slides in from the left
        image = still.copy()
        x = (i - 10) * 30
        image[200:280, x : x + 120] = patch
        frames.append((i / 5, image))
    ran = _run(gate, frames)
    assert ran[:10] == [True] + [False] * 9
    assert all(ran[10:]), ran


@pytest.mark.parametrize("fraction", [0.0005, 0.01])
def test_the_threshold_decides_how_much_change_is_motion(assets_dir: Path, fraction: float) -> None:
    (_, still), *_ = _frames(assets_dir / "footage" / "car-detection.mp4", seconds=0.1)
    gate = MotionGate(min_changed_fraction=fraction, max_skip_s=60.0)
    gate.detected(still, Detections.empty({}, (still.shape[1], still.shape[0])), 0.0)
    small_change = still.copy()
    small_change[100:110, 100:140] = 255  # a small bright spot: about 0.2% of the picture
    verdict = gate.check(small_change, 0.2)
    assert verdict.moved == (fraction < verdict.changed_fraction)
    assert 0.0005 < verdict.changed_fraction < 0.01
