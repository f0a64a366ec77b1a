"""Zones test the bottom-centre of each box, in 0-1 coordinates, for any image size."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detections import Detections
from analytics.zones import Zone
from core.config import ZoneConfig

NAMES = {0: "person", 2: "car"}


def _detections(boxes: list[tuple[float, float, float, float]], size: tuple[int, int] = (200, 100)) -> Detections:
    n = len(boxes)
    return Detections(
        np.array(boxes, np.float32).reshape(n, 4),
        np.full(n, 0.9, np.float32),
        np.full(n, 2, np.int32),
        NAMES,
        size,
    )


LOWER_HALF = Zone(ZoneConfig(name="road", polygon=[(0, 0.5), (1, 0.5), (1, 1), (0, 1)]))
TRIANGLE = Zone(ZoneConfig(name="tri", polygon=[(0, 0), (1, 0), (0, 1)]))


@pytest.mark.parametrize(
    ("zone", "box", "inside"),
    [
        (LOWER_HALF, (10, 10, 30, 80), True),  # top outside, bottom-centre (20, 80) inside
        (LOWER_HALF, (10, 60, 30, 45), False),  # bottom at y=45 is above the zone
        (LOWER_HALF, (10, 10, 30, 50), True),  # exactly on the edge counts as inside
        (LOWER_HALF, (150, 70, 250, 99), True),  # box runs off the image, its bottom-centre does not
        (TRIANGLE, (10, 0, 30, 20), True),  # (20, 20) -> (0.1, 0.2)
        (TRIANGLE, (150, 0, 190, 90), False),  # (170, 90) -> (0.85, 0.9)
    ],
)
def test_zone_membership_uses_the_bottom_centre(
    zone: Zone, box: tuple[float, float, float, float], inside: bool
) -> None:
    assert len(zone.filter(_detections([box]))) == int(inside)


def test_zone_scales_with_the_image_size() -> None:
    box = (10, 10, 30, 80)
    assert len(LOWER_HALF.filter(_detections([box], size=(200, 100)))) == 1
    assert len(LOWER_HALF.filter(_detections([box], size=(200, 400)))) == 0  # y=80 of 400 is in the top half


def test_filter_keeps_only_the_boxes_inside() -> None:
    detections = _detections([(0, 0, 10, 10), (0, 60, 10, 90), (100, 70, 120, 95)])
    inside = LOWER_HALF.filter(detections)
    assert inside.xyxy[:, 3].tolist() == [90, 95]


def test_empty_detections_stay_empty() -> None:
    assert len(LOWER_HALF.filter(Detections.empty(NAMES, (200, 100)))) == 0


def test_pixel_polygon_for_drawing() -> None:
    assert LOWER_HALF.pixel_polygon((200, 100)).tolist() == [[0, 50], [200, 50], [200, 100], [0, 100]]
