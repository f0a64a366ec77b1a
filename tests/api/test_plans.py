"""Coverage plans over the API: queued by a supervisor, run by the planner worker, the report served."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import yaml
from fastapi.testclient import TestClient

from core.settings import Settings
from incidents.accounts import UserRole
from runtime.plan_worker import PlanWorker

ClientAs = Callable[..., TestClient]

# A block of Palembang around the Ampera bridge's south end (lon, lat), three places to watch in it.
_SQUARE = [[104.7590, -2.9960], [104.7640, -2.9960], [104.7640, -2.9920], [104.7590, -2.9920], [104.7590, -2.9960]]
_PLACES = [(104.7610, -2.9945, "Pasar 7 Ulu"), (104.7625, -2.9930, "SD Negeri 1"), (104.7600, -2.9950, "Puskesmas")]


def _spec(**extra: Any) -> dict[str, Any]:
    area = {
        "type": "Feature",
        "properties": {"NAMOBJ": "7 Ulu"},
        "geometry": {"type": "Polygon", "coordinates": [_SQUARE]},
    }
    places = [
        {"type": "Feature", "properties": {"NAMOBJ": name}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
        for lon, lat, name in _PLACES
    ]
    return {
        "name": "7 Ulu block",
        "area": {"source": {"geojson": {"type": "FeatureCollection", "features": [area]}}},
        "demand": {
            "points": [
                {
                    "source": {"geojson": {"type": "FeatureCollection", "features": places}},
                    "class": "market",
                    "weight": 5,
                }
            ],
            "area_grid": {"spacing_m": 100, "weight_per_point": 0.1},
        },
        "candidates": {"around_points_m": 10, "points_per_poi": 4, "area_grid_m": 100},
        "objective": {"target": 0.9},
        "solver": {"method": "auto", "time_limit_s": 30},
        **extra,
    }


def test_a_supervisor_queues_a_plan_the_worker_runs_it_and_its_report_is_served(
    client_as: ClientAs, api_settings: Settings
) -> None:
    supervisor = client_as(UserRole.SUPERVISOR)
    answer = supervisor.post("/api/plans", json=_spec())
    assert answer.status_code == 202, answer.text
    plan = answer.json()
    assert plan["status"] == "queued" and answer.headers["location"] == f"/api/plans/{plan['id']}"
    assert supervisor.get(f"/api/plans/{plan['id']}/files/report.html").status_code == 404  # not done yet

    assert PlanWorker(api_settings, threading.Event()).run_one()

    operator = client_as(UserRole.OPERATOR)  # every role may read plans
    done = operator.get(f"/api/plans/{plan['id']}").json()
    assert done["status"] == "done", done["error"]
    assert done["progress"] == 1.0
    summary = done["summary"]
    assert summary["coverage"] >= 0.9 and summary["cameras_new"] >= 1
    html = operator.get(done["files"]["report.html"])
    assert html.status_code == 200 and "7 Ulu" in html.text and html.headers["content-type"].startswith("text/html")
    png = operator.get(done["files"]["map.png"])
    assert png.content.startswith(b"\x89PNG")
    geojson = operator.get(done["files"]["plan.geojson"]).json()
    sites = [f for f in geojson["features"] if f["geometry"]["type"] == "Point"]
    assert len(sites) == summary["cameras_new"]
    entries = yaml.safe_load(operator.get(done["files"]["cameras.yaml"]).text)
    assert len(entries["cameras"]) == summary["cameras_new"]
    assert [p["id"] for p in operator.get("/api/plans").json()] == [plan["id"]]


def test_an_operator_may_not_ask_for_a_plan(client_as: ClientAs) -> None:
    answer = client_as(UserRole.OPERATOR).post("/api/plans", json=_spec())
    assert answer.status_code == 403
    assert "supervisor" in answer.json()["detail"]


def test_a_plan_naming_a_server_file_is_refused_with_the_path(client: TestClient) -> None:
    answer = client.post("/api/plans", json=_spec(buildings={"path": "/etc/passwd"}))
    assert answer.status_code == 400
    assert "/etc/passwd" in answer.json()["detail"]


def test_a_malformed_plan_is_a_422_naming_the_field(client: TestClient) -> None:
    answer = client.post("/api/plans", json=_spec(objective={"target": 0.9, "budget": 3}))
    assert answer.status_code == 422
    assert "objective" in str(answer.json()["detail"])


def test_a_plan_whose_source_is_missing_fails_with_the_reason(client: TestClient, api_settings: Settings) -> None:
    spec = _spec()
    spec["demand"]["points"][0]["source"] = {"path": "assets:geo/no-such-layer.geojson"}
    plan = client.post("/api/plans", json=spec).json()
    assert PlanWorker(api_settings, threading.Event()).run_one()
    failed = client.get(f"/api/plans/{plan['id']}").json()
    assert failed["status"] == "failed"
    assert "no-such-layer.geojson" in failed["error"]
    assert failed["files"] == {} and failed["summary"] is None


def test_an_unknown_plan_or_file_is_a_404(client: TestClient) -> None:
    assert client.get("/api/plans/12345").status_code == 404
    assert client.get("/api/plans/1/files/secret.txt").status_code == 422  # only the report's own files


def test_a_plan_may_keep_the_cameras_the_service_runs(client: TestClient, api_settings: Settings) -> None:
    # simpang_lima and ampera stand a few hundred metres from the block; the plan keeps them as they are.
    plan = client.post("/api/plans", json=_spec(existing={"service_cameras": True})).json()
    assert plan["status"] == "queued"
    assert PlanWorker(api_settings, threading.Event()).run_one()
    done = client.get(f"/api/plans/{plan['id']}").json()
    assert done["status"] == "done", done["error"]
    assert done["summary"]["cameras_existing"] == 2
    geojson = client.get(done["files"]["plan.geojson"]).json()
    kept = [
        f["properties"] for f in geojson["features"] if f["geometry"]["type"] == "Point" and f["properties"]["existing"]
    ]
    assert sorted(p["id"] for p in kept) == ["ampera", "simpang_lima"]


def test_service_cameras_and_a_source_together_are_refused(client: TestClient) -> None:
    existing = {"service_cameras": True, "source": {"geojson": {"type": "FeatureCollection", "features": []}}}
    answer = client.post("/api/plans", json=_spec(existing=existing))
    assert answer.status_code == 400 and "not both" in answer.json()["detail"]


def test_a_layer_with_nothing_inside_the_area_is_left_out_with_a_note(
    client: TestClient, api_settings: Settings
) -> None:
    spec = _spec()
    far = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [106.8, -6.2]}}  # Jakarta
    spec["demand"]["points"].append(
        {"source": {"geojson": {"type": "FeatureCollection", "features": [far]}}, "class": "hospital"}
    )
    plan = client.post("/api/plans", json=spec).json()
    assert PlanWorker(api_settings, threading.Event()).run_one()
    done = client.get(f"/api/plans/{plan['id']}").json()
    assert done["status"] == "done", done["error"]
    assert any("(hospital): none of its points lies inside the area" in note for note in done["summary"]["notes"])
    hospital = next(row for row in done["summary"]["per_class"] if row["name"] == "hospital")
    assert hospital["points"] == 0
