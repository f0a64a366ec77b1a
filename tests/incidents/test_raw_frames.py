"""The undrawn frame of an incident's start is kept as evidence beside the snapshot, and retention covers it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import EventPhase
from core.settings import Settings
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.models import Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.retention import Retention
from incidents.types import from_ts
from tests.incidents.helpers import T0, make_event, tiny_jpeg


def _frame_jpeg() -> bytes:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = (10, 200, 30)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(encoded.tobytes())


def _start(recorder: IncidentRecorder, frame: bytes | None) -> None:
    event = replace(make_event(EventPhase.START, kind="dumping", snapshot_jpeg=tiny_jpeg()), frame_jpeg=frame)
    assert recorder.handle_event(event) is not None


def _evidence(factory: sessionmaker[Session]) -> dict[EvidenceKind, Evidence]:
    with session_scope(factory) as session:
        return {e.kind: e for e in session.scalars(select(Evidence).where(Evidence.incident_id == 1))}


def test_the_raw_frame_is_stored_next_to_the_snapshot(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], store: EvidenceStore
) -> None:
    frame = _frame_jpeg()
    _start(recorder, frame)
    evidence = _evidence(session_factory)
    assert set(evidence) == {EvidenceKind.SNAPSHOT, EvidenceKind.FRAME, EvidenceKind.CLIP}
    raw = evidence[EvidenceKind.FRAME]
    assert raw.path == "simpang_lima/2025-06-15/1-frame.jpg"
    assert (raw.status, raw.content_type, raw.size_bytes) == (EvidenceStatus.READY, "image/jpeg", len(frame))
    assert store.path_for(raw.path).read_bytes() == frame
    assert store.path_for(evidence[EvidenceKind.SNAPSHOT].path).read_bytes() == tiny_jpeg()


def test_an_event_without_a_raw_frame_stores_none(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    _start(recorder, None)
    assert set(_evidence(session_factory)) == {EvidenceKind.SNAPSHOT, EvidenceKind.CLIP}


def test_a_raw_frame_that_cannot_be_written_is_recorded_as_failed(
    session_factory: sessionmaker[Session], config: AppConfig, tmp_path: Path
) -> None:
    blocked = tmp_path / "evidence"
    blocked.mkdir()
    (blocked / "simpang_lima").write_text("a file where the camera's folder should be")
    _start(IncidentRecorder(session_factory, EvidenceStore(blocked), config), _frame_jpeg())
    raw = _evidence(session_factory)[EvidenceKind.FRAME]
    assert raw.status == EvidenceStatus.FAILED
    assert (raw.error or "").startswith("frame not written")


def test_retention_deletes_the_raw_frame_with_the_other_evidence_of_an_old_closed_incident(
    session_factory: sessionmaker[Session], config: AppConfig, settings: Settings
) -> None:
    store = EvidenceStore(settings.evidence_dir)
    _start(IncidentRecorder(session_factory, store, config), _frame_jpeg())
    long_ago = from_ts(T0) - timedelta(days=400)
    with session_scope(session_factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None
        incident.status, incident.ended_at, incident.updated_at = IncidentStatus.CLOSED, long_ago, long_ago
    Retention(config, settings, session_factory).run_once(from_ts(T0))
    raw = _evidence(session_factory)[EvidenceKind.FRAME]
    assert raw.status == EvidenceStatus.DELETED
    assert not store.path_for(raw.path).exists()


@pytest.mark.parametrize("kind", [EvidenceKind.SNAPSHOT, EvidenceKind.FRAME])
def test_evidence_images_are_named_by_camera_day_and_incident(kind: EvidenceKind) -> None:
    name_for = EvidenceStore.frame_relpath if kind == EvidenceKind.FRAME else EvidenceStore.snapshot_relpath
    assert name_for("ampera", 7, from_ts(T0)) == f"ampera/2025-06-15/7-{kind}.jpg"
