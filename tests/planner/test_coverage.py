"""The visibility matrix: view sector, density range and buildings, checked against hand-placed geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely import LineString, Point, Polygon, box

from planner.coverage import SIGHT_MARGIN_M, compute_coverage
from planner.model import CameraModel, CandidateSet, DemandSet
from planner.optics import ground_range_for_ppm

# 1920 px, 90°, mount 6 m, target 1 m: 25 px/m reaches 38.4 m slant, sqrt(38.4² - 5²) = 38.07 m on the
# ground; 62.5 px/m reaches 15.36 m slant, sqrt(15.36² - 5²) = 14.52 m on the ground.
BULLET = CameraModel("bullet", 1920, 1080, 90.0, 6.0, bitrate_kbps=4096.0)
DOME = CameraModel("dome", 3840, 2160, 360.0, 6.0, bitrate_kbps=8192.0)


def _demand(xy: list[tuple[float, float]], ppm: list[float] | None = None) -> DemandSet:
    n = len(xy)
    return DemandSet(
        xy=np.array(xy, dtype=float).reshape(n, 2),
        weight=np.ones(n),
        klass=np.zeros(n, dtype=np.int64),
        class_names=["road"],
        required_ppm=np.array(ppm if ppm is not None else [25.0] * n, dtype=float),
        area=np.zeros(n, dtype=np.int64),
        area_names=["a"],
    )


def _candidates(xy: list[tuple[float, float]], headings: list[float], models: list[int] | None = None) -> CandidateSet:
    m = len(xy)
    return CandidateSet(
        xy=np.array(xy, dtype=float).reshape(m, 2),
        heading_deg=np.array(headings, dtype=float),
        model=np.array(models if models is not None else [0] * m, dtype=np.int64),
        models=[BULLET, DOME],
        pole=np.arange(m, dtype=np.int64),
        existing=np.zeros(m, dtype=bool),
    )


def _polar(bearing_deg: float, distance: float) -> tuple[float, float]:
    return distance * math.sin(math.radians(bearing_deg)), distance * math.cos(math.radians(bearing_deg))


@pytest.mark.parametrize(
    ("point", "ppm", "heading", "model", "buildings", "seen"),
    [
        ((0.0, 20.0), 25.0, 0.0, 0, [], True),  # straight ahead, 20 m < 38.07 m
        ((20.0, 0.0), 25.0, 0.0, 0, [], False),  # due east, 90° off a 45° half-angle
        ((10.0, 10.0), 25.0, 0.0, 0, [], True),  # bearing exactly 45°: on the sector's edge
        ((10.2, 10.0), 25.0, 0.0, 0, [], False),  # bearing 45.6°: just outside
        ((0.0, -20.0), 25.0, 0.0, 0, [], False),  # behind the camera
        ((0.0, 38.0), 25.0, 0.0, 0, [], True),  # 38 m < 38.07 m
        ((0.0, 38.2), 25.0, 0.0, 0, [], False),  # 38.2 m > 38.07 m
        ((0.0, 20.0), 62.5, 0.0, 0, [], False),  # observe density: 20 m > 14.52 m
        ((0.0, 14.0), 62.5, 0.0, 0, [], True),  # observe density: 14 m < 14.52 m
        (_polar(10.0, 20.0), 25.0, 350.0, 0, [], True),  # heading 350°, bearing 10°: 20° off across north
        (_polar(350.0, 20.0), 25.0, 10.0, 0, [], True),  # heading 10°, bearing 350°: 20° off the other way
        (_polar(60.0, 20.0), 25.0, 350.0, 0, [], False),  # heading 350°, bearing 60°: 70° off
        ((0.0, -20.0), 25.0, 0.0, 1, [], True),  # a 360° dome sees behind itself
        ((0.0, 20.0), 25.0, 0.0, 0, [box(-2, 9, 2, 13)], False),  # a building square in between
        ((0.0, 20.0), 25.0, 0.0, 0, [box(5, 9, 9, 13)], True),  # a building beside the line
        ((0.0, 20.0), 25.0, 0.0, 0, [box(-5, 15, 5, 25)], True),  # the point inside its own footprint
        ((0.0, 20.0), 25.0, 0.0, 0, [box(-5, -6, 5, 0)], True),  # the camera on its building's wall
        ((0.0, 20.0), 25.0, 0.0, 0, [box(-1, 18.5, 1, 19)], True),  # a kiosk within the margin of the point
    ],
)
def test_a_point_is_seen_inside_the_sector_within_range_and_not_behind_a_building(
    point: tuple[float, float], ppm: float, heading: float, model: int, buildings: list[Polygon], seen: bool
) -> None:
    coverage = compute_coverage(_demand([point], [ppm]), _candidates([(0.0, 0.0)], [heading], [model]), buildings)
    assert coverage.matrix.shape == (1, 1)
    assert bool(coverage.matrix[0, 0]) is seen


def test_pairs_hidden_by_buildings_are_counted_and_still_in_reach() -> None:
    demand = _demand([(0.0, 20.0), (0.0, 30.0), (3.0, 20.0), (0.0, -20.0)])
    coverage = compute_coverage(demand, _candidates([(0.0, 0.0)], [0.0]), [box(-1, 9, 1, 13)])
    assert coverage.matrix.toarray().tolist() == [[0, 0, 1, 0]]
    assert coverage.blocked == 2
    assert coverage.in_reach.tolist() == [True, True, True, False]
    assert coverage.pairs_tested == 4  # all four lie within the longest range, 38.07 m


def _brute_force(demand: DemandSet, candidates: CandidateSet, buildings: list[Polygon]) -> np.ndarray:
    out = np.zeros((len(candidates), len(demand)), dtype=bool)
    for j, (cx, cy) in enumerate(candidates.xy):
        model = candidates.models[int(candidates.model[j])]
        for i, (px, py) in enumerate(demand.xy):
            dist = math.hypot(px - cx, py - cy)
            off = abs((math.degrees(math.atan2(px - cx, py - cy)) - candidates.heading_deg[j] + 180) % 360 - 180)
            if dist > ground_range_for_ppm(model, float(demand.required_ppm[i])) or off > model.hfov_deg / 2:
                continue
            if dist > 2 * SIGHT_MARGIN_M:
                ux, uy = (px - cx) / dist, (py - cy) / dist
                m = SIGHT_MARGIN_M
                line = LineString([(cx + ux * m, cy + uy * m), (px - ux * m, py - uy * m)])
                mine = [b for b in buildings if b.intersects(Point(cx, cy))]
                theirs = [b for b in buildings if b.intersects(Point(px, py))]
                if any(line.intersects(b) and b not in mine and b not in theirs for b in buildings):
                    continue
            out[j, i] = True
    return out


def test_the_vectorised_matrix_matches_a_pair_by_pair_check_on_a_random_scene() -> None:
    rng = np.random.default_rng(7)
    points = [tuple(p) for p in rng.uniform(0, 200, (300, 2))]
    demand = _demand(points, list(rng.choice([12.5, 25.0, 62.5], 300)))
    cams = [tuple(p) for p in rng.uniform(0, 200, (40, 2))]
    candidates = _candidates(cams, list(rng.uniform(0, 360, 40)), list(rng.choice([0, 1], 40, p=[0.8, 0.2])))
    corners = rng.uniform(0, 190, (25, 2))
    buildings = [box(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, rng.uniform(3, 12, (25, 2)), strict=True)]
    calls: list[tuple[int, int]] = []
    coverage = compute_coverage(demand, candidates, buildings, progress=lambda done, total: calls.append((done, total)))
    expected = _brute_force(demand, candidates, buildings)
    assert (coverage.matrix.toarray() > 0).tolist() == expected.tolist()
    assert expected.sum() > 100 and coverage.blocked > 10  # the scene exercises both range and occlusion
    assert calls[-1] == (40, 40)


def test_empty_demand_or_candidates_give_an_empty_matrix() -> None:
    assert compute_coverage(_demand([]), _candidates([(0.0, 0.0)], [0.0])).matrix.shape == (1, 0)
    coverage = compute_coverage(_demand([(0.0, 1.0)]), _candidates([], []))
    assert coverage.matrix.shape == (0, 1)
    assert coverage.in_reach.tolist() == [False]
