"""Health and cameras endpoints, against a real SQLite file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.messages import CameraState, CameraStatus
from core.settings import Settings
from incidents.cameras import STATUS_STALE_AFTER_S, record_status
from incidents.db import session_scope


def _report(factory: sessionmaker[Session], camera_id: str, age_s: float, state: CameraState) -> None:
    now = time.time()
    status = CameraStatus(
        camera_id=camera_id,
        state=state,
        reason=None if state == CameraState.ONLINE else "stream stalled",
        since_ts=now - 600,
        at_ts=now - age_s,
        fps_in=15.0,
        fps_out=5.0,
        frames_dropped=2,
        reconnects=1,
        last_frame_ts=now - age_s,
        width=1280,
        height=720,
        codec="h264",
    )
    with session_scope(factory) as session:
        record_status(status, session=session)


def test_health_reports_the_database_and_how_many_cameras_are_online(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _report(session_factory, "ampera", age_s=1.0, state=CameraState.ONLINE)
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert (body["cameras_total"], body["cameras_online"]) == (2, 1)
    assert body["version"]


def test_without_migrations_startup_logs_an_error_and_health_is_degraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fresh_db_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=fresh_db_url)
    with caplog.at_level(logging.ERROR, logger="api.app"), TestClient(create_app(settings)) as client:
        body = client.get("/api/health").json()
    assert "has no schema: run the migrations first" in caplog.text
    assert (body["status"], body["database"], body["cameras_total"]) == ("degraded", False, 0)


def test_root_redirects_to_the_web_ui(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/ui/"


def test_cameras_are_listed_with_location_and_a_url_without_credentials(client: TestClient) -> None:
    cameras = client.get("/api/cameras").json()
    assert [c["id"] for c in cameras] == ["ampera", "simpang_lima"]
    simpang = cameras[1]
    assert simpang["location"] == {
        "lat": -2.9909,
        "lon": 104.7566,
        "heading": 90.0,
        "fov_deg": 60.0,
        "range_m": 80.0,
        "kelurahan": "20 Ilir D I",
        "kecamatan": "Ilir Timur I",
        "address": "Jl. Jend. Sudirman",
    }
    assert simpang["input_url"] == "rtsp://***:***@10.0.0.7:554/ch1"
    assert simpang["status"]["state"] == "offline"
    assert simpang["status"]["reason"] == "no status report received yet"


@pytest.mark.parametrize("state", [CameraState.ONLINE, CameraState.OFFLINE])
def test_a_camera_with_a_fresh_report_shows_the_reported_state(
    client: TestClient, session_factory: sessionmaker[Session], state: CameraState
) -> None:
    _report(session_factory, "ampera", age_s=1.0, state=state)
    status = client.get("/api/cameras/ampera").json()["status"]
    assert status["state"] == state.value
    assert status["reason"] == (None if state == CameraState.ONLINE else "stream stalled")
    assert (status["fps_in"], status["fps_out"], status["frames_dropped"], status["reconnects"]) == (
        15.0,
        5.0,
        2,
        1,
    )
    assert status["resolution"] == {"width": 1280, "height": 720}
    assert status["codec"] == "h264"


def test_a_camera_whose_reports_stopped_is_offline_whatever_it_last_said(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _report(session_factory, "ampera", age_s=STATUS_STALE_AFTER_S + 5, state=CameraState.ONLINE)
    status = client.get("/api/cameras/ampera").json()["status"]
    assert status["state"] == "offline"
    assert status["reason"].startswith("no status report since ")
    assert status["since"] == status["reported_at"]
    assert client.get("/api/health").json()["cameras_online"] == 0


def test_an_unknown_camera_is_404_with_a_detail(client: TestClient) -> None:
    response = client.get("/api/cameras/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "camera 'nowhere' not found"}
