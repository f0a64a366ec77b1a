"""Rules with a trained model of their own: the flood rule's segmentation slot, the dumping rule's trash slot."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.detections import Detections
from analytics.detector import Detector
from analytics.pipeline import CameraAnalytics
from analytics.rules import build_rule
from analytics.rules.base import RuleInput
from analytics.rules.dumping import DumpingRule
from analytics.rules.flood import FloodRule, SegmentedWater
from analytics.static_objects import box_iou
from analytics.zones import Zone
from core.config import CameraConfig, DumpingRuleConfig, FloodRuleConfig, ModelSlotConfig, ZoneConfig
from core.messages import EventPhase, Frame, Image
from core.settings import Settings
from models.registry import resolve

SIZE = (200, 100)  # w, h
IMAGE: Image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
LEFT_HALF = Zone(ZoneConfig(name="road", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)]))
NAMES = {0: "water", 1: "car"}
TRASH = {0: "organic", 1: "mixed", 2: "person"}
# A real photo of waste bags on a pavement, on which the COCO model sees two "suitcase"s.
BAGS_PHOTO = "eval/waste-bags-street/test/images/IMG_4383_jpeg.rf.9eb71f3d298331c296faad4e04c2eb2e.jpg"


def _outlined(polygons: list[list[tuple[float, float]]], classes: list[int], names: dict[int, str]) -> Detections:
    outlines = tuple(np.asarray(p, np.float32) for p in polygons)
    boxes = np.array([[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in outlines], np.float32)
    n = len(outlines)
    return Detections(
        boxes.reshape(n, 4), np.full(n, 0.9, np.float32), np.array(classes, np.int32), names, SIZE, outlines=outlines
    )


def _boxes(boxes: list[tuple[float, float, float, float]], classes: list[int]) -> Detections:
    n = len(boxes)
    xyxy = np.array(boxes, np.float32).reshape(n, 4)
    return Detections(xyxy, np.full(n, 0.8, np.float32), np.array(classes, np.int32), TRASH, SIZE)


def _seen(ts: float, model: Detections | None, zone: Zone = LEFT_HALF, people: Detections | None = None) -> RuleInput:
    found = people if people is not None else Detections.empty(TRASH, SIZE)
    return RuleInput(ts, IMAGE, found, zone.filter(found), zone, model)


@pytest.mark.parametrize(
    ("polygons", "classes", "only", "fraction"),
    [
        ([], [], None, 0.0),  # the model found nothing
        ([[(0, 0), (100, 0), (100, 50), (0, 50)]], [0], None, 0.5),  # the top half of the zone
        ([[(0, 0), (200, 0), (200, 100), (0, 100)]], [0], None, 1.0),  # the whole image: only the zone counts
        ([[(100, 0), (200, 0), (200, 100), (100, 100)]], [0], None, 0.0),  # water outside the zone
        ([[(0, 0), (100, 0), (100, 50), (0, 50)]], [1], ["water"], 0.0),  # a class that is not water
        ([[(0, 0), (100, 0), (100, 50), (0, 50)], [(0, 50), (50, 50), (50, 100), (0, 100)]], [0, 0], None, 0.75),
    ],
)
def test_segmented_water_measures_the_masks_inside_the_zone(
    polygons: list[list[tuple[float, float]]], classes: list[int], only: list[str] | None, fraction: float
) -> None:
    meter = SegmentedWater(ModelSlotConfig(name="flood.pt", classes=only))
    found = _outlined(polygons, classes, NAMES) if polygons else Detections.empty(NAMES, SIZE)

    assert meter.measure(_seen(0.0, found)) == pytest.approx(fraction, abs=0.02)


def test_a_detector_without_outlines_is_no_water() -> None:
    meter = SegmentedWater(ModelSlotConfig(name="flood.pt"))
    boxes_only = Detections(
        np.array([[0, 0, 100, 100]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int32), NAMES, SIZE
    )

    assert meter.measure(_seen(0.0, boxes_only)) == 0.0


def test_flood_rule_with_a_segmentation_model_opens_holds_and_ends() -> None:
    config = FloodRuleConfig(
        type="flood", zone="road", model=ModelSlotConfig(name="flood.pt"), min_duration_s=10, end_after_s=10
    )
    rule = build_rule(config)
    assert isinstance(rule, FloodRule) and isinstance(rule.water, SegmentedWater)
    assert rule.model == config.model  # the pipeline runs it
    flooded = _outlined([[(0, 0), (100, 0), (100, 80), (0, 80)]], [0], NAMES)  # 80% of the zone
    dry = Detections.empty(NAMES, SIZE)

    phases = {}
    for ts in range(0, 60, 2):
        found = flooded if 4 <= ts < 30 else dry
        for event in rule.process(_seen(float(ts), found)):
            phases[event.phase] = (ts, event)

    start_ts, start = phases[EventPhase.START]
    assert start_ts == 14 and start.started_ts == 4.0  # 10 s after the water came
    assert start.details["water_fraction"] == pytest.approx(0.8, abs=0.02)
    assert start.details["water_box_norm"] == pytest.approx([0, 0, 0.5, 0.8], abs=0.02)
    end_ts, _ = phases[EventPhase.END]
    assert end_ts == 40  # 10 s after it went


def _dumping(**overrides: object) -> DumpingRule:
    values: dict[str, object] = {
        "type": "dumping",
        "zone": "road",
        "model": {"name": "trash.pt", "classes": ["organic", "mixed"]},
        "min_static_s": 10,
        "short_s": 1,
        "forget_s": 600,
        "end_after_s": 6,
        "interval_s": 1,
        **overrides,
    }
    rule = build_rule(DumpingRuleConfig.model_validate(values))
    assert isinstance(rule, DumpingRule)
    return rule


def test_dumping_rule_with_a_trash_detector_follows_its_boxes() -> None:
    rule = _dumping()
    bag = (20.0, 60.0, 40.0, 80.0)
    events = []
    for ts in range(0, 40):
        boxes = []
        if 5 <= ts < 25 and ts != 12:  # one frame missed: the pile's clock goes on
            jitter = ts % 2
            boxes.append((bag[0] + jitter, bag[1], bag[2] + jitter, bag[3]))
        events += [(ts, e) for e in rule.process(_seen(float(ts), _boxes(boxes, [1] * len(boxes))))]

    assert [(ts, e.phase) for ts, e in events] == [
        (15, EventPhase.START),
        (31, EventPhase.END),
    ]  # 6 s after the first frame without it
    start = events[0][1]
    assert start.started_ts == 5.0
    assert box_iou(tuple(start.details["box"]), bag) > 0.8
    assert start.details["detector"] == "trash.pt"
    assert "noise_sigma" not in start.details  # no background model ran


@pytest.mark.parametrize(
    ("box", "cls", "why"),
    [
        ((150.0, 60.0, 170.0, 80.0), 1, "outside the zone"),
        ((20.0, 60.0, 40.0, 80.0), 2, "a class the slot does not count"),
        ((20.0, 60.0, 21.0, 61.0), 1, "smaller than min_area"),
    ],
)
def test_dumping_rule_with_a_trash_detector_ignores(box: tuple[float, float, float, float], cls: int, why: str) -> None:
    rule = _dumping(min_area=0.01)
    events = [e for ts in range(30) for e in rule.process(_seen(float(ts), _boxes([box], [cls])))]

    assert events == [], why


def test_dumping_rule_with_a_trash_detector_records_a_person_at_the_onset() -> None:
    rule = _dumping()
    person = _boxes([(45.0, 30.0, 60.0, 80.0)], [2])
    events = []
    for ts in range(20):
        around = person if ts < 6 else None
        events += rule.process(_seen(float(ts), _boxes([(20, 60, 40, 80)], [0]), people=around))

    assert events[0].phase == EventPhase.START and events[0].details["person_at_onset"] is True


def test_outlines_stay_with_their_boxes_when_filtered() -> None:
    found = _outlined([[(0, 0), (10, 0), (10, 10)], [(50, 50), (60, 50), (60, 60)]], [1, 0], NAMES)

    water = found.of_classes(["water"])

    assert water.outlines is not None and len(water.outlines) == 1
    assert water.outlines[0][0].tolist() == [50, 50]


def _camera(rule: dict[str, object]) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": "cam",
            "name": "cam",
            "inputs": [{"url": "rtsp://127.0.0.1:8554/x", "roles": ["detect"]}],
            "location": {"lat": -2.99, "lon": 104.76},
            "zones": [{"name": "road", "polygon": [(0, 0), (1, 0), (1, 1), (0, 1)]}],
            "rules": [rule],
        }
    )


def test_a_rule_with_a_model_needs_a_runner() -> None:
    camera = _camera({"type": "flood", "zone": "road", "model": {"name": "flood.pt"}})

    with pytest.raises(ValueError, match="no model runner"):
        CameraAnalytics(camera)


def test_the_pipeline_runs_the_slot_model_at_the_rules_interval(assets_dir: Path, settings: Settings) -> None:
    """A real detector in the trash slot on a real photo of bags.

    No trained trash model ships with the project (the labelled bags may only be used for
    evaluation), so the COCO model stands in: it calls these bags "suitcase", and the slot counts
    that class. A city's own model (``matakota models train``) goes in the same place.
    """
    photo = cv2.imread(str(assets_dir / BAGS_PHOTO))
    assert photo is not None
    model = resolve("yolo11n-int8-openvino", settings)
    detector = Detector(model.path, task=model.spec.task)
    calls: list[float] = []

    def run(slot: ModelSlotConfig, image: Image) -> Detections:
        calls.append(1.0)
        (found,) = detector.detect([image], imgsz=slot.imgsz, confidence=slot.confidence)
        return found

    slot = {"name": "yolo11n-int8-openvino", "classes": ["suitcase"], "confidence": 0.25}
    rule = {"type": "dumping", "zone": "road", "model": slot, "min_static_s": 20, "short_s": 1, "interval_s": 5}
    analytics = CameraAnalytics(_camera(rule), run_model=run)
    nothing = Detections.empty(detector.names, (photo.shape[1], photo.shape[0]))
    events = []
    for second in range(0, 31):
        frame = Frame("cam", second, float(second), photo)
        events += analytics.process(frame, nothing)

    assert len(calls) == 7  # every 5 s over 30 s, not every frame
    assert [e.phase for e in events] == [EventPhase.START]
    start = events[0]
    assert start.kind == "dumping" and start.started_ts == 0.0 and start.at_ts == 20.0
    assert start.snapshot_jpeg and start.details["detector"] == "yolo11n-int8-openvino"
    found = detector.detect([photo], imgsz=640, confidence=0.25)[0].of_classes(["suitcase"])
    assert any(box_iou(tuple(start.details["box"]), tuple(box)) > 0.9 for box in found.xyxy.tolist())
