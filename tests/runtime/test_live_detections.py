"""Each camera's current detections are published for the camera wall: normalised, atomically, twice a second."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analytics.detections import Detections
from analytics.tracking import UNTRACKED
from runtime.live_detections import LiveDetections, detections_file


def _detections(track: bool = False) -> Detections:
    return Detections(
        np.array([[64, 48, 320, 240], [0, 0, 700, 500]], np.float32),
        np.array([0.91, 0.456], np.float32),
        np.array([2, 7], np.int32),
        {2: "car", 7: "truck"},
        (640, 480),
        track_id=np.array([5, 9], np.int64) if track else None,
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_boxes_are_published_in_0_1_image_coordinates(tmp_path: Path) -> None:
    live = LiveDetections(tmp_path / "live")
    assert live.publish("cam", _detections(track=True))
    body = json.loads(detections_file(tmp_path / "live", "cam").read_text())
    assert body["camera_id"] == "cam" and (body["width"], body["height"]) == (640, 480)
    assert body["at"] > 1.7e9  # Unix time
    first, second = body["boxes"]
    assert first == {"box": [0.1, 0.1, 0.5, 0.5], "class": "car", "confidence": 0.91, "track_id": 5}
    assert second["box"] == [0.0, 0.0, 1.0, 1.0] and second["class"] == "truck" and second["track_id"] == 9
    assert second["confidence"] == pytest.approx(0.456)


def test_untracked_and_empty_detections(tmp_path: Path) -> None:
    live = LiveDetections(tmp_path)
    live.publish("a", _detections())
    live.publish("b", Detections.empty({0: "person"}, (640, 480)))
    assert [b["track_id"] for b in json.loads((tmp_path / "a.json").read_text())["boxes"]] == [None, None]
    assert json.loads((tmp_path / "b.json").read_text())["boxes"] == []


def test_a_detection_the_tracker_kept_no_track_for_has_a_null_track_id(tmp_path: Path) -> None:
    detections = replace(_detections(track=True), track_id=np.array([UNTRACKED, 12], np.int64))
    LiveDetections(tmp_path).publish("cam", detections)
    assert [b["track_id"] for b in json.loads((tmp_path / "cam.json").read_text())["boxes"]] == [None, 12]


def test_each_camera_is_written_at_most_every_interval(tmp_path: Path) -> None:
    clock = _Clock()
    live = LiveDetections(tmp_path, interval_s=0.5, clock=clock)
    assert live.publish("a", _detections())
    clock.now += 0.2
    assert not live.publish("a", Detections.empty({}, (640, 480)))  # too soon: the file keeps the last write
    assert live.publish("b", _detections())  # another camera has its own limit
    assert len(json.loads((tmp_path / "a.json").read_text())["boxes"]) == 2
    clock.now += 0.3
    assert live.publish("a", Detections.empty({}, (640, 480)))
    assert json.loads((tmp_path / "a.json").read_text())["boxes"] == []


def test_the_file_is_replaced_whole_and_no_temp_file_is_left(tmp_path: Path) -> None:
    clock = _Clock()
    live = LiveDetections(tmp_path, clock=clock)
    inode = None
    for _ in range(3):
        live.publish("cam", _detections())
        clock.now += 1
        stat = (tmp_path / "cam.json").stat()
        assert stat.st_ino != inode  # a new file renamed over the old one, never rewritten in place
        inode = stat.st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.json"]


def test_a_failure_is_logged_once_and_never_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    clock = _Clock()
    live = LiveDetections(blocker / "live", clock=clock)
    for _ in range(3):
        assert not live.publish("cam", _detections())
        clock.now += 1
    assert len([r for r in caplog.records if "cannot publish live detections" in r.getMessage()]) == 1
