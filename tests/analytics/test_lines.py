"""Counting lines on hand-made tracked detections: crossings, directions, de-duplication, buckets."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detections import Detections
from analytics.lines import CountingLine, LineCounter
from core.config import LineConfig

NAMES = {0: "person", 2: "car", 3: "motorcycle"}
SIZE = (200, 100)  # not square: the line works in 0-1 coordinates of each axis


def _frame(*objects: tuple[int, float, float, int]) -> Detections:
    """Detections whose boxes stand on (x, y) (0-1 coordinates), as (track id, x, y, class id)."""
    width, height = SIZE
    boxes = [[x * width - 5, y * height - 10, x * width + 5, y * height] for _, x, y, _ in objects]
    return Detections(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        np.full(len(objects), 0.9, np.float32),
        np.asarray([c for *_, c in objects], np.int32),
        NAMES,
        SIZE,
        np.asarray([t for t, *_ in objects], np.int64),
    )


# A horizontal line across the middle, drawn from the left edge to the right edge: looking from a
# (left) to b (right), the left side is the top of the image, so moving down the image is "in".
HORIZONTAL = LineConfig(name="middle", a=(0.2, 0.5), b=(0.8, 0.5))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param([(0.5, 0.3), (0.5, 0.7)], ["in"], id="down across the middle is in"),
        pytest.param([(0.5, 0.7), (0.5, 0.3)], ["out"], id="up across the middle is out"),
        pytest.param([(0.5, 0.3), (0.5, 0.4), (0.5, 0.45), (0.5, 0.6)], ["in"], id="slow approach counts once"),
        pytest.param([(0.5, 0.3), (0.5, 0.7), (0.5, 0.8), (0.5, 0.9)], ["in"], id="staying across counts once"),
        pytest.param(
            [(0.5, 0.3), (0.5, 0.7), (0.5, 0.3), (0.5, 0.7)], ["in", "out", "in"], id="back and forth counts each way"
        ),
        pytest.param([(0.5, 0.3), (0.5, 0.5), (0.5, 0.7)], ["in"], id="a stop on the line counts once"),
        pytest.param([(0.5, 0.3), (0.5, 0.5), (0.5, 0.3)], [], id="touching the line and going back is no crossing"),
        pytest.param([(0.5, 0.3), (0.5, 0.502), (0.5, 0.498), (0.5, 0.503)], [], id="wobbling on the line is none"),
        pytest.param([(0.7, 0.3), (0.9, 0.7)], ["in"], id="a diagonal move through the end point counts"),
        pytest.param([(0.8, 0.3), (0.8, 0.7)], ["in"], id="straight through the end point counts"),
        pytest.param([(0.9, 0.3), (0.9, 0.7)], [], id="beside the segment is no crossing"),
        pytest.param([(0.1, 0.7), (0.1, 0.3)], [], id="beside the start is no crossing"),
        pytest.param([(0.5, 0.1), (0.5, 0.3)], [], id="moving on one side is no crossing"),
        pytest.param([(0.5, 0.5), (0.5, 0.7)], [], id="first seen on the line has no side to come from"),
    ],
)
def test_a_track_crossing_a_line_counts_by_direction(path: list[tuple[float, float]], expected: list[str]) -> None:
    line = CountingLine(HORIZONTAL)
    directions = []
    for index, (x, y) in enumerate(path):
        directions += [c.direction for c in line.update(_frame((7, x, y, 2)), float(index))]
    assert directions == expected


def test_direction_follows_the_order_of_the_end_points() -> None:
    reversed_line = CountingLine(LineConfig(name="middle", a=(0.8, 0.5), b=(0.2, 0.5)))
    reversed_line.update(_frame((1, 0.5, 0.3, 2)), 0.0)
    assert [c.direction for c in reversed_line.update(_frame((1, 0.5, 0.7, 2)), 1.0)] == ["out"]


def test_a_vertical_line_counts_left_to_right_as_in_when_drawn_downwards() -> None:
    line = CountingLine(LineConfig(name="gate", a=(0.5, 0.0), b=(0.5, 1.0)))
    line.update(_frame((1, 0.6, 0.5, 2), (2, 0.4, 0.5, 2)), 0.0)
    crossings = line.update(_frame((1, 0.4, 0.5, 2), (2, 0.6, 0.5, 2)), 1.0)
    assert {(c.track_id, c.direction) for c in crossings} == {(1, "in"), (2, "out")}


def test_untracked_detections_and_other_classes_are_never_counted() -> None:
    line = CountingLine(LineConfig(name="middle", a=(0.2, 0.5), b=(0.8, 0.5), classes=["car"]))
    line.update(_frame((-1, 0.3, 0.3, 2), (5, 0.5, 0.3, 0), (6, 0.7, 0.3, 2)), 0.0)
    crossings = line.update(_frame((-1, 0.3, 0.7, 2), (5, 0.5, 0.7, 0), (6, 0.7, 0.7, 2)), 1.0)
    assert [(c.track_id, c.class_name) for c in crossings] == [(6, "car")]


def test_detections_without_track_ids_count_nothing() -> None:
    line = CountingLine(HORIZONTAL)
    untracked = _frame((1, 0.5, 0.3, 2))
    line.update(Detections(untracked.xyxy, untracked.confidence, untracked.class_id, NAMES, SIZE), 0.0)
    after = _frame((1, 0.5, 0.7, 2))
    assert line.update(Detections(after.xyxy, after.confidence, after.class_id, NAMES, SIZE), 1.0) == []


def test_counts_are_summed_per_minute_and_handed_out_once_the_minute_is_over() -> None:
    counter = LineCounter([HORIZONTAL, LineConfig(name="other", a=(0.0, 0.9), b=(1.0, 0.9))])
    moves = [  # (time, track, y, class): three cars and a motorcycle down in minute 0, one car up in minute 1
        (10.0, 1, 0.3, 2),
        (11.0, 1, 0.7, 2),
        (20.0, 2, 0.3, 2),
        (21.0, 2, 0.7, 2),
        (30.0, 3, 0.3, 3),
        (31.0, 3, 0.7, 3),
        (40.0, 4, 0.3, 2),
        (59.5, 4, 0.7, 2),
        (70.0, 5, 0.7, 2),
        (75.0, 5, 0.3, 2),
    ]
    for at, track, y, cls in moves:
        counter.update(_frame((track, 0.5, y, cls)), at)
    assert counter.take(59.9) == []
    closed = counter.take(60.0)
    assert [(b.line, b.class_name, b.direction, b.bucket_start_ts, b.count) for b in closed] == [
        ("middle", "car", "in", 0.0, 3),
        ("middle", "motorcycle", "in", 0.0, 1),
    ]
    assert counter.take(100.0) == []
    assert [(b.class_name, b.direction, b.bucket_start_ts, b.count) for b in counter.take(120.0)] == [
        ("car", "out", 60.0, 1)
    ]
