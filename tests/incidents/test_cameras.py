"""Camera rows: synced from the configuration, updated by status reports, judged stale in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import CameraState, CameraStatus
from incidents.cameras import STATUS_STALE_AFTER_S, effective_status, record_status, sync_cameras
from incidents.db import session_scope
from incidents.models import Base, Camera
from incidents.types import from_ts
from tests.incidents.helpers import CONFIG_YAML, T0, make_config


def _cameras(factory: sessionmaker[Session]) -> dict[str, Camera]:
    with session_scope(factory) as session:
        return {c.id: c for c in session.scalars(select(Camera))}


def test_sync_cameras_inserts_every_configured_camera_with_its_location(
    session_factory: sessionmaker[Session], config: AppConfig
) -> None:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    cameras = _cameras(session_factory)
    assert sorted(cameras) == ["ampera", "simpang_lima"]
    simpang = cameras["simpang_lima"]
    assert (simpang.name, simpang.lat, simpang.lon, simpang.heading) == (
        "Simpang Lima",
        -2.9909,
        104.7566,
        90.0,
    )
    assert (simpang.kelurahan, simpang.kecamatan, simpang.address) == (
        "20 Ilir D I",
        "Ilir Timur I",
        "Jl. Jend. Sudirman",
    )
    assert simpang.enabled and simpang.state == CameraState.STARTING and simpang.status_at is None


def test_sync_cameras_never_stores_stream_credentials(
    session_factory: sessionmaker[Session], config: AppConfig
) -> None:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    cameras = _cameras(session_factory)
    assert cameras["simpang_lima"].input_url == "rtsp://***:***@10.0.0.7:554/ch1"
    assert cameras["ampera"].input_url == "rtsp://***:***@10.0.0.8/live"
    with session_scope(session_factory) as session:  # every row of every table, on either database
        dump = "\n".join(repr(row) for table in Base.metadata.sorted_tables for row in session.execute(select(table)))
    for secret in ("s3cret", "hunter2", "admin:", "operator:"):
        assert secret not in dump


def test_sync_cameras_updates_changed_cameras_and_disables_removed_ones_without_deleting(
    session_factory: sessionmaker[Session], config: AppConfig
) -> None:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    only_simpang = CONFIG_YAML.split("  - id: ampera")[0].replace("name: Simpang Lima", "name: Simpang 5")
    with session_scope(session_factory) as session:
        sync_cameras(make_config(only_simpang), session=session)
    cameras = _cameras(session_factory)
    assert cameras["simpang_lima"].name == "Simpang 5" and cameras["simpang_lima"].enabled
    assert not cameras["ampera"].enabled

    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)  # back in the configuration: enabled again
    assert _cameras(session_factory)["ampera"].enabled


def test_record_status_stores_the_workers_report(session_factory: sessionmaker[Session], config: AppConfig) -> None:
    status = CameraStatus(
        camera_id="ampera",
        state=CameraState.ONLINE,
        reason=None,
        since_ts=T0 - 60,
        at_ts=T0,
        fps_in=15.0,
        fps_out=5.0,
        frames_dropped=3,
        reconnects=1,
        last_frame_ts=T0 - 0.1,
        width=1280,
        height=720,
        codec="h264",
    )
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
        assert record_status(status, session=session) is not None
    camera = _cameras(session_factory)["ampera"]
    assert camera.state == CameraState.ONLINE
    assert (camera.state_since, camera.status_at, camera.last_frame_at) == (
        from_ts(T0 - 60),
        from_ts(T0),
        from_ts(T0 - 0.1),
    )
    assert (camera.fps_in, camera.fps_out, camera.frames_dropped, camera.reconnects) == (15.0, 5.0, 3, 1)
    assert (camera.width, camera.height, camera.codec) == (1280, 720, "h264")


def test_record_status_of_a_camera_without_a_row_is_ignored(session_factory: sessionmaker[Session]) -> None:
    status = CameraStatus("ghost", CameraState.ONLINE, None, since_ts=T0, at_ts=T0)
    with session_scope(session_factory) as session:
        assert record_status(status, session=session) is None
    assert _cameras(session_factory) == {}


NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("enabled", "report_age_s", "expected_state", "reason_starts"),
    [
        (True, 2.0, CameraState.ONLINE, None),
        (True, STATUS_STALE_AFTER_S - 0.5, CameraState.ONLINE, None),
        (True, STATUS_STALE_AFTER_S + 0.5, CameraState.OFFLINE, "no status report since 2025-06-15T11:59:44"),
        (True, None, CameraState.OFFLINE, "no status report received yet"),
        (False, 2.0, CameraState.OFFLINE, "disabled in the configuration"),
    ],
)
def test_effective_status_is_offline_when_reports_stop_or_the_camera_is_disabled(
    enabled: bool, report_age_s: float | None, expected_state: CameraState, reason_starts: str | None
) -> None:
    camera = Camera(id="c", enabled=enabled, state=CameraState.ONLINE, state_reason=None)
    camera.status_at = None if report_age_s is None else NOW - timedelta(seconds=report_age_s)
    status = effective_status(camera, NOW)
    assert status.state == expected_state
    if reason_starts is None:
        assert status.reason is None
    else:
        assert status.reason is not None and status.reason.startswith(reason_starts)
