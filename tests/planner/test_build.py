"""From a spec to demand points and candidate sites: sampling, junctions, POI poles, existing cameras."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shapely import LineString, box

from planner.build import (
    build_candidates,
    build_demand,
    concat_candidates,
    load_areas,
    load_existing,
    models_from_spec,
)
from planner.candidates import pole_headings
from planner.geo import LocalFrame, bearing_deg
from planner.model import CameraModel
from planner.sampling import area_index, grid_in_areas, road_junctions, sample_lines
from planner.sources import PlanInputError
from planner.spec import AreaSpec, CameraModelSpec, ExistingSpec, PlanSpec, SourceRef

FRAME = LocalFrame.around(104.75, -2.98)
MODEL = CameraModel("bullet", 2560, 1440, 90.0, 6.0, 4096.0)


def _spec(**fields: Any) -> PlanSpec:
    fields.setdefault("demand", {"points": [{"source": {"geojson": _points((104.75, -2.98))}, "class": "market"}]})
    return PlanSpec.model_validate(fields)


def _points(*lonlat: tuple[float, float]) -> dict[str, Any]:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)}, "properties": {"NAMOBJ": f"p{i}"}}
        for i, p in enumerate(lonlat)
    ]
    return {"type": "FeatureCollection", "features": features}


@pytest.mark.parametrize(
    ("length", "spacing", "count", "first"),
    [(100.0, 10.0, 10, 5.0), (104.0, 10.0, 10, 7.0), (3.0, 10.0, 1, 1.5), (500.0, 50.0, 10, 25.0)],
)
def test_roads_are_sampled_at_the_spacing_centred_on_each_line(
    length: float, spacing: float, count: int, first: float
) -> None:
    xy, line, bearing = sample_lines([LineString([(0, 0), (length, 0)])], spacing)
    assert len(xy) == count
    assert xy[0, 0] == pytest.approx(first)
    np.testing.assert_allclose(np.diff(xy[:, 0]), spacing)
    np.testing.assert_allclose(bearing, 90.0)
    assert set(line) == {0}


def test_sampling_follows_bends_and_gives_each_point_its_line() -> None:
    lines = [LineString([(0, 0), (0, 30), (30, 30)]), LineString([(100, 0), (100, -20)])]
    _, line, bearing = sample_lines(lines, 10.0)
    assert list(line) == [0] * 6 + [1] * 2
    assert bearing[0] == pytest.approx(0.0) and bearing[5] == pytest.approx(90.0)
    assert bearing[-1] == pytest.approx(180.0)


def test_junctions_are_found_where_three_or_more_segment_ends_meet() -> None:
    roads = [
        LineString([(0, 0), (100, 0)]),  # a cross at (0, 0) made of four lines
        LineString([(0, 0), (-100, 0)]),
        LineString([(0, 0), (0, 100)]),
        LineString([(0, 0), (0, -100)]),
        LineString([(200, -50), (200, 0), (200, 50)]),  # an OSM way running through a T...
        LineString([(200, 0), (300, 0)]),  # ...where another way ends on its interior node
        LineString([(0, 100), (50, 150)]),  # a bend (two ends): not a junction
    ]
    xy, arms = road_junctions(roads)
    found = {tuple(p): sorted(a) for p, a in zip(xy.tolist(), arms, strict=True)}
    assert found == {(0.0, 0.0): [0.0, 90.0, 180.0, 270.0], (200.0, 0.0): [0.0, 90.0, 180.0]}


def test_a_square_grid_covers_adjacent_areas_once() -> None:
    xy, owner = grid_in_areas([box(0, 0, 100, 100), box(100, 0, 200, 100)], 10.0)
    assert len(xy) == 11 * 21  # the shared edge x = 100 is counted in the first square only
    assert (owner[xy[:, 0] == 100] == 0).all()


def test_points_get_the_area_that_holds_them_or_minus_one() -> None:
    areas = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    assert area_index(np.array([[5.0, 5.0], [15.0, 5.0], [10.0, 5.0], [50.0, 50.0]]), areas).tolist() == [0, 1, 0, -1]


@pytest.mark.parametrize(
    ("arms", "count", "expected"),
    [
        ([30.0, 210.0], 4, [30.0, 210.0, 120.0, 300.0]),  # along the street both ways, then across
        ([30.0, 210.0], 2, [30.0, 210.0]),
        ([0.0, 92.0, 180.0, 270.0], 4, [0.0, 92.0, 180.0, 270.0]),  # junction: down each arm
        ([0.0, 5.0], 3, [0.0, 180.0, 90.0]),  # arms 5 degrees apart share one heading
    ],
)
def test_pole_headings_look_along_the_street_then_across(arms: list[float], count: int, expected: list[float]) -> None:
    assert pole_headings(arms, count) == expected


def test_load_areas_keeps_only_the_named_kelurahan() -> None:
    area = AreaSpec(source=SourceRef(path="assets:geo/kelurahan_palembang.geojson"), only=["Satu Ilir", "Satu Ulu"])
    areas = load_areas(area, FRAME)
    assert [name for name, _ in areas] == ["Satu Ilir", "Satu Ulu"]
    assert all(0.1e6 < geom.area < 10e6 for _, geom in areas)  # metres now: a kelurahan is about 1-3 km²


def test_load_areas_names_unknown_kelurahan() -> None:
    area = AreaSpec(source=SourceRef(path="assets:geo/kelurahan_palembang.geojson"), only=["Satu Ilir", "Atlantis"])
    with pytest.raises(PlanInputError, match="does not hold: Atlantis"):
        load_areas(area, FRAME)


def test_palembang_markets_are_clipped_to_the_city() -> None:
    spec = _spec(
        area={"source": {"path": "assets:geo/kelurahan_palembang.geojson"}},
        demand={
            "points": [{"source": {"path": "assets:geo/palembang-rbi50k/NIAGA_PT_50K.geojson"}, "class": "market"}]
        },
    )
    areas = load_areas(spec.area, FRAME)
    demand = build_demand(spec, FRAME, areas, [])
    assert 10 <= len(demand) < 42  # the layer's sheet reaches past the city boundary: 20 of 42 lie inside
    assert (demand.area >= 0).all()
    assert demand.class_names == ["market"]
    np.testing.assert_allclose(demand.required_ppm, 62.5)  # observe


def test_demand_joins_roads_points_and_grid_in_class_order() -> None:
    spec = _spec(
        area={"source": {"geojson": {"type": "Polygon", "coordinates": [[[104.74, -2.99], [104.76, -2.99],
              [104.76, -2.97], [104.74, -2.97], [104.74, -2.99]]]}}, "name_property": "NAMOBJ"},
        demand={
            "roads": {"source": {"path": "unused.geojson"}, "spacing_m": 20, "weight_per_point": 2},
            "points": [{"source": {"geojson": _points((104.75, -2.98), (104.90, -2.98))}, "class": "school"}],
            "area_grid": {"spacing_m": 500},
        },
    )  # fmt: skip
    areas = [("a", FRAME.geometry_to_xy(box(104.74, -2.99, 104.76, -2.97)))]
    x, y = FRAME.to_xy([104.745, 104.755], [-2.98, -2.98])
    road = LineString([(x[0], y[0]), (x[1], y[1])])
    demand = build_demand(spec, FRAME, areas, [road])
    assert demand.class_names == ["road", "school", "area"]
    counts = np.bincount(demand.klass).tolist()
    assert counts[0] == round(road.length / 20) and counts[1] == 1  # the second school lies outside the area
    assert counts[2] == pytest.approx(2200 * 2200 / 500**2, abs=6)
    assert set(demand.weight[demand.klass == 0]) == {2.0}
    assert demand.label[counts[0]] == "p0"
    assert sorted(set(demand.required_ppm)) == [12.5, 25.0, 62.5]


def test_candidates_around_a_poi_look_at_it() -> None:
    spec = _spec(
        demand={"points": [{"source": {"geojson": _points((104.75, -2.98))}, "class": "market"}]},
        candidates={"around_points_m": 20, "points_per_poi": 4, "intersections": False},
        models=[{"name": "a"}, {"name": "b", "hfov_deg": 40}],
    )
    demand = build_demand(spec, FRAME, [], [])
    candidates = build_candidates(spec, FRAME, [], [], demand)
    assert len(candidates) == 4 * 2 and len(set(candidates.pole.tolist())) == 4
    offset = demand.xy[0] - candidates.xy
    np.testing.assert_allclose(np.hypot(offset[:, 0], offset[:, 1]), 20.0)
    np.testing.assert_allclose(candidates.heading_deg, bearing_deg(offset[:, 0], offset[:, 1]), atol=1e-6)
    assert candidates.model.tolist() == [0, 1] * 4 and not candidates.existing.any()


def test_candidates_stand_at_junctions_and_along_roads() -> None:
    spec = _spec(candidates={"road_spacing_m": 50, "headings_per_pole": 4, "around_points_m": 0})
    roads = [LineString([(0, 0), (100, 0)]), LineString([(0, 0), (-100, 0)]), LineString([(0, 0), (0, 100)])]
    candidates = build_candidates(spec, FRAME, [], roads, build_demand(spec, FRAME, [], roads))
    junction = np.flatnonzero((candidates.xy == 0).all(axis=1))
    assert sorted(candidates.heading_deg[junction].tolist()) == [0.0, 90.0, 180.0, 270.0]
    assert len(set(candidates.pole.tolist())) == 1 + 3 * 2  # the junction and two poles per 100 m road
    along = np.flatnonzero((candidates.xy == [25.0, 0.0]).all(axis=1))
    assert candidates.heading_deg[along].tolist() == [90.0, 270.0, 180.0, 0.0]


def test_user_sites_keep_their_heading_and_close_poles_merge(tmp_path: Path) -> None:
    x, y = FRAME.to_xy(104.75, -2.98)
    lon2, lat2 = FRAME.to_lonlat(x + 0.5, y)  # half a metre away: the same pole
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.75, -2.98]}, "properties": {"heading": 45}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon2), float(lat2)]}, "properties": {}},
    ]}  # fmt: skip
    spec = _spec(candidates={"sites": {"geojson": sites}, "headings_per_pole": 2, "around_points_m": 0})
    candidates = build_candidates(spec, FRAME, [], [], build_demand(spec, FRAME, [], []))
    assert set(candidates.pole.tolist()) == {0}
    assert candidates.heading_deg.tolist() == [45.0, 0.0, 180.0]


def test_candidates_far_outside_the_area_are_dropped() -> None:
    sites = _points((104.75, -2.98), (104.80, -2.98))
    spec = _spec(candidates={"sites": {"geojson": sites}, "headings_per_pole": 1, "around_points_m": 0})
    areas = [("a", FRAME.geometry_to_xy(box(104.74, -2.99, 104.76, -2.97)))]
    candidates = build_candidates(spec, FRAME, areas, [], build_demand(spec, FRAME, areas, []))
    assert len(candidates) == 1


CAMERA_CONFIG = """\
    version: 1
    defaults:
      detect: {fps: 4}
    cameras:
      - id: sudirman_charitas
        name: Simpang Charitas
        inputs:
          - url: rtsp://admin:${PLANNER_TEST_UNSET_PASSWORD}@10.0.0.1:554/stream1
            roles: [detect, record, live]
        location: {lat: -2.9787, lon: 104.7503, heading: 200, fov_deg: 70, range_m: 120}
      - id: ampera
        name: Jembatan Ampera
        inputs:
          - url: rtsp://10.0.0.2/stream1
            roles: [detect]
        location: {lat: -2.9917, lon: 104.7633, heading: 10}
      - id: switched_off
        name: Switched off
        enabled: false
        inputs:
          - url: rtsp://10.0.0.3/stream1
            roles: [detect]
        location: {lat: -2.99, lon: 104.76}
