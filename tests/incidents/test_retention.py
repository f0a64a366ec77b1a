"""Retention over real files and a real SQLite store: by age, by size, never an open incident's evidence."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.errors import SnapshotNotFound
from core.messages import RecordingSegment as FinishedSegment
from core.messages import Severity
from core.settings import Settings
from incidents.cameras import sync_cameras
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.models import Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus, RecordingSegment
from incidents.recordings import index_segment
from incidents.retention import Category, Retention
from incidents.snapshots import SnapshotRequest, complete, snapshot_file, snapshot_relpath
from incidents.types import from_ts
from tests.incidents.helpers import T0, make_config

NOW = from_ts(T0)
KB = 1000

CONFIG = """
version: 1
storage: {{max_gb: {max_gb}, min_free_gb: {min_free_gb}, evidence_days: 30}}
defaults:
  record: {{retain_days: 7}}
cameras:
  - id: simpang_lima
    name: Simpang Lima
    record: {{max_gb: {camera_max_gb}}}
    inputs: [{{url: "rtsp://10.0.0.7/ch1", roles: [detect, record]}}]
    location: {{lat: -2.99, lon: 104.75}}
  - id: ampera
    name: Jembatan Ampera
    record: {{retain_days: 1}}
    inputs: [{{url: "rtsp://10.0.0.8/live", roles: [detect]}}]
    location: {{lat: -2.99, lon: 104.76}}
"""


def _config(*, max_gb: float = 1000, min_free_gb: float = 0, camera_max_gb: float = 1000) -> AppConfig:
    return make_config(CONFIG.format(max_gb=max_gb, min_free_gb=min_free_gb, camera_max_gb=camera_max_gb))


class Store:
    """Real files under a data directory, with their rows in a real SQLite store."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.evidence = EvidenceStore(settings.evidence_dir)

    def segment(self, camera_id: str, start: datetime, size: int, length_s: float = 10.0) -> str:
        """A segment file of ``size`` bytes, indexed as the bus would; its relative path."""
        path = self.settings.recordings_dir / camera_id / f"{start:%Y-%m-%d}" / f"{start:%H}"
        path = path / f"{round(start.timestamp() * 1000)}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        message = FinishedSegment(camera_id, str(path), start.timestamp(), start.timestamp() + length_s, size, 250)
        with session_scope(self.sessions) as session:
            row = index_segment(message, self.settings.recordings_dir, session=session)
            assert row is not None
            return row.path

    def incident(
        self, status: IncidentStatus, ended: datetime | None, clip_size: int, camera_id: str = "ampera"
    ) -> int:
        """An incident with a snapshot and a clip (real files), last changed when it ``ended``."""
        started = (ended or NOW) - timedelta(minutes=10)
        with session_scope(self.sessions) as session:
            incident = Incident(
                camera_id=camera_id,
                kind="congestion",
                zone="road",
                status=status,
                severity=Severity.MEDIUM,
                title="congestion",
                started_at=started,
                last_seen_at=ended or NOW,
                ended_at=ended,
                created_at=started,
                updated_at=ended or NOW,
            )
            session.add(incident)
            session.flush()
            for kind, size, relpath, content_type in (
                (
                    EvidenceKind.SNAPSHOT,
                    2 * KB,
                    self.evidence.snapshot_relpath(camera_id, incident.id, started),
                    "image/jpeg",
                ),
                (
                    EvidenceKind.CLIP,
                    clip_size,
                    self.evidence.clip_relpath(camera_id, incident.id, started),
                    "video/mp4",
                ),
            ):
                self.evidence.write_atomic(relpath, os.urandom(size))
                incident.evidence.append(
                    Evidence(
                        kind=kind,
                        status=EvidenceStatus.READY,
                        path=relpath,
                        content_type=content_type,
                        size_bytes=size,
                        created_at=started,
                    )
                )
            return incident.id

    def segments(self) -> list[str]:
        with session_scope(self.sessions) as session:
            return list(session.scalars(select(RecordingSegment.path).order_by(RecordingSegment.start_at)))

    def evidence_of(self, incident_id: int) -> list[Evidence]:
        with session_scope(self.sessions) as session:
            return list(session.scalars(select(Evidence).where(Evidence.incident_id == incident_id)))

    def retention(self, config: AppConfig) -> Retention:
        return Retention(config, self.settings, self.sessions)


