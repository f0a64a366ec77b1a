"""ByteTrack and counting lines on real footage with the real YOLO11n int8 OpenVINO weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.detections import Detections
from analytics.detector import Detector
from analytics.pipeline import CameraAnalytics
from analytics.tracking import Tracker
from core.config import LineConfig
from core.config_loader import load_config
from core.messages import Frame, Image
from core.settings import Settings
from models.registry import resolve
from tests.conftest import ASSETS

ROOT = Path(__file__).resolve().parents[2]
VEHICLES = ["car", "truck", "bus", "motorcycle"]
CLIP_FPS = 25  # bgslibrary-video02.avi: 30 s of a motorway, 320x240
START_TS = 1_800_000_000.0  # a whole minute, so the 30 s clip falls in one bucket

# Seen from the camera: the right carriageway (vehicles driving away, up the picture) and the left
# one (vehicles coming towards the camera). Each line is drawn from left to right across its
# carriageway, so driving up the picture is "out" and driving down it is "in".
RIGHT = LineConfig(name="right_carriageway", a=(0.45, 0.55), b=(0.95, 0.55))
LEFT = LineConfig(name="left_carriageway", a=(0.0, 0.45), b=(0.45, 0.3))


@pytest.fixture(scope="module")
def footage() -> list[tuple[int, Image, Detections]]:
    """Every 5th frame of the clip (5 fps) with its vehicles, detected once for the module."""
    detector = Detector(resolve("yolo11n-int8-openvino", Settings(allow_downloads=False)).path)
    capture = cv2.VideoCapture(str(ASSETS / "footage" / "bgslibrary-video02.avi"))
    frames = []
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index % 5 == 0:
            (detections,) = detector.detect([image], confidence=0.3)
            frames.append((index, image, detections.of_classes(VEHICLES)))
        index += 1
    capture.release()
    assert len(frames) >= 140
    return frames


def _track(frames: list[tuple[int, Image, Detections]], fps: float) -> list[Detections]:
    tracker = Tracker(fps)
    return [tracker.update(detections, image) for _, image, detections in frames]


def _continuity(tracked: list[Detections]) -> tuple[float, float]:
    """Share of tracked detections whose id was on the previous frame, and the median track length."""
    seen_again = total = 0
    lengths: dict[int, int] = {}
    previous: set[int] = set()
    for detections in tracked:
        assert detections.track_id is not None
        ids = {int(t) for t in detections.track_id if t >= 0}
        if previous:
            seen_again += len(ids & previous)
            total += len(ids)
        previous = ids
        for track_id in ids:
            lengths[track_id] = lengths.get(track_id, 0) + 1
    return seen_again / total, float(np.median(list(lengths.values())))


@pytest.mark.weights
def test_tracker_gives_every_box_an_id_and_keeps_boxes_and_order(footage: list[tuple[int, Image, Detections]]) -> None:
    for (_, _, raw), tracked in zip(footage, _track(footage, 5.0), strict=True):
        assert tracked.track_id is not None
        np.testing.assert_array_equal(tracked.xyxy, raw.xyxy)
        np.testing.assert_array_equal(tracked.class_id, raw.class_id)
        ids = tracked.track_id[tracked.track_id >= 0]
        assert len(set(ids.tolist())) == len(ids), "two boxes of one frame share an id"


@pytest.mark.weights
@pytest.mark.parametrize(("step", "min_seen_again", "min_median_length"), [(1, 0.8, 10), (2, 0.6, 5)])
def test_vehicles_keep_their_id_over_consecutive_frames_at_low_frame_rates(
    footage: list[tuple[int, Image, Detections]], step: int, min_seen_again: float, min_median_length: float
) -> None:
    seen_again, median_length = _continuity(_track(footage[::step], 5.0 / step))
    assert seen_again >= min_seen_again
    assert median_length >= min_median_length


@pytest.mark.weights
def test_lines_across_a_real_motorway_count_each_carriageway_in_its_direction(
    footage: list[tuple[int, Image, Detections]],
) -> None:
    base = load_config(ROOT / "camera_config.yaml").camera("sudirman_charitas")
    camera = base.model_copy(update={"lines": [RIGHT, LEFT]})
    analytics = CameraAnalytics(camera)
    assert analytics.tracker is not None
    for index, image, detections in footage:
        analytics.process(Frame(camera.id, index, START_TS + index / CLIP_FPS, image), detections)
    assert analytics.take_counts(START_TS + 59) == []  # the minute is not over yet
    counts = analytics.take_counts(START_TS + 60)
    totals: dict[tuple[str, str], int] = {}
    for count in counts:
        assert count.camera_id == camera.id and count.bucket_start_ts == START_TS
        totals[(count.line, count.direction)] = totals.get((count.line, count.direction), 0) + count.count
    # Counted at 25 fps the same lines give 22 vehicles driving away and 13 coming towards the camera.
    assert 16 <= totals.get(("right_carriageway", "out"), 0) <= 28, totals
    assert totals.get(("right_carriageway", "in"), 0) <= 1, totals
    assert 9 <= totals.get(("left_carriageway", "in"), 0) <= 17, totals
    assert totals.get(("left_carriageway", "out"), 0) <= 1, totals
    assert {c.class_name for c in counts} <= set(VEHICLES)


def test_a_camera_without_lines_or_tracking_rules_is_not_tracked() -> None:
    camera = load_config(ROOT / "camera_config.yaml").camera("air_mancur")
    assert not camera.lines and all(rule.type == "congestion" for rule in camera.rules)
    analytics = CameraAnalytics(camera)
    assert analytics.tracker is None and analytics.lines is None
    assert analytics.take_counts(START_TS) == []


def test_the_detections_the_rules_saw_are_kept_with_their_track_ids_for_the_live_overlay() -> None:
    base = load_config(ROOT / "camera_config.yaml").camera("sudirman_charitas")
    image = np.zeros((240, 320, 3), np.uint8)
    car = Detections(
        np.array([[100, 100, 160, 140]], np.float32), np.array([0.9], np.float32), np.array([2], np.int32),
        {2: "car"}, (320, 240),
    )  # fmt: skip
    tracked = CameraAnalytics(base.model_copy(update={"lines": [RIGHT]}))
    untracked = CameraAnalytics(load_config(ROOT / "camera_config.yaml").camera("air_mancur"))
    assert tracked.last_detections is None and untracked.last_detections is None
    for seq in range(3):
        frame = Frame(base.id, seq, START_TS + seq / 4, image)
        tracked.process(frame, car)
        untracked.process(frame, car)
    assert tracked.last_detections is not None and tracked.last_detections.track_id is not None
    assert tracked.last_detections.track_id.tolist()[0] >= 0  # the same car, one track
    assert untracked.last_detections is car  # not tracked: the detector's own, without ids
