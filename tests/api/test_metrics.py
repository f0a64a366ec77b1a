"""/metrics: camera, detector and incident metrics from a real SQLite file, parsed as Prometheus does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.messages import CameraState, CameraStatus, DetectorStatus, EventPhase
from core.settings import Settings
from incidents.accounts import UserRole, create_api_key
from incidents.cameras import record_status
from incidents.components import record_detector_status
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.models import Camera, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import T0, make_event

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client: TestClient) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and every family's type by name."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def _at(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _report(factory: sessionmaker[Session], camera_id: str, *, age_s: float, **fields: object) -> None:
    now = time.time()
    status = CameraStatus(
        camera_id=camera_id,
        state=CameraState.ONLINE,
        reason=None,
        since_ts=now - 600,
        at_ts=now - age_s,
        last_frame_ts=now - age_s - 0.5,
        **fields,  # type: ignore[arg-type]
    )
    with session_scope(factory) as session:
        assert record_status(status, session=session) is not None


def _detector(factory: sessionmaker[Session], name: str, *, age_s: float) -> None:
    status = DetectorStatus(
        name=name,
        model="yolo11n_int8_openvino_model",
        at_ts=time.time() - age_s,
        inference_ms=12.5,
        frames_per_s=11.0,
        queue_depth=2,
        frames_total=4200,
        skipped_total=37,
    )
    with session_scope(factory) as session:
        record_detector_status(status, session=session)


@pytest.fixture
def reported(session_factory: sessionmaker[Session]) -> None:
    """simpang_lima reported a second ago with every figure; ampera's last report is a minute old."""
    _report(
        session_factory,
        "simpang_lima",
        age_s=1.0,
        fps_in=25.0,
        fps_out=5.0,
        frames_dropped=12,
        reconnects=3,
        reconnects_hour=2,
        bitrate_kbps=1500.0,
        bytes_in=9_000_000,
        decode_ms=4.0,
        buffer_s=28.0,
        buffer_fill=0.875,
    )
    _report(session_factory, "ampera", age_s=60.0, fps_in=15.0, fps_out=3.0, bitrate_kbps=800.0, bytes_in=1000)


@pytest.mark.usefixtures("reported")
def test_a_reporting_camera_shows_its_stream_figures_in_base_units(client: TestClient) -> None:
    samples, types = _scrape(client)
    cam = {"camera": "simpang_lima"}
    assert _at(samples, "matakota_camera_up", **cam) == 1
    assert _at(samples, "matakota_camera_state", camera="simpang_lima", state="online") == 1
    assert _at(samples, "matakota_camera_state", camera="simpang_lima", state="offline") == 0
    assert _at(samples, "matakota_camera_fps_in", **cam) == 25.0
    assert _at(samples, "matakota_camera_fps_out", **cam) == 5.0
    assert _at(samples, "matakota_camera_frames_dropped_total", **cam) == 12
    assert _at(samples, "matakota_camera_reconnects_total", **cam) == 3
    assert _at(samples, "matakota_camera_reconnects_last_hour", **cam) == 2
    assert _at(samples, "matakota_camera_received_bytes_total", **cam) == 9_000_000
    assert _at(samples, "matakota_camera_bitrate_bits_per_second", **cam) == 1_500_000
    assert _at(samples, "matakota_camera_decode_seconds", **cam) == pytest.approx(0.004)
    assert _at(samples, "matakota_camera_buffer_seconds", **cam) == 28.0
    assert _at(samples, "matakota_camera_buffer_fill_ratio", **cam) == 0.875
    assert 1.0 <= _at(samples, "matakota_camera_status_age_seconds", **cam) < 5.0
    assert 1.5 <= _at(samples, "matakota_camera_last_frame_age_seconds", **cam) < 5.5
    assert types["matakota_camera_frames_dropped"] == "counter"
    assert types["matakota_camera_received_bytes"] == "counter"
    assert types["matakota_camera_fps_in"] == "gauge"


@pytest.mark.usefixtures("reported")
def test_a_camera_whose_reports_stopped_is_down_offline_and_reads_no_frame_rate(client: TestClient) -> None:
    samples, _ = _scrape(client)
    cam = {"camera": "ampera"}
    assert _at(samples, "matakota_camera_up", **cam) == 0
    assert _at(samples, "matakota_camera_state", camera="ampera", state="offline") == 1
    assert _at(samples, "matakota_camera_state", camera="ampera", state="online") == 0
    assert _at(samples, "matakota_camera_fps_in", **cam) == 0
    assert _at(samples, "matakota_camera_bitrate_bits_per_second", **cam) == 0
    assert _at(samples, "matakota_camera_received_bytes_total", **cam) == 1000  # a counter keeps its last value
    assert _at(samples, "matakota_camera_status_age_seconds", **cam) >= 60


