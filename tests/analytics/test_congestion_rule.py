"""The congestion rule, as tables of vehicle counts over time."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detections import Detections
from analytics.rules.base import RuleInput
from analytics.rules.congestion import CongestionRule
from analytics.zones import Zone
from core.config import CongestionRuleConfig, ZoneConfig
from core.messages import EventPhase, Severity

NAMES = {0: "person", 2: "car", 3: "motorcycle", 7: "truck"}


def _vehicles(count: int, people: int = 0) -> Detections:
    classes = [3 if i % 2 else 2 for i in range(count)] + [0] * people
    n = len(classes)
    boxes = np.tile(np.array([[10, 10, 20, 20]], np.float32), (n, 1))
    return Detections(boxes, np.full(n, 0.8, np.float32), np.array(classes, np.int32), NAMES, (100, 100))


ZONE = Zone(ZoneConfig(name="road", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)]))
FRAME = np.zeros((100, 100, 3), np.uint8)


def _seen(now_ts: float, in_zone: Detections) -> RuleInput:
    return RuleInput(now_ts, FRAME, in_zone, in_zone, ZONE)


def _rule(**overrides: object) -> CongestionRule:
    values: dict[str, object] = {
        "type": "congestion",
        "zone": "road",
        "min_vehicles": 4,
        "min_duration_s": 5,
        "end_after_s": 6,
        "update_interval_s": 10,
    }
    values.update(overrides)
    return CongestionRule(CongestionRuleConfig.model_validate(values))


def _run(rule: CongestionRule, counts: list[tuple[float, int]]) -> list[tuple[float, EventPhase]]:
    return [(t, e.phase) for t, n in counts for e in rule.process(_seen(t, _vehicles(n)))]


def test_jam_opens_after_sustained_count_and_not_before() -> None:
    events = _run(_rule(), [(0, 4), (2, 5), (4.9, 4), (5.0, 4), (6, 4)])
    assert events == [(5.0, EventPhase.START)]


def test_count_below_threshold_never_opens() -> None:
    assert _run(_rule(), [(t, 3) for t in range(30)]) == []


def test_people_are_not_vehicles() -> None:
    rule = _rule(min_duration_s=0)
    assert rule.process(_seen(0, _vehicles(2, people=5))) == []


def test_a_long_dip_restarts_the_clock_but_a_short_one_does_not() -> None:
    short_dip = [(0, 5), (1, 5), (2, 1), (3, 5), (5, 5)]
    assert _run(_rule(), short_dip) == [(5, EventPhase.START)]
    long_dip = [(0, 5), (1, 5), (2, 1), (4.5, 1), (5, 5), (9, 5), (10, 5)]
    assert _run(_rule(), long_dip) == [(10, EventPhase.START)]


def test_event_ends_only_after_end_after_s_below_threshold() -> None:
    counts = [(0, 5), (5, 5), (6, 2), (8, 5), (9, 2), (14.9, 1), (15, 1), (16, 1)]
    assert _run(_rule(), counts) == [(5, EventPhase.START), (15, EventPhase.END)]


def test_start_carries_onset_time_count_and_severity() -> None:
    rule = _rule()
    rule.process(_seen(0, _vehicles(5)))
    (event,) = rule.process(_seen(5, _vehicles(6)))
    assert event.started_ts == 0
    assert event.at_ts == 5
    assert event.details["vehicles"] == 6 and event.details["threshold"] == 4
    assert event.details["by_class"] == {"car": 3, "motorcycle": 3}
    assert event.severity == Severity.MEDIUM  # 6 / 4 = 1.5


@pytest.mark.parametrize(("count", "severity"), [(4, Severity.LOW), (6, Severity.MEDIUM), (8, Severity.HIGH)])
def test_severity_grows_with_the_ratio_to_the_threshold(count: int, severity: Severity) -> None:
    rule = _rule(min_duration_s=0)
    (event,) = rule.process(_seen(0, _vehicles(count)))
    assert event.severity == severity


def test_escalation_updates_at_once_and_severity_never_drops() -> None:
    rule = _rule(min_duration_s=0)
    rule.process(_seen(0, _vehicles(4)))
    (update,) = rule.process(_seen(1, _vehicles(8)))
    assert update.phase == EventPhase.UPDATE and update.severity == Severity.HIGH
    assert rule.process(_seen(2, _vehicles(4))) == []


def test_updates_are_rate_limited_and_only_on_change() -> None:
    rule = _rule(min_duration_s=0, update_interval_s=10)
    rule.process(_seen(0, _vehicles(4)))
    assert rule.process(_seen(5, _vehicles(5))) == []  # peak changed but not yet due
    (update,) = rule.process(_seen(10, _vehicles(5)))
    assert update.details["peak_vehicles"] == 5
    assert rule.process(_seen(25, _vehicles(5))) == []  # due, but nothing changed


def test_a_new_event_can_follow_an_ended_one() -> None:
    counts = [(0, 5), (5, 5), (6, 0), (12, 0), (20, 5), (25, 5)]
    assert _run(_rule(), counts) == [(5, EventPhase.START), (12, EventPhase.END), (25, EventPhase.START)]
