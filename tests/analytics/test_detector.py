"""The real YOLO11n int8 OpenVINO weights on real images and footage."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.detector import Detector
from analytics.pipeline import CameraAnalytics
from core.config_loader import load_config
from core.messages import EventPhase, Frame
from core.settings import Settings
from models.registry import resolve

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.weights


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(resolve("yolo11n-int8-openvino", Settings(allow_downloads=False)).path)


def test_bus_image_gives_a_bus_and_people(detector: Detector, assets_dir: Path) -> None:
    image = cv2.imread(str(assets_dir / "images" / "ultralytics-bus.jpg"))
    (detections,) = detector.detect([image], confidence=0.5)
    counts = detections.count_by_class()
    assert counts.get("bus") == 1
    assert counts.get("person", 0) >= 3
    assert detections.image_size == (image.shape[1], image.shape[0])
    assert (detections.xyxy[:, 2] <= image.shape[1] + 1).all()


def test_traffic_footage_detects_vehicles_and_raises_a_congestion_event(detector: Detector, assets_dir: Path) -> None:
    config = load_config(ROOT / "camera_config.yaml")
    camera = config.camera("sudirman_charitas")
    analytics = CameraAnalytics(camera)
    capture = cv2.VideoCapture(str(assets_dir / "footage" / "bgslibrary-video02.avi"))
    events = []
    vehicle_counts = []
    for index in range(0, 750):
        ok, image = capture.read()
        if not ok:
            break
        if index % 6:  # about 4 fps of 25, as configured
            continue
        (detections,) = detector.detect([image], confidence=camera.detect.confidence)
        vehicle_counts.append(len(detections.of_classes(["car", "truck", "bus", "motorcycle"])))
        frame = Frame(camera.id, index, index / 25.0, image)
        events.extend(analytics.process(frame, detections))
    assert np.mean(vehicle_counts) > 4
    starts = [e for e in events if e.phase == EventPhase.START]
    assert starts, f"no congestion event; vehicle counts: {vehicle_counts}"
    snapshot = cv2.imdecode(np.frombuffer(starts[0].snapshot_jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
    assert snapshot is not None and snapshot.shape == (240, 320, 3)
    assert starts[0].camera_id == camera.id and starts[0].zone == "carriageway"
