"""The map's routes: the boundaries as small GeoJSON, the base layer's config, and the cameras' view sectors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from incidents.accounts import UserRole
from incidents.boundaries import BoundaryLevel, simplify_collection
from tests.api.conftest import AuthHeaders

REAL_ASSETS = Settings().assets_dir
PALEMBANG_KECAMATAN = {
    "Alang-alang Lebar", "Bukitkecil", "Gandus", "Ilir Barat Dua", "Ilir Barat Satu", "Ilir Timur Dua",
    "Ilir Timur Satu", "Ilir Timur Tiga", "Jakabaring", "Kalidoni", "Kemuning", "Kertapati", "Plaju", "Sako",
    "Seberang Ulu Dua", "Seberang Ulu Satu", "Sematangborang", "Sukarami",
}  # fmt: skip

ClientWith = Callable[..., TestClient]  # (**settings) -> an admin's client of an app with these settings


def _raw(level: str) -> Path:
    path = (REAL_ASSETS or Path("/nonexistent")) / "geo" / f"{level}_palembang.geojson"
    if not path.is_file():
        pytest.skip(f"needs BIG's boundary file {path} in the assets directory")
    return path


@pytest.fixture
def client_with(api_settings: Settings, auth_headers: AuthHeaders) -> ClientWith:
    """``client_with(**settings)``: an admin's client of an app whose settings are the tests' with these changes."""

    def make(**changes: object) -> TestClient:
        settings = Settings(**{**api_settings.model_dump(), **changes})
        client = TestClient(create_app(settings))
        client.headers.update(auth_headers(UserRole.ADMIN, "rina"))
        return client

    return make


def _assert_feature_collection(document: dict[str, object]) -> list[dict[str, object]]:
    assert document["type"] == "FeatureCollection"
    features = document["features"]
    assert isinstance(features, list) and features
    for feature in features:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        ring = feature["geometry"]["coordinates"][0]
        ring = ring[0] if feature["geometry"]["type"] == "MultiPolygon" else ring
        assert len(ring) >= 4 and ring[0] == ring[-1]
        lon, lat = ring[0]  # two dimensions, longitude first, within the city
        assert 104.5 < lon < 105.0 and -3.2 < lat < -2.8
    return features


@pytest.mark.parametrize("level", ["kecamatan", "kelurahan"])
def test_boundaries_are_a_small_feature_collection_of_palembang(
    client: TestClient, api_settings: Settings, level: str
) -> None:
    raw = _raw(level)
    answer = client.get(f"/api/geo/{level}.geojson")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    assert len(answer.content) < raw.stat().st_size / 4
    features = _assert_feature_collection(answer.json())
    assert {f["properties"]["kecamatan"] for f in features} == PALEMBANG_KECAMATAN
    assert len(features) == len(json.loads(raw.read_text())["features"])
    cached = list((api_settings.resolved_cache_dir / "geo").glob(f"{level}-*.geojson"))
    assert len(cached) == 1  # built once into the cache, never next to the assets
    assert client.get(f"/api/geo/{level}.geojson").content == answer.content


def test_kelurahan_carry_their_kecamatan_and_code(client: TestClient) -> None:
    _raw("kelurahan")
    features = client.get("/api/geo/kelurahan.geojson").json()["features"]
    satu_ilir = next(f["properties"] for f in features if f["properties"]["name"] == "Satu Ilir")
    assert satu_ilir == {"name": "Satu Ilir", "kelurahan": "Satu Ilir", "kecamatan": "Ilir Timur Dua",
                         "code": "16.71.06.1007"}  # fmt: skip


def test_boundaries_need_credentials(anon_client: TestClient) -> None:
    for path in ("/api/geo/kecamatan.geojson", "/api/geo/kelurahan.geojson", "/api/geo/config"):
        assert anon_client.get(path).status_code == 401, path


def test_missing_boundaries_are_a_404_that_says_why(client_with: ClientWith, tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    with client_with(assets_dir=tmp_path / "assets") as client:
        answer = client.get("/api/geo/kecamatan.geojson")
        assert answer.status_code == 404
        assert "kecamatan" in answer.json()["detail"] and "does not exist" in answer.json()["detail"]
        assert client.get("/api/geo/config").json() == {"tiles": None, "boundaries": []}
    with client_with(assets_dir=None) as client:
        answer = client.get("/api/geo/kelurahan.geojson")
        assert answer.status_code == 404 and "CCTV_ASSETS_DIR" in answer.json()["detail"]


def test_map_config_offers_tiles_only_when_configured(client: TestClient, client_with: ClientWith) -> None:
    _raw("kecamatan")
    assert client.get("/api/geo/config").json() == {"tiles": None, "boundaries": ["kecamatan", "kelurahan"]}
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with client_with(map_tiles_url=url, map_tiles_attribution="© Example") as configured:
        tiles = configured.get("/api/geo/config").json()["tiles"]
    assert tiles == {"url": url, "attribution": "© Example"}


def test_simplifying_keeps_names_drops_height_and_survey_detail() -> None:
    # A square with 400 nearly collinear survey vertices per side, in three dimensions, as BIG's files are.
    side = [(104.70 + i * 0.0001 / 4, -2.95, 0.0) for i in range(400)]
    ring = [
        *side,
        *[(104.71, -2.95 - i * 0.0001 / 4, 0.0) for i in range(400)],
        *[(104.71 - i * 0.0001 / 4, -2.96, 0.0) for i in range(400)],
        *[(104.70, -2.96 + i * 0.0001 / 4, 0.0) for i in range(400)],
        side[0],
    ]
    raw = {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"NAMOBJ": "Plaju", "WADMKC": "Plaju", "KDCPUM": "16.71.09", "SHAPE_Area": 1.0},
        "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
    }]}  # fmt: skip
    (feature,) = simplify_collection(raw, BoundaryLevel.KECAMATAN)["features"]
    assert feature["properties"] == {"name": "Plaju", "kecamatan": "Plaju", "code": "16.71.09"}
    (outline,) = feature["geometry"]["coordinates"]
    assert len(outline) == 5 and all(len(point) == 2 for point in outline)
    assert sorted(map(tuple, outline[:4])) == [(104.7, -2.96), (104.7, -2.95), (104.71, -2.96), (104.71, -2.95)]


def test_cameras_carry_their_view_sector(client: TestClient) -> None:
    cameras = {c["id"]: c for c in client.get("/api/cameras").json()}
    location = cameras["simpang_lima"]["location"]
    assert (location["heading"], location["fov_deg"], location["range_m"]) == (90.0, 60.0, 80.0)
