"""The traffic jam (level of service) rule, as tables and as lanes of tracked vehicles over time."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from analytics.detections import Detections
from analytics.rules import TrafficJamRule, build_rule
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.traffic_jam import level_of, occupancy_of
from analytics.zones import Zone
from core.config import GroundCalibration, RuleConfig, TrafficJamRuleConfig, ZoneConfig
from core.messages import EventPhase, Severity

NAMES = {0: "person", 2: "car", 3: "motorcycle", 7: "truck"}
IMAGE_SIZE = (1000, 400)
FRAME = np.zeros((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), np.uint8)
# The middle of a road of ten 40-pixel lanes running across the image.
ZONE = Zone(ZoneConfig(name="road", polygon=[(0.3, 0), (0.7, 0), (0.7, 1), (0.3, 1)]))
BOX_W, BOX_H = 80, 40
DEFAULTS = TrafficJamRuleConfig(type="traffic_jam", zone="road")


def _config(**overrides: object) -> TrafficJamRuleConfig:
    values: dict[str, object] = {
        "type": "traffic_jam",
        "zone": "road",
        "footprint": 1.0,  # whole boxes tile the lanes, so occupancy is box length / spacing
        "min_duration_s": 20,
        "end_after_s": 10,
        "update_interval_s": 15,
    }
    values.update(overrides)
    return TrafficJamRuleConfig.model_validate(values)


class Road:
    """Lanes of equally spaced vehicles driven across the image; each keeps its track id while visible."""

    def __init__(
        self, spacing: float, classes: tuple[int, ...] = (2, 3), tracked: bool = True, confirmed: bool = True
    ) -> None:
        self.spacing = spacing
        self.classes = classes
        self.tracked = tracked
        self.confirmed = confirmed
        self.travelled = 0.0

    def drive(self, seconds: float, speed_bl_s: float) -> None:
        self.travelled += seconds * speed_bl_s * BOX_H

    def detections(self) -> Detections:
        width = IMAGE_SIZE[0]
        first = math.floor((self.travelled - width) / self.spacing)
        last = math.ceil((self.travelled + BOX_W) / self.spacing)
        boxes, class_ids, tracks = [], [], []
        for lane in range(IMAGE_SIZE[1] // BOX_H):
            for k in range(first, last + 1):
                x1 = self.travelled - k * self.spacing + lane * 7  # lanes a little out of step
                if -BOX_W < x1 < width:
                    boxes.append([x1, lane * BOX_H, x1 + BOX_W, (lane + 1) * BOX_H])
                    class_ids.append(self.classes[(k + lane) % len(self.classes)])
                    tracks.append(lane * 100_000 + k + 50_000 if self.confirmed else -1)
        n = len(boxes)
        return Detections(
            np.array(boxes, np.float32).reshape(n, 4),
            np.full(n, 0.8, np.float32),
            np.array(class_ids, np.int32),
            NAMES,
            IMAGE_SIZE,
            np.array(tracks, np.int64) if self.tracked else None,
        )


def _seen(now_ts: float, detections: Detections, zone: Zone = ZONE) -> RuleInput:
    return RuleInput(now_ts, FRAME, detections, zone.filter(detections), zone)


def _drive(
    rule: TrafficJamRule,
    road: Road,
    plan: list[tuple[float, float]],
    start_ts: float = 0.0,
    fps: float = 2.0,
    zone: Zone = ZONE,
) -> list[RuleEvent]:
    """Drive ``road`` through ``plan`` (seconds, speed in body lengths per second) at ``fps``."""
    events: list[RuleEvent] = []
    now_ts = start_ts
    for seconds, speed in plan:
        for _ in range(round(seconds * fps)):
            events.extend(rule.process(_seen(now_ts, road.detections(), zone)))
            road.drive(1 / fps, speed)
            now_ts += 1 / fps
    return events


@pytest.mark.parametrize(
    ("occupancy", "speed", "level"),
    [
        (0.05, None, "A"),
        (0.10, None, "B"),
        (0.20, None, "C"),
        (0.30, None, "D"),
        (0.40, None, "E"),
        (0.60, None, "F"),
        (0.05, 0.0, "A"),  # one parked vehicle is no jam
        (0.12, 0.1, "B"),
        (0.20, 3.5, "C"),
        (0.20, 1.2, "C"),
        (0.20, 0.7, "D"),
        (0.20, 0.4, "E"),  # a queue with gaps (motorcycles) crawling
        (0.20, 0.2, "F"),
        (0.40, 0.7, "E"),  # the worse of the two
        (0.60, 2.0, "D"),  # dense but flowing: at most D
        (0.60, 3.5, "D"),
        (0.60, 1.0, "D"),
        (0.60, 0.7, "F"),
    ],
)
def test_level_of_service_table(occupancy: float, speed: float | None, level: str) -> None:
    assert level_of(occupancy, speed, DEFAULTS) == level


def test_occupancy_is_the_union_of_footprints_clipped_to_the_zone() -> None:
    zone = Zone(ZoneConfig(name="road", polygon=[(0, 0.5), (1, 0.5), (1, 1), (0, 1)]))
    boxes = np.array([[0, 300, 160, 400], [0, 300, 160, 400], [480, 100, 640, 200]], np.float32)
    vehicles = Detections(boxes, np.ones(3, np.float32), np.full(3, 2, np.int32), NAMES, (640, 400))
    # The two equal boxes count once; the third lies above the zone. Zone: 640 x 200 pixels.
    assert occupancy_of(vehicles, zone, footprint=1.0) == pytest.approx(160 * 100 / (640 * 200), abs=0.01)
    assert occupancy_of(vehicles, zone, footprint=0.5) == pytest.approx(160 * 50 / (640 * 200), abs=0.01)
    assert occupancy_of(vehicles.filter(np.zeros(3, bool)), zone, footprint=1.0) == 0


def test_jam_opens_after_min_duration_of_dense_stop_and_go() -> None:
    events = _drive(TrafficJamRule(_config()), Road(spacing=140), [(30, 0.2)])
    starts = [e for e in events if e.phase == EventPhase.START]
    assert [e.phase for e in events] == [EventPhase.START]
    (start,) = starts
    assert start.at_ts == pytest.approx(20) and start.started_ts == 0
    assert start.kind == "traffic_jam" and start.zone == "road"
    assert start.details["level"] == "F" and start.severity == Severity.HIGH
    assert start.details["occupancy"] == pytest.approx(BOX_W / 140, abs=0.03)
    assert start.details["median_speed"] == pytest.approx(0.2, abs=0.02)
    # Ten lanes, each with 400 / 140 vehicles' bottom-centres in the zone.
    assert 27 <= start.details["vehicles"] <= 31
    assert start.details["tracked_vehicles"] == start.details["vehicles"]


def test_dense_but_moving_traffic_never_opens() -> None:
    rule = TrafficJamRule(_config())
    assert _drive(rule, Road(spacing=100), [(120, 2.0)]) == []


def test_sparse_stopped_vehicles_are_no_jam() -> None:
    assert _drive(TrafficJamRule(_config()), Road(spacing=1000), [(60, 0.0)]) == []


def test_nearly_full_and_stopped_is_critical() -> None:
    (start,) = _drive(TrafficJamRule(_config()), Road(spacing=100), [(25, 0.0)])
    assert start.details["level"] == "F" and start.severity == Severity.CRITICAL


def test_level_change_updates_at_once_when_worse_and_when_due_when_better() -> None:
    rule = TrafficJamRule(_config())
    road = Road(spacing=200)  # occupancy 0.4: level E
    events = _drive(rule, road, [(25, 0.7)])
    assert [(e.phase, e.details["level"], e.severity) for e in events] == [(EventPhase.START, "E", Severity.MEDIUM)]
    worse = _drive(rule, road, [(8, 0.1)], start_ts=25)
    assert [(e.phase, e.details["level"], e.severity) for e in worse] == [(EventPhase.UPDATE, "F", Severity.HIGH)]
    # The median speed over the window falls below 0.25 body lengths/s within the window (4 s).
    assert 25 < worse[0].at_ts <= 25 + 4
    better = _drive(rule, road, [(30, 0.7)], start_ts=33)
    assert [(e.phase, e.details["level"], e.severity) for e in better] == [(EventPhase.UPDATE, "E", Severity.HIGH)]
    assert better[0].at_ts >= worse[0].at_ts + 15  # easing waits for update_interval_s


def test_event_ends_only_after_end_after_s_at_d_or_better() -> None:
    rule = TrafficJamRule(_config())
    road = Road(spacing=140)
    assert [e.phase for e in _drive(rule, road, [(25, 0.2)])] == [EventPhase.START]
    assert _drive(rule, road, [(6, 2.0), (5, 0.2)], start_ts=25) == []  # a short flowing spell
    ended = _drive(rule, road, [(30, 2.0)], start_ts=36)
    assert [e.phase for e in ended] == [EventPhase.END]
    # Flowing is seen once the window's median speed passes 0.9, within the window (4 s) of the change.
    assert 36 + 10 <= ended[0].at_ts <= 36 + 10 + 4
    assert _drive(rule, road, [(10, 2.0)], start_ts=66) == []


def test_motorcycles_count_as_vehicles() -> None:
    road = Road(spacing=140, classes=(3,))
    (start,) = _drive(TrafficJamRule(_config()), road, [(25, 0.2)])
    assert start.details["by_class"] == {"motorcycle": start.details["vehicles"]}
    assert start.details["level"] == "F"


def test_people_are_not_vehicles() -> None:
    road = Road(spacing=100, classes=(0,))
    assert _drive(TrafficJamRule(_config()), road, [(40, 0.0)]) == []


def test_without_track_ids_the_level_comes_from_occupancy_alone() -> None:
    dense = _drive(TrafficJamRule(_config()), Road(spacing=140, tracked=False), [(25, 2.0)])
    assert [(e.phase, e.details["level"], e.details["median_speed"]) for e in dense] == [(EventPhase.START, "F", None)]
    assert "speed unknown" in dense[0].title
    unconfirmed = _drive(TrafficJamRule(_config()), Road(spacing=140, confirmed=False), [(25, 2.0)])
    assert [(e.details["level"], e.details["tracked_vehicles"]) for e in unconfirmed] == [("F", 0)]
    assert _drive(TrafficJamRule(_config()), Road(spacing=400, tracked=False), [(40, 0.0)]) == []


def test_a_new_jam_can_follow_an_ended_one() -> None:
    rule = TrafficJamRule(_config())
    road = Road(spacing=140)
    phases = [e.phase for e in _drive(rule, road, [(25, 0.2), (20, 2.5), (25, 0.2)])]
    assert phases == [EventPhase.START, EventPhase.END, EventPhase.START]


def test_rule_config_is_part_of_the_camera_rules_and_checks_its_bands() -> None:
    config = TypeAdapter(RuleConfig).validate_python({"type": "traffic_jam", "zone": "road"})
    assert isinstance(build_rule(config), TrafficJamRule)
    assert "motorcycle" in config.classes and build_rule(config).needs_tracks
    with pytest.raises(ValidationError, match="increasing"):
        TrafficJamRuleConfig.model_validate(
            {"type": "traffic_jam", "zone": "road", "occupancy_levels": [0.1, 0.3, 0.2, 0.4, 0.5]}
        )
    with pytest.raises(ValidationError, match="decreasing"):
        TrafficJamRuleConfig.model_validate({"type": "traffic_jam", "zone": "road", "speed_levels": [3, 2, 1, 1, 0.5]})


def test_a_calibrated_zone_measures_km_h() -> None:
    # The image seen from straight above: 1000 x 400 pixels are 100 x 40 metres, 0.1 m a pixel.
    calibration = GroundCalibration(
        image=((0, 0), (1, 0), (1, 1), (0, 1)), metres=((0, 0), (100, 0), (100, 40), (0, 40))
    )
    zone = Zone(ZoneConfig(name="road", polygon=[(0.3, 0), (0.7, 0), (0.7, 1), (0.3, 1)], calibration=calibration))
    # 0.2 body lengths (40 pixels) a second: 0.8 m/s, 2.9 km/h, below the 4 km/h of level F.
    (start,) = _drive(TrafficJamRule(_config()), Road(spacing=140), [(25, 0.2)], zone=zone)
    assert start.details["speed_unit"] == "km/h" and start.details["median_speed"] == pytest.approx(2.88, abs=0.05)
    assert start.details["level"] == "F" and "km/h" in start.title
    # 28.8 km/h flows (level B by speed), so the dense zone is at most D and never a jam.
    assert _drive(TrafficJamRule(_config()), Road(spacing=100), [(60, 2.0)], zone=zone) == []


def test_calibrated_speeds_are_the_same_near_and_far_from_the_camera() -> None:
    # A 10 m wide, 100 m long road seen in perspective: its far end is a fifth as wide in the image.
    image_quad = ((0.4, 0.2), (0.6, 0.2), (1.0, 1.0), (0.0, 1.0))
    metres_quad = ((0, 100), (10, 100), (10, 0), (0, 0))
    calibration = GroundCalibration(image=image_quad, metres=metres_quad)
    zone = Zone(ZoneConfig(name="road", polygon=list(image_quad), calibration=calibration))
    to_image = cv2.getPerspectiveTransform(np.array(metres_quad, np.float32), np.array(image_quad, np.float32))
    rule = TrafficJamRule(_config(queue_occupancy=0))
    # Five vehicles, three far and two near, all coming closer at 5 m/s (18 km/h).
    starts_m = [(2.5, 90.0), (7.5, 85.0), (2.5, 75.0), (7.5, 30.0), (2.5, 25.0)]
    for step in range(10):
        now_ts = step * 0.5
        ground = np.array([[(x, y - 5 * now_ts)] for x, y in starts_m], np.float64)
        feet = cv2.perspectiveTransform(ground, to_image.astype(np.float64)).reshape(-1, 2) * IMAGE_SIZE
        size = 40 * feet[:, 1:2] / IMAGE_SIZE[1]  # boxes shrink with distance
        boxes = np.hstack([feet[:, 0:1] - size / 2, feet[:, 1:2] - size, feet[:, 0:1] + size / 2, feet[:, 1:2]])
        n = len(boxes)
        detections = Detections(
            boxes.astype(np.float32), np.ones(n, np.float32), np.full(n, 2, np.int32), NAMES, IMAGE_SIZE, np.arange(n)
        )
        rule.process(_seen(now_ts, detections, zone))
    assert rule.reading is not None and rule.reading.unit == "km/h" and rule.reading.tracked == 5
    assert rule.reading.speed == pytest.approx(18, abs=0.3)


def test_a_calibration_needs_four_points_spanning_an_area() -> None:
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    zone = ZoneConfig.model_validate(
        {
            "name": "road",
            "polygon": square,
            "calibration": {"image": square, "metres": [[0, 0], [8, 0], [8, 30], [0, 30]]},
        }
    )
    assert zone.calibration is not None and zone.calibration.metres[2] == (8, 30)
    with pytest.raises(ValidationError, match="on one line"):
        GroundCalibration(image=((0, 0), (0.5, 0.5), (1, 1), (0, 1)), metres=((0, 0), (1, 0), (1, 1), (0, 1)))
    with pytest.raises(ValidationError, match="outside the image"):
        GroundCalibration(image=((0, 0), (2, 0), (1, 1), (0, 1)), metres=((0, 0), (1, 0), (1, 1), (0, 1)))
