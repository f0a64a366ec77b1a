"""The start / end timing every single-condition rule shares, as tables of (time, condition)."""

from __future__ import annotations

import pytest

from analytics.rules.persistence import Persistence, Transition

START, END = Transition.START, Transition.END


def _run(feed: list[tuple[float, bool]], **limits: float) -> list[tuple[float, Transition]]:
    held = Persistence(limits.get("min_duration_s", 5), limits.get("end_after_s", 6), limits.get("dip", 2))
    return [(t, change) for t, holds in feed if (change := held.update(t, holds)) is not None]


@pytest.mark.parametrize(
    ("feed", "expected"),
    [
        ([(0, True), (4.9, True), (5, True), (6, True)], [(5, START)]),  # starts exactly at min_duration_s
        ([(0, True), (1, False), (2.5, True), (5, True)], [(5, START)]),  # a 1.5 s dip keeps the clock
        ([(0, True), (1, False), (3.5, False), (4, True), (8.9, True), (9, True)], [(9, START)]),  # a long one resets
        ([(0, True), (5, True), (6, False), (11.9, False), (12, False)], [(5, START), (12, END)]),  # ends after 6 s
        ([(0, True), (5, True), (6, False), (10, True), (14, False), (19, False)], [(5, START)]),  # a comeback holds it
        ([(t, False) for t in range(30)], []),
    ],
)
def test_start_and_end_times(feed: list[tuple[float, bool]], expected: list[tuple[float, Transition]]) -> None:
    assert _run(feed) == expected


def test_since_is_when_the_condition_began_and_is_cleared_at_the_end() -> None:
    held = Persistence(min_duration_s=3, end_after_s=1, dip_tolerance_s=0)
    for t in (10, 11, 12):
        assert held.update(t, True) is None
    assert held.update(13, True) == START and held.since == 10 and held.active
    assert held.update(14, False) is None and held.gone_since == 14
    assert held.update(15, False) == END and held.since is None and not held.active