@pytest.fixture
def store(settings: Settings, session_factory: sessionmaker[Session]) -> Store:
    with session_scope(session_factory) as session:
        sync_cameras(_config(), session=session)
    return Store(settings, session_factory)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.startswith("incidents.retention") and r.levelno == logging.INFO
    ]


def test_a_camera_over_its_max_gb_loses_its_oldest_recordings_first(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    paths = [store.segment("simpang_lima", NOW - timedelta(minutes=10 - i), 100 * KB) for i in range(5)]
    other = store.segment("ampera", NOW - timedelta(hours=2), 100 * KB)  # older, but another camera
    with caplog.at_level(logging.INFO):
        report = store.retention(_config(camera_max_gb=0.00035)).run_once(NOW)  # room for 3.5 segments
    assert store.segments() == [other, *paths[2:]]
    assert not (store.settings.recordings_dir / paths[0]).exists()
    assert (store.settings.recordings_dir / paths[2]).exists()
    freed = report.get(Category.RECORDINGS_CAMERA_SIZE)
    assert (freed.count, freed.bytes) == (2, 200 * KB)
    logged = [m for m in _messages(caplog) if m.startswith("simpang_lima: deleted recording")]
    assert len(logged) == 2 and all("record.max_gb (0.00035 GB)" in m for m in logged)
    assert paths[0] in logged[0]


def test_recordings_older_than_their_cameras_retain_days_are_deleted(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    old = store.segment("simpang_lima", NOW - timedelta(days=8), 10 * KB)  # retain_days 7 (the default)
    kept = store.segment("simpang_lima", NOW - timedelta(days=6), 10 * KB)
    ampera_old = store.segment("ampera", NOW - timedelta(days=2), 10 * KB)  # its own retain_days: 1
    ampera_new = store.segment("ampera", NOW - timedelta(hours=20), 10 * KB)
    with caplog.at_level(logging.INFO):
        report = store.retention(_config()).run_once(NOW)
    assert store.segments() == [kept, ampera_new]
    assert not (store.settings.recordings_dir / old).exists()
    assert not (store.settings.recordings_dir / ampera_old).exists()
    assert report.get(Category.RECORDINGS_AGE).count == 2
    assert any(
        m.startswith(f"ampera: deleted recording {ampera_old}") and "retain_days" in m for m in _messages(caplog)
    )


def test_over_the_storage_limit_the_oldest_recordings_go_first_then_closed_evidence_never_open_evidence(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    open_incident = store.incident(IncidentStatus.NEW, None, 300 * KB)  # 302 kB, kept whatever happens
    closed = store.incident(IncidentStatus.CLOSED, NOW - timedelta(days=2), 300 * KB)
    a = store.segment("simpang_lima", NOW - timedelta(minutes=30), 100 * KB)
    b = store.segment("ampera", NOW - timedelta(minutes=20), 100 * KB)
    c = store.segment("simpang_lima", NOW - timedelta(minutes=10), 100 * KB)
    # 604 kB of evidence + 300 kB of recordings against 0.5 MB: every recording, then closed evidence goes.
    with caplog.at_level(logging.INFO):
        report = store.retention(_config(max_gb=0.0005)).run_once(NOW)
    assert store.segments() == []
    assert [m.split(" (")[0] for m in _messages(caplog)][:3] == [
        f"simpang_lima: deleted recording {a}",
        f"ampera: deleted recording {b}",
        f"simpang_lima: deleted recording {c}",
    ]
    assert report.get(Category.RECORDINGS_STORAGE).bytes == 300 * KB
    deleted = store.evidence_of(closed)
    assert {e.status for e in deleted} == {EvidenceStatus.DELETED}  # the rows stay, as a record
    assert all("storage.max_gb" in (e.error or "") for e in deleted)
    assert not any(store.evidence.path_for(e.path).exists() for e in deleted)
    kept = store.evidence_of(open_incident)
    assert {e.status for e in kept} == {EvidenceStatus.READY}
    assert all(store.evidence.path_for(e.path).exists() for e in kept)
    assert report.get(Category.EVIDENCE_STORAGE).count == 2
    assert "still over the storage limits" not in caplog.text  # 302 kB left, under the limit
    assert report.total_bytes == 300 * KB + 302 * KB


def test_too_little_free_disk_deletes_everything_but_the_evidence_of_open_incidents(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    open_incident = store.incident(IncidentStatus.ACKNOWLEDGED, None, 50 * KB)
    on_hold = store.incident(IncidentStatus.ON_HOLD, NOW - timedelta(days=300), 50 * KB)
    resolved = store.incident(IncidentStatus.RESOLVED, NOW - timedelta(hours=1), 50 * KB)
    store.segment("simpang_lima", NOW - timedelta(minutes=5), 10 * KB)
    with caplog.at_level(logging.INFO):
        report = store.retention(_config(min_free_gb=1e9)).run_once(NOW)  # more than any disk has
    assert store.segments() == []
    assert {e.status for e in store.evidence_of(resolved)} == {EvidenceStatus.DELETED}
    for incident_id in (open_incident, on_hold):
        assert {e.status for e in store.evidence_of(incident_id)} == {EvidenceStatus.READY}
    assert report.get(Category.EVIDENCE_STORAGE).count == 2
    assert any("storage.min_free_gb" in m for m in _messages(caplog))
    assert any(r.levelno == logging.WARNING and "open incidents is kept" in r.getMessage() for r in caplog.records)


def test_evidence_of_incidents_closed_longer_than_evidence_days_ago_is_deleted_and_its_rows_kept(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    old_closed = store.incident(IncidentStatus.CLOSED, NOW - timedelta(days=31), 10 * KB)
    old_false = store.incident(IncidentStatus.FALSE_POSITIVE, NOW - timedelta(days=90), 10 * KB, "simpang_lima")
    recent_closed = store.incident(IncidentStatus.CLOSED, NOW - timedelta(days=29), 10 * KB)
    old_open = store.incident(IncidentStatus.IN_PROGRESS, NOW - timedelta(days=400), 10 * KB)
    with caplog.at_level(logging.INFO):
        report = store.retention(_config()).run_once(NOW)
    for incident_id in (old_closed, old_false):
        evidence = store.evidence_of(incident_id)
        assert {e.status for e in evidence} == {EvidenceStatus.DELETED}
        assert all("storage.evidence_days (30)" in (e.error or "") for e in evidence)
        assert not any(store.evidence.path_for(e.path).exists() for e in evidence)
    for incident_id in (recent_closed, old_open):
        assert {e.status for e in store.evidence_of(incident_id)} == {EvidenceStatus.READY}
    assert (report.get(Category.EVIDENCE_AGE).count, report.get(Category.EVIDENCE_AGE).bytes) == (4, 24 * KB)
    assert any(m.startswith(f"simpang_lima: deleted clip of incident {old_false}") for m in _messages(caplog))
    again = store.retention(_config()).run_once(NOW)
    assert again.freed == {}  # nothing twice


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_sweep_removes_what_crashed_writers_left_and_rows_whose_file_is_gone(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    recordings = store.settings.recordings_dir
    gone = store.segment("simpang_lima", NOW - timedelta(minutes=3), 10 * KB)
    kept = store.segment("simpang_lima", NOW - timedelta(minutes=2), 10 * KB)
    (recordings / gone).unlink()
    hour = (recordings / kept).parent
    stale_tmp, fresh_tmp = hour / ".1.mp4.partial", hour / ".2.mp4.partial"
    orphan, fresh_orphan = hour / "1749990000000.mp4", hour / "1749990001000.mp4"
    for path in (stale_tmp, fresh_tmp, orphan, fresh_orphan):
        path.write_bytes(os.urandom(KB))
    _age(stale_tmp, 3600)
    _age(orphan, 3600)  # a worker that died before its segment was indexed
    closed = store.incident(IncidentStatus.CLOSED, NOW, 5 * KB)
    with session_scope(store.sessions) as session:  # a deletion interrupted between its mark and its unlink
        clip = session.scalars(select(Evidence).where(Evidence.incident_id == closed)).all()[-1]
        clip.status = EvidenceStatus.DELETED
        leftover = store.evidence.path_for(clip.path)
    empty_old = recordings / "ampera" / "2025-01-01" / "03"
    empty_old.mkdir(parents=True)
    _age(empty_old, 3600)
    _age(empty_old.parent, 3600)
    with caplog.at_level(logging.INFO):
        report = store.retention(_config()).run_once(NOW)
    assert store.segments() == [kept]
    assert not stale_tmp.exists() and fresh_tmp.exists()
    assert not orphan.exists() and fresh_orphan.exists()
    assert not leftover.exists()
    assert not (recordings / "ampera").exists()
    assert {c: (f.count, f.bytes) for c, f in report.freed.items()} == {
        Category.TEMP_FILES: (1, KB),
        Category.ORPHAN_SEGMENTS: (1, KB),
        Category.MISSING_FILES: (1, 0),
        Category.LEFTOVER_EVIDENCE: (1, 5 * KB),
    }
    messages = _messages(caplog)
    assert f"simpang_lima: dropped index row of {gone}: its file is gone" in messages
    assert any(m.startswith("simpang_lima: deleted segment") and "never indexed" in m for m in messages)
    assert any(m.startswith("simpang_lima: deleted temporary file") for m in messages)


def test_without_a_storage_max_gb_recent_footage_and_evidence_are_kept(store: Store) -> None:
    config = make_config(CONFIG.replace("max_gb: {max_gb}, ", "").format(min_free_gb=0, camera_max_gb=1))
    assert config.storage.max_gb is None
    segment = store.segment("simpang_lima", NOW - timedelta(hours=1), 10 * KB)
    closed = store.incident(IncidentStatus.CLOSED, NOW - timedelta(days=1), 10 * KB)
    report = store.retention(config).run_once(NOW)
    assert report.freed == {}
    assert store.segments() == [segment]
    assert {e.status for e in store.evidence_of(closed)} == {EvidenceStatus.READY}


def test_pictures_asked_of_cameras_go_after_snapshot_days_and_their_rows_stay(store: Store) -> None:
    ids = []
    for age_days in (31, 29):
        with session_scope(store.sessions) as session:
            requested = NOW - timedelta(days=age_days)
            row = SnapshotRequest(
                camera_id="ampera", requested_by="rina", requested_at=requested, deadline_at=requested
            )
            session.add(row)
            session.flush()
            relpath = snapshot_relpath("ampera", row.id, requested)
            store.evidence.write_atomic(relpath, os.urandom(3 * KB))
            assert complete(row.id, session=session, path=relpath, frame_at=requested, now=requested)
            ids.append(row.id)
    old, recent = ids
    config = make_config(
        CONFIG.format(max_gb=1000, min_free_gb=0, camera_max_gb=1000).replace(
            "evidence_days: 30}", "evidence_days: 30, snapshot_days: 30}"
        )
    )

    report = store.retention(config).run_once(NOW)

    assert (report.get(Category.SNAPSHOTS_AGE).count, report.get(Category.SNAPSHOTS_AGE).bytes) == (1, 3 * KB)
    with session_scope(store.sessions) as session:
        old_row, recent_row = session.get(SnapshotRequest, old), session.get(SnapshotRequest, recent)
        assert old_row is not None and recent_row is not None
        assert old_row.path is None and "storage.snapshot_days (30)" in (old_row.error or "")
        with pytest.raises(SnapshotNotFound, match="no longer kept"):
            snapshot_file(old_row, store.evidence)
        assert snapshot_file(recent_row, store.evidence).stat().st_size == 3 * KB
    assert store.retention(config).run_once(NOW).freed == {}  # nothing twice
