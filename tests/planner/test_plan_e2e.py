"""Whole plans on real data: Helsinki's streets and buildings (exact, proven optimal) and the city of Palembang.

Each plan's claims are checked again here by a plain, point-by-point reading of the geometry,
independent of the vectorised coverage code: every demand point the plan counts as covered is
inside a chosen camera's sector, within its range for the point's density, and in its line of sight.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml
from shapely.geometry import LineString

from core.config_loader import parse_config, parse_yaml_model
from core.settings import Settings
from planner.build import load_buildings
from planner.optics import ground_range_for_ppm
from planner.plan import run_plan
from planner.report import write_report
from planner.result import PlanResult
from planner.spec import PlanSpec

ROOT = Path(__file__).resolve().parents[2]
SHORTEN_M = 2.0  # the coverage rule: the sight line's last metres at each end never block (wall mounts, kerbs)


def _spec(name: str, **update: object) -> PlanSpec:
    spec = parse_yaml_model((ROOT / "plans" / name).read_text(), PlanSpec, source=name)
    return PlanSpec.model_validate({**spec.model_dump(by_alias=True), **update})


def _sees(result: PlanResult, camera: int, point: int, tree: shapely.STRtree | None) -> bool:
    candidates, demand = result.candidates, result.demand
    model = candidates.models[int(candidates.model[camera])]
    cx, cy = candidates.xy[camera]
    px, py = demand.xy[point]
    dx, dy = px - cx, py - cy
    distance = math.hypot(dx, dy)
    if distance == 0.0:
        return True  # a point at the pole's foot is seen whatever the heading
    if distance > ground_range_for_ppm(model, float(demand.required_ppm[point])) + 1e-6:
        return False
    bearing = math.degrees(math.atan2(dx, dy)) % 360.0
    off = abs((bearing - float(candidates.heading_deg[camera]) + 180.0) % 360.0 - 180.0)
    if model.hfov_deg < 360.0 and off > model.hfov_deg / 2.0 + 1e-6:
        return False
    if tree is None or distance <= 2 * SHORTEN_M:
        return True
    ux, uy = dx / distance, dy / distance
    sight = LineString([(cx + ux * SHORTEN_M, cy + uy * SHORTEN_M), (px - ux * SHORTEN_M, py - uy * SHORTEN_M)])
    hits = tree.query(sight, predicate="intersects")
    # A building holding the camera (a wall mount) or the point (a school's own grounds) never hides it.
    own = set(tree.query(shapely.points([(cx, cy), (px, py)]), predicate="intersects")[1].tolist())
    return all(int(hit) in own for hit in hits)


def _assert_every_counted_point_is_seen(result: PlanResult, buildings: list[shapely.Polygon]) -> float:
    """Check the plan point by point; return the covered share of weight found this way."""
    tree = shapely.STRtree(buildings) if buildings else None
    chosen = result.solution.chosen
    covered = result.coverage.covered_by(chosen)
    xy = result.candidates.xy[chosen]
    seen_weight = 0.0
    for point in np.flatnonzero(covered):
        near = chosen[np.hypot(*(xy - result.demand.xy[point]).T) < 400.0]
        assert any(_sees(result, int(cam), int(point), tree) for cam in near), f"point {point} counted, not seen"
        seen_weight += float(result.demand.weight[point])
    return seen_weight / float(result.demand.weight.sum())


def test_helsinki_fewest_cameras_for_95_percent_is_proven_optimal_and_every_count_is_real(tmp_path: Path) -> None:
    spec = _spec("helsinki.yaml")
    result = run_plan(spec, base_dir=ROOT / "plans", settings=Settings())
    solution = result.solution
    assert solution.solver.startswith("exact")
    assert solution.optimal and solution.gap == 0.0, solution.status
    assert solution.coverage >= 0.95
    greedy = next(s for s in result.alternatives if s.solver.startswith("greedy"))
    assert len(greedy.chosen) >= len(solution.chosen) >= math.ceil(solution.bound or 0) > 0
    assert len(result.demand) > 1500 and len(result.candidates) > 1000  # a real network, not a toy
    buildings = load_buildings(spec.buildings, result.frame, base_dir=ROOT / "plans")
    assert len(buildings) > 400
    assert result.coverage.blocked > 0  # the buildings do hide some of the street
    assert _assert_every_counted_point_is_seen(result, buildings) == pytest.approx(solution.coverage)
    files = write_report(result, tmp_path)
    summary = json.loads(files["summary.json"].read_text())
    assert summary["cameras_new"] == len(solution.chosen)


def test_a_budget_plan_covers_the_most_it_can_and_never_less_than_greedy() -> None:
    spec = _spec("helsinki.yaml", objective={"budget": 20})
    result = run_plan(spec, base_dir=ROOT / "plans")
    assert len(result.solution.chosen) <= 20
    greedy = next(s for s in result.alternatives if s.solver.startswith("greedy"))
    assert result.solution.covered_weight >= greedy.covered_weight - 1e-9


def test_palembang_city_plan_from_points_of_interest_finishes_with_its_report(tmp_path: Path) -> None:
    spec = _spec("palembang.yaml", solver={"method": "auto", "time_limit_s": 60})
    result = run_plan(spec, base_dir=ROOT / "plans")
    assert len(result.areas) == 107
    assert result.solution.coverage >= 0.95 and not result.notes  # every layer has places inside the city
    assert _assert_every_counted_point_is_seen(result, []) == pytest.approx(result.solution.coverage)
    files = write_report(result, tmp_path)
    assert {"report.html", "map.png", "plan.geojson", "cameras.yaml", "coverage.csv", "summary.json"} <= set(files)
    html = files["report.html"].read_text()
    for kelurahan in ("Ilir", "Ulu"):
        assert kelurahan in html
    # The camera entries drop into a camera_config.yaml as they are.
    entries = yaml.safe_load(files["cameras.yaml"].read_text())["cameras"]
    config = parse_config(yaml.safe_dump({"version": 1, "cameras": entries[:5]}), source="cameras.yaml")
    assert len(config.cameras) == 5


def test_a_request_stored_as_json_plans_the_same_as_the_original() -> None:
    """The API stores the request as JSON with every default written out; reading it back changes nothing."""
    spec = _spec("helsinki.yaml", objective={"budget": 10})
    stored = PlanSpec.model_validate(json.loads(json.dumps(spec.model_dump(mode="json", by_alias=True))))
    assert stored == spec
    first, again = run_plan(spec, base_dir=ROOT / "plans"), run_plan(stored, base_dir=ROOT / "plans")
    assert first.solution.covered_weight == again.solution.covered_weight
