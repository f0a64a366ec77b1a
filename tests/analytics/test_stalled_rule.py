"""The stalled vehicle / illegal parking rule, as tables of tracked vehicles over time."""

from __future__ import annotations

import numpy as np
from pydantic import TypeAdapter

from analytics.detections import Detections
from analytics.pipeline import CameraAnalytics
from analytics.rules import StalledVehicleRule, build_rule
from analytics.rules.base import RuleEvent, RuleInput
from analytics.zones import Zone
from core.config import CameraConfig, RuleConfig, StalledVehicleRuleConfig, ZoneConfig
from core.messages import EventPhase, Frame, Severity

NAMES = {0: "person", 2: "car", 3: "motorcycle", 7: "truck"}
IMAGE_SIZE = (1000, 1000)
FRAME = np.zeros((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), np.uint8)
# The kerb on the right half of the image.
ZONE = Zone(ZoneConfig(name="kerb", kind="no_stopping", polygon=[(0.5, 0), (1, 0), (1, 1), (0.5, 1)]))

# A vehicle seen in one frame: track id (None: untracked), class id, bottom-centre (x, y).
Sighting = tuple[int | None, int, float, float]


def _rule(**overrides: object) -> StalledVehicleRule:
    values: dict[str, object] = {
        "type": "stalled_vehicle",
        "zone": "kerb",
        "max_stationary_s": 30,
        "end_after_s": 10,
        "update_interval_s": 60,
    }
    values.update(overrides)
    return StalledVehicleRule(StalledVehicleRuleConfig.model_validate(values))


def _detections(sightings: list[Sighting]) -> Detections:
    """Boxes 160 x 100 pixels standing on each bottom-centre."""
    n = len(sightings)
    boxes = np.array([[x - 80, y - 100, x + 80, y] for _, _, x, y in sightings], np.float32).reshape(n, 4)
    tracked = all(track is not None for track, _, _, _ in sightings)
    tracks = np.array([track for track, _, _, _ in sightings], np.int64) if tracked else None
    classes = np.array([class_id for _, class_id, _, _ in sightings], np.int32)
    return Detections(boxes, np.full(n, 0.8, np.float32), classes, NAMES, IMAGE_SIZE, tracks)


def _run(rule: StalledVehicleRule, frames: list[tuple[float, list[Sighting]]]) -> list[RuleEvent]:
    events: list[RuleEvent] = []
    for now_ts, sightings in frames:
        detections = _detections(sightings)
        events.extend(rule.process(RuleInput(now_ts, FRAME, detections, ZONE.filter(detections), ZONE)))
    return events


def _parked(track: int, start: int, end: int, x: float = 700, y: float = 500) -> list[tuple[float, list[Sighting]]]:
    return [(float(t), [(track, 2, x, y)]) for t in range(start, end)]


def _phases(events: list[RuleEvent]) -> list[tuple[float, EventPhase]]:
    return [(e.at_ts, e.phase) for e in events]


def test_a_vehicle_stationary_beyond_the_limit_opens_an_event() -> None:
    events = _run(_rule(), _parked(1, 0, 40))
    assert _phases(events) == [(30, EventPhase.START)]
    (start,) = events
    assert start.kind == "stalled_vehicle" and start.zone == "kerb" and start.started_ts == 0
    assert start.severity == Severity.MEDIUM and start.title == "Stalled vehicle in kerb: car stopped 30 s"
    assert start.details == {
        "vehicles": [{"track_id": 1, "class": "car", "box": [620, 400, 780, 500], "stationary_s": 30.0}],
        "count": 1,
    }


def test_a_slowly_moving_vehicle_does_not_open_one() -> None:
    # 5 pixels a second, a twentieth of its height: it leaves its spot every few seconds.
    frames = [(float(t), [(1, 2, 600 + 5 * t, 500)]) for t in range(120)]
    assert _run(_rule(), frames) == []


def test_a_few_pixels_of_box_jitter_are_tolerated() -> None:
    jitter = [(-4, 3), (5, -2), (0, 4), (-3, -5), (4, 0)]
    frames = [(float(t), [(1, 2, 700 + jitter[t % 5][0], 500 + jitter[t % 5][1])]) for t in range(40)]
    assert _phases(_run(_rule(), frames)) == [(30, EventPhase.START)]


def test_one_jump_of_the_box_does_not_restart_the_clock() -> None:
    frames = _parked(1, 0, 40)
    frames[12] = (12.0, [(1, 2, 900, 500)])
    assert _phases(_run(_rule(), frames)) == [(30, EventPhase.START)]


def test_event_ends_when_the_vehicle_drives_away_for_end_after_s() -> None:
    # 20 pixels a second: beyond 0.3 box heights (30 pixels) of its spot from t = 41.
    frames = _parked(1, 0, 40) + [(float(t), [(1, 2, 700 + 20 * (t - 39), 500)]) for t in range(40, 70)]
    assert _phases(_run(_rule(), frames)) == [(30, EventPhase.START), (51, EventPhase.END)]


def test_event_ends_when_the_vehicle_is_gone_for_end_after_s() -> None:
    frames = _parked(1, 0, 40) + [(float(t), []) for t in range(40, 60)]
    assert _phases(_run(_rule(), frames)) == [(30, EventPhase.START), (49, EventPhase.END)]


