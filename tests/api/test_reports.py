"""Uptime reports per camera and per kecamatan, process exits, and the camera health fields."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import CameraState, CameraStatus
from incidents.cameras import record_status
from incidents.db import session_scope
from incidents.health import HealthMonitor
from incidents.models import ProcessExit


def _run_history(config: AppConfig, factory: sessionmaker[Session], start: float) -> None:
    """simpang_lima: 1 h online then 1 h offline; ampera: 2 h online (reports every 60 s)."""
    monitor = HealthMonitor(config, clock=lambda: start)
    with session_scope(factory) as session:
        for minute in range(121):
            at = start + minute * 60
            offline = minute >= 60
            state = CameraState.OFFLINE if offline else CameraState.ONLINE
            since = start + 3600 if offline else start
            for status in (
                CameraStatus("simpang_lima", state, "connection refused" if offline else None, since, at),
                CameraStatus("ampera", CameraState.ONLINE, None, start, at),
            ):
                record_status(status, session=session)
                monitor.on_status(status, session=session)


def test_uptime_report_per_camera_and_per_kecamatan(
    client: TestClient, config: AppConfig, session_factory: sessionmaker[Session]
) -> None:
    start = time.time() - 3 * 3600
    _run_history(config, session_factory, start)
    period = {
        "start": datetime.fromtimestamp(start - 60, UTC).isoformat(),
        "end": datetime.fromtimestamp(start + 7200, UTC).isoformat(),
    }
    answer = client.get("/api/reports/uptime", params=period)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["group"] == "camera" and report["timezone"] == "Asia/Jakarta"
    rows = {row["key"]: row for row in report["rows"]}
    assert report["rows"][0]["key"] == "simpang_lima"  # worst first
    assert rows["simpang_lima"]["total"]["uptime"] == 0.5
    assert rows["simpang_lima"]["total"]["by_state"] == {"offline": 3600.0, "online": 3600.0}
    assert rows["ampera"]["total"]["uptime"] == 1.0
    assert sum(day["up_s"] for day in rows["ampera"]["days"]) == 7200.0

    by_kecamatan = client.get("/api/reports/uptime", params={**period, "group": "kecamatan"}).json()
    keys = {row["key"]: row for row in by_kecamatan["rows"]}
    assert keys["Ilir Timur I"]["cameras"] == ["simpang_lima"]
    assert keys["(unknown)"]["cameras"] == ["ampera"]  # no kecamatan in its config
    assert keys["Ilir Timur I"]["total"]["down_s"] == 3600.0


def test_uptime_report_refuses_bad_periods_with_a_reason(client: TestClient) -> None:
    naive = client.get("/api/reports/uptime", params={"start": "2026-11-01T00:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    backwards = client.get(
        "/api/reports/uptime", params={"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"}
    )
    assert backwards.status_code == 422 and "before" in backwards.json()["detail"]
    zone = client.get("/api/reports/uptime", params={"tz": "Mars/Olympus"})
    assert zone.status_code == 422 and "time zone" in zone.json()["detail"]


def test_process_exits_are_listed_newest_first(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        session.add(ProcessExit(process="camera-ampera", camera_id="ampera", exit_code=-11, signal_name="SIGSEGV",
                                ran_s=12.5, restart_in_s=1.0, at=datetime(2026, 11, 1, tzinfo=UTC)))  # fmt: skip
        session.add(ProcessExit(process="analytics", camera_id=None, exit_code=1, signal_name=None,
                                ran_s=300.0, restart_in_s=2.0, at=datetime(2026, 11, 2, tzinfo=UTC)))  # fmt: skip
    exits = client.get("/api/reports/process-exits").json()
    assert [e["process"] for e in exits] == ["analytics", "camera-ampera"]
    only = client.get("/api/reports/process-exits", params={"camera_id": "ampera"}).json()
    assert len(only) == 1 and only[0]["signal"] == "SIGSEGV" and only[0]["ran_s"] == 12.5


def test_camera_answer_carries_health_figures(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    now = time.time()
    status = CameraStatus(
        "ampera", CameraState.DEGRADED, "record input offline: stream not found (RTSP 404)", now - 30, now,
        fps_in=25.0, nominal_fps=25.0, bitrate_kbps=812.5, decode_ms=1.7, reconnects_hour=3, buffer_s=11.0,
        record_state=CameraState.OFFLINE, record_reason="stream not found (RTSP 404)",
    )  # fmt: skip
    with session_scope(session_factory) as session:
        record_status(status, session=session)
    camera = client.get("/api/cameras/ampera").json()["status"]
    assert camera["state"] == "degraded" and "404" in camera["reason"]
    assert camera["bitrate_kbps"] == 812.5 and camera["decode_ms"] == 1.7 and camera["nominal_fps"] == 25.0
    assert camera["reconnects_last_hour"] == 3 and camera["buffer_s"] == 11.0
    assert camera["record_state"] == "offline" and camera["record_reason"] == "stream not found (RTSP 404)"


def test_uptime_report_over_the_last_hours(
    client: TestClient, config: AppConfig, session_factory: sessionmaker[Session]
) -> None:
    start = time.time() - 3 * 3600
    _run_history(config, session_factory, start)  # simpang_lima has been offline for the last 2 h
    answer = client.get("/api/reports/uptime", params={"hours": 1, "group": "kecamatan"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    span = datetime.fromisoformat(report["end"]) - datetime.fromisoformat(report["start"])
    assert abs(span.total_seconds() - 3600) < 5
    rows = {row["key"]: row["total"] for row in report["rows"]}
    assert rows["Ilir Timur I"]["uptime"] == 0.0 and rows["Ilir Timur I"]["down_s"] > 3590
    assert rows["(unknown)"]["uptime"] == 1.0
    both = client.get("/api/reports/uptime", params={"hours": 24, "start": "2026-11-01T00:00:00Z"})
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    assert client.get("/api/reports/uptime", params={"hours": 0}).status_code == 422