"""


def test_existing_cameras_come_from_a_camera_config_without_its_secrets(tmp_path: Path) -> None:
    (tmp_path / "camera_config.yaml").write_text(textwrap.dedent(CAMERA_CONFIG), encoding="utf-8")
    models = models_from_spec([CameraModelSpec(name="bullet-4mp")])
    existing = load_existing(ExistingSpec(camera_config="camera_config.yaml"), FRAME, models, base_dir=tmp_path)
    assert existing.name == ["sudirman_charitas", "ampera"]  # the disabled camera is left out
    assert existing.existing.all() and existing.heading_deg.tolist() == [200.0, 10.0]
    assert [existing.models[m].hfov_deg for m in existing.model] == [70.0, 60.0]  # fov_deg, default 60
    x, y = FRAME.to_xy(104.7503, -2.9787)
    np.testing.assert_allclose(existing.xy[0], [float(x), float(y)])


def test_an_invalid_camera_config_is_a_plan_input_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("cameras: []\n", encoding="utf-8")
    with pytest.raises(PlanInputError, match=r"bad\.yaml"):
        load_existing(ExistingSpec(camera_config="bad.yaml"), FRAME, [MODEL], base_dir=tmp_path)


@pytest.mark.parametrize(
    ("props", "message"),
    [({"heading": 90, "model": "dome"}, "unknown model 'dome'"), ({"heading": "east"}, "must be a number")],
)
def test_existing_geojson_cameras_must_name_known_models_and_headings(props: dict[str, Any], message: str) -> None:
    source = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.75, -2.98]}, "properties": props}
    with pytest.raises(PlanInputError, match=message):
        load_existing(ExistingSpec(source=SourceRef(geojson=source)), FRAME, [MODEL])


def test_concatenation_shares_models_and_renumbers_poles() -> None:
    source = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.75, -2.98]},
              "properties": {"heading": 90, "model": "bullet", "id": "cam_1"}}  # fmt: skip
    existing = load_existing(ExistingSpec(source=SourceRef(geojson=source)), FRAME, [MODEL])
    spec = _spec(candidates={"sites": {"geojson": _points((104.76, -2.98))}, "headings_per_pole": 2,
                             "around_points_m": 0}, models=[{"name": "bullet"}, {"name": "dome", "hfov_deg": 110}])  # fmt: skip
    new = build_candidates(spec, FRAME, [], [], build_demand(spec, FRAME, [], []))
    both = concat_candidates(existing, new)
    assert [m.name for m in both.models] == ["bullet", "dome"]  # the equal 'bullet' models are one
    assert both.pole.tolist() == [0, 1, 1, 1, 1]
    assert both.name == ["cam_1", "", "", "", ""]
    assert both.existing.tolist() == [True, False, False, False, False]
    assert math.isclose(both.heading_deg[0], 90.0)