def test_a_vehicle_hidden_for_less_than_end_after_s_stays_stalled() -> None:
    frames = _parked(1, 0, 35) + [(float(t), []) for t in range(35, 40)] + _parked(1, 40, 60)
    assert _phases(_run(_rule(), frames)) == [(30, EventPhase.START)]


def test_a_vehicle_renamed_by_the_tracker_keeps_its_clock() -> None:
    frames = _parked(1, 0, 20) + [(float(t), []) for t in range(20, 23)] + _parked(7, 23, 40)
    events = _run(_rule(), frames)
    assert _phases(events) == [(30, EventPhase.START)]
    assert events[0].details["vehicles"][0]["track_id"] == 7


def test_one_event_per_zone_lists_every_stalled_vehicle() -> None:
    rule = _rule()
    frames: list[tuple[float, list[Sighting]]] = []
    for t in range(80):
        sightings: list[Sighting] = [(1, 2, 700, 200)]
        if t >= 10:
            sightings.append((2, 3, 700, 500))
        if t >= 20:
            sightings.append((3, 7, 700, 800))
        frames.append((float(t), sightings))
    events = _run(rule, frames)
    assert [(e.at_ts, e.phase, e.details["count"], e.severity) for e in events] == [
        (30, EventPhase.START, 1, Severity.MEDIUM),
        (40, EventPhase.UPDATE, 2, Severity.MEDIUM),
        (50, EventPhase.UPDATE, 3, Severity.HIGH),
    ]
    listed = events[-1].details["vehicles"]
    assert [(v["track_id"], v["class"], v["stationary_s"]) for v in listed] == [
        (1, "car", 50.0),
        (2, "motorcycle", 40.0),
        (3, "truck", 30.0),
    ]
    assert events[-1].title == "3 stalled vehicles in kerb, longest stopped 50 s"


def test_the_event_stays_while_one_vehicle_is_left_and_updates_when_due() -> None:
    frames = [(float(t), [(1, 2, 700, 200), (2, 2, 700, 500)]) for t in range(40)]
    frames += [(float(t), [(2, 2, 700, 500)]) for t in range(40, 110)]
    events = _run(_rule(), frames)
    assert [(e.at_ts, e.phase, e.details["count"]) for e in events] == [
        (30, EventPhase.START, 2),
        (49, EventPhase.UPDATE, 1),  # track 1 unseen for end_after_s
        (109, EventPhase.UPDATE, 1),  # only the time grew: update_interval_s later
    ]


def test_vehicles_outside_the_zone_people_and_untracked_vehicles_are_not_judged() -> None:
    assert _run(_rule(), [(float(t), [(1, 2, 200, 500)]) for t in range(60)]) == []  # outside the kerb
    assert _run(_rule(), [(float(t), [(1, 0, 700, 500)]) for t in range(60)]) == []  # a person
    assert _run(_rule(), [(float(t), [(None, 2, 700, 500)]) for t in range(60)]) == []
    assert _run(_rule(), [(float(t), [(-1, 2, 700, 500)]) for t in range(60)]) == []  # not confirmed by the tracker


def test_rule_config_is_part_of_the_camera_rules() -> None:
    config = TypeAdapter(RuleConfig).validate_python({"type": "stalled_vehicle", "zone": "kerb"})
    rule = build_rule(config)
    assert isinstance(rule, StalledVehicleRule) and rule.needs_tracks
    assert "motorcycle" in config.classes and config.max_stationary_s == 60


def test_the_camera_pipeline_tracks_a_parked_car_past_a_moving_one_and_raises_the_event() -> None:
    camera = CameraConfig.model_validate(
        {
            "id": "jalan_merdeka",
            "name": "Jalan Merdeka",
            "inputs": [{"url": "rtsp://camera/stream", "roles": ["detect"]}],
            "location": {"lat": -2.99, "lon": 104.76},
            "detect": {"fps": 5},
            "zones": [{"name": "kerb", "kind": "no_stopping", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}],
            "rules": [{"type": "stalled_vehicle", "zone": "kerb", "max_stationary_s": 10}],
        }
    )
    analytics = CameraAnalytics(camera)  # with the real ByteTrack tracker, as the rule needs tracks
    assert analytics.tracker is not None
    events = []
    for seq in range(75):
        now_ts = 1_700_000_000 + seq / 5
        passing = (None, 2, 100 + 8 * seq, 300)  # crosses the image at 40 pixels a second, ids from the tracker
        parked = (None, 2, 700, 600)
        detections = _detections([passing, parked])  # no track ids: the pipeline's tracker gives them
        events += analytics.process(Frame(camera.id, seq, now_ts, FRAME), detections)
    assert [(e.kind, e.zone, e.phase) for e in events] == [("stalled_vehicle", "kerb", EventPhase.START)]
    (start,) = events
    assert start.camera_id == "jalan_merdeka" and start.snapshot_jpeg
    (vehicle,) = start.details["vehicles"]
    assert vehicle["box"] == [620, 500, 780, 600] and vehicle["track_id"] >= 0
    assert 10 <= vehicle["stationary_s"] <= 11