def test_cameras_that_never_reported_are_down_and_have_no_report_age(client: TestClient) -> None:
    samples, _ = _scrape(client)
    for camera in ("ampera", "simpang_lima"):
        assert _at(samples, "matakota_camera_up", camera=camera) == 0
        assert _at(samples, "matakota_camera_state", camera=camera, state="offline") == 1
        assert ("matakota_camera_status_age_seconds", frozenset({("camera", camera)})) not in samples
        assert ("matakota_camera_last_frame_age_seconds", frozenset({("camera", camera)})) not in samples


def test_a_report_with_missing_or_odd_figures_falls_back_to_the_stored_columns(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _report(session_factory, "simpang_lima", age_s=1.0, fps_in=20.0, frames_dropped=4)
    with session_scope(session_factory) as session:
        camera = session.get(Camera, "simpang_lima")
        assert camera is not None
        camera.metrics = {"fps_in": "fast", "decode_ms": None, "buffer_fill": True}
    samples, _ = _scrape(client)
    cam = {"camera": "simpang_lima"}
    assert _at(samples, "matakota_camera_fps_in", **cam) == 20.0
    assert _at(samples, "matakota_camera_frames_dropped_total", **cam) == 4
    assert _at(samples, "matakota_camera_decode_seconds", **cam) == 0
    assert _at(samples, "matakota_camera_buffer_fill_ratio", **cam) == 0


def test_the_detector_shows_its_figures_and_is_down_once_its_reports_stop(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _detector(session_factory, "yolo11n-int8-openvino", age_s=1.0)
    _detector(session_factory, "yolo11n-coco-pt", age_s=120.0)
    samples, types = _scrape(client)
    live = {"detector": "yolo11n-int8-openvino", "model": "yolo11n_int8_openvino_model"}
    assert _at(samples, "matakota_detector_up", **live) == 1
    assert _at(samples, "matakota_detector_inference_seconds", **live) == pytest.approx(0.0125)
    assert _at(samples, "matakota_detector_frames_per_second", **live) == 11.0
    assert _at(samples, "matakota_detector_queue_depth", **live) == 2
    assert _at(samples, "matakota_detector_frames_total", **live) == 4200
    assert _at(samples, "matakota_detector_skipped_frames_total", **live) == 37
    assert types["matakota_detector_frames"] == "counter"
    silent = {"detector": "yolo11n-coco-pt", "model": "yolo11n_int8_openvino_model"}
    assert _at(samples, "matakota_detector_up", **silent) == 0
    assert _at(samples, "matakota_detector_frames_per_second", **silent) == 0
    assert _at(samples, "matakota_detector_status_age_seconds", **silent) >= 120


def test_open_incidents_are_counted_by_kind_without_ended_or_closed_ones(
    client: TestClient, recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(EventPhase.START))
    recorder.handle_event(make_event(EventPhase.START, camera_id="ampera"))
    recorder.handle_event(make_event(EventPhase.START, kind="flood", at_ts=T0 + 10, started_ts=T0 + 10))
    recorder.handle_event(make_event(EventPhase.END, kind="flood", at_ts=T0 + 70, started_ts=T0 + 10))
    recorder.handle_event(make_event(EventPhase.START, kind="crowd", camera_id="ampera"))
    with session_scope(session_factory) as session:
        crowd = session.scalars(select(Incident).where(Incident.kind == "crowd")).one()
        crowd.status = IncidentStatus.RESOLVED
    samples, types = _scrape(client)
    assert types["matakota_incidents_open"] == "gauge"
    assert _at(samples, "matakota_incidents_open", kind="congestion") == 2
    assert _at(samples, "matakota_incidents_open", kind="flood") == 0
    assert _at(samples, "matakota_incidents_open", kind="crowd") == 0


def test_two_apps_on_two_databases_each_report_their_own_cameras(
    client: TestClient, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _report(session_factory, "simpang_lima", age_s=1.0, fps_in=25.0)
    other_dir = tmp_path / "other"
    other = Settings(data_dir=other_dir, database_url=f"sqlite:///{other_dir / 'matakota.db'}")
    migrate(other.resolved_database_url)
    other_engine = make_engine(other.resolved_database_url)
    with session_scope(make_session_factory(other_engine)) as session:
        _, key = create_api_key("prometheus", UserRole.INTEGRATION, session=session, created_by="test")
    other_engine.dispose()
    with TestClient(create_app(other), headers={"Authorization": f"Bearer {key}"}) as other_client:
        empty, _ = _scrape(other_client)
    first, _ = _scrape(client)
    second, _ = _scrape(client)
    assert not any(labels for _, labels in empty)  # no camera, no detector, no incident kind
    assert first.keys() == second.keys()
    assert _at(second, "matakota_camera_fps_in", camera="simpang_lima") == 25.0
