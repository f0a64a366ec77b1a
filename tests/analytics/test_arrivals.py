"""Which person and vehicle boxes came there moving (a parked car) and which appeared in place (a bag called a car)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.arrivals import Arrivals

CAR = (100.0, 100.0, 140.0, 120.0)  # 40 px wide


def _at(box: tuple[float, float, float, float], dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    return np.array([[box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy]], np.float32)


def _follow(arrivals: Arrivals, offsets: list[float | None], step_s: float = 1.0) -> list[bool]:
    """Feed one box moved by each offset in x (None: not detected in that look); what ``update`` says of it."""
    said = []
    for index, dx in enumerate(offsets):
        boxes = _at(CAR, dx) if dx is not None else np.zeros((0, 4), np.float32)
        moved = arrivals.update(boxes, index * step_s)
        said.append(bool(moved[0]) if len(moved) else False)
    return said


@pytest.mark.parametrize(
    ("offsets", "last", "why"),
    [
        ([-80, -50, -25, -10, 0, 0, 0], True, "drove in and stopped"),
        ([0, 0, 0, 0, 0], False, "appeared where it stands and never moved"),
        ([1, -1, 2, 0, -2, 1], False, "a box that jitters by a few pixels"),
        ([-80, -50, None, -10, 0, 0], True, "one look missed on the way in"),
        ([-400, -10, 0, 0], False, "too far between two looks: a different object"),
        ([-80, -50, -25, None, None, None, None, 0], False, "lost longer than miss_s: seen anew in place"),
    ],
)
def test_a_box_counts_as_arrived_only_when_its_path_came_from_elsewhere(
    offsets: list[float | None], last: bool, why: str
) -> None:
    assert _follow(Arrivals(miss_s=3.0), offsets)[-1] is last, why


def test_two_boxes_are_followed_apart() -> None:
    arrivals = Arrivals(miss_s=3.0)
    parked, bag = CAR, (300.0, 100.0, 320.0, 110.0)
    moved = np.zeros(2, np.bool_)
    for step, dx in enumerate([-60, -30, 0, 0]):
        boxes = np.concatenate([_at(parked, dx), _at(bag)])
        moved = arrivals.update(boxes, float(step))
    assert moved.tolist() == [True, False]


def test_a_box_passing_close_by_does_not_carry_a_still_one_away() -> None:
    """A car driving past a bag taken for a car: the bag's path stays where it is."""
    arrivals = Arrivals(miss_s=3.0)
    bag = CAR
    moved = np.zeros(1, np.bool_)
    for step, passing in enumerate([-120, -60, None, 60, 120]):
        boxes = _at(bag) if passing is None else np.concatenate([_at(bag), _at(CAR, passing)])
        moved = arrivals.update(boxes, float(step))
    assert not moved[0]


def test_no_boxes_give_an_empty_answer() -> None:
    assert Arrivals(miss_s=3.0).update(np.zeros((0, 4), np.float32), 0.0).shape == (0,)
