"""The traffic jam rule on real footage, with the real YOLO11n int8 OpenVINO detector and ByteTrack."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.detections import Detections
from analytics.detector import Detector
from analytics.rules import TrafficJamRule
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.traffic_jam import Reading
from analytics.tracking import Tracker
from analytics.zones import Zone
from core.config import TrafficJamRuleConfig, ZoneConfig
from core.messages import EventPhase, Image
from core.settings import Settings
from models.registry import resolve

pytestmark = pytest.mark.weights

FPS = 5.0
# The middle of the junction, which vehicles cross from every approach.
JUNCTION = Zone(ZoneConfig(name="junction", polygon=[(0.15, 0.3), (0.85, 0.3), (0.85, 0.7), (0.15, 0.7)]))


def _rule() -> TrafficJamRule:
    # A short min_duration_s, so that even a brief wrong level would show as an event.
    return TrafficJamRule(TrafficJamRuleConfig(type="traffic_jam", zone="junction", min_duration_s=2))


def _step(rule: TrafficJamRule, tracker: Tracker, now_ts: float, image: Image, found: Detections) -> list[RuleEvent]:
    tracked = tracker.update(found, image)
    return rule.process(RuleInput(now_ts, image, tracked, JUNCTION.filter(tracked), JUNCTION))


def test_busy_junction_reads_as_moving_and_the_same_junction_frozen_as_stop_and_go(assets_dir: Path) -> None:
    detector = Detector(resolve("yolo11n-int8-openvino", Settings(allow_downloads=False)).path)
    capture = cv2.VideoCapture(str(assets_dir / "footage" / "uadetrac-intersection-8s.mp4"))
    rule, tracker = _rule(), Tracker(FPS)
    events: list[RuleEvent] = []
    readings: list[Reading] = []
    busiest: tuple[int, Image, Detections] | None = None
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index % 6 == 0:  # 5 of the footage's 30 frames a second
            (found,) = detector.detect([image], confidence=0.3)
            events += _step(rule, tracker, index / 30, image, found)
            assert rule.reading is not None
            readings.append(rule.reading)
            if busiest is None or len(rule.reading.vehicles) > busiest[0]:
                busiest = (len(rule.reading.vehicles), image, found)
        index += 1
    assert len(readings) >= 40
    # Vehicles turn and cross the junction at a steady pace: measured, and never a jam.
    measured = [r.speed for r in readings[12:] if r.speed is not None]
    assert len(measured) >= 0.8 * len(readings[12:]), "too few frames with enough tracked vehicles"
    assert 0.3 < float(np.median(measured)) < 2.0
    assert all(0.03 < r.occupancy < 0.35 for r in readings)
    assert {r.level for r in readings} <= {"A", "B", "C", "D"}
    assert events == []

    # The same detections frame after frame: every vehicle stands still.
    assert busiest is not None
    _, image, found = busiest
    rule, tracker = _rule(), Tracker(FPS)
    frozen = [event for step in range(30) for event in _step(rule, tracker, step / FPS, image, found)]
    assert [(e.phase, e.details["level"]) for e in frozen] == [(EventPhase.START, "F")]
    assert frozen[0].details["median_speed"] == pytest.approx(0, abs=0.05)
    assert frozen[0].details["vehicles"] >= 8
