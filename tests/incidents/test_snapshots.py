"""Snapshot requests in the incident store, on SQLite and PostgreSQL: queue, serve, fail, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.errors import CameraNotFound, IncidentNotFound, ReportNotFound, SnapshotFailed, SnapshotNotFound
from core.messages import EventPhase
from incidents.cameras import sync_cameras
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from incidents.snapshots import (
    SnapshotRequest,
    SnapshotStatus,
    complete,
    expire,
    fail,
    get_snapshot,
    pending,
    recent_snapshots,
    request_snapshot,
    snapshot_file,
    snapshot_relpath,
)
from incidents.types import from_ts
from tests.incidents.helpers import T0, make_event, tiny_jpeg

NOW = from_ts(T0)


@pytest.fixture
def seeded(session_factory: sessionmaker[Session], config: AppConfig) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    return session_factory


def _ask(
    sessions: sessionmaker[Session],
    camera_id: str = "simpang_lima",
    *,
    at_s: float = 0.0,
    incident_id: int | None = None,
    timeout_s: float = 10,
) -> int:
    with session_scope(sessions) as session:
        request = request_snapshot(
            camera_id,
            session=session,
            requested_by="sari",
            incident_id=incident_id,
            timeout_s=timeout_s,
            now=NOW + timedelta(seconds=at_s),
        )
        return request.id


def test_a_request_is_queued_pending_with_its_deadline(seeded: sessionmaker[Session]) -> None:
    with session_scope(seeded) as session:
        request = request_snapshot("simpang_lima", session=session, requested_by="sari", timeout_s=7, now=NOW)
        assert request.id is not None  # flushed, not committed: the caller owns the unit of work
    with session_scope(seeded) as session:
        stored = get_snapshot(request.id, session=session)
        assert stored.status == SnapshotStatus.PENDING
        assert stored.requested_by == "sari"
        assert stored.requested_at == NOW and stored.deadline_at == NOW + timedelta(seconds=7)
        assert stored.path is None and stored.frame_at is None and stored.completed_at is None


def test_a_request_links_its_incident(seeded: sessionmaker[Session], store: EvidenceStore, config: AppConfig) -> None:
    IncidentRecorder(seeded, store, config).handle_event(make_event(EventPhase.START, snapshot_jpeg=tiny_jpeg()))
    snapshot_id = _ask(seeded, incident_id=1)
    with session_scope(seeded) as session:
        assert get_snapshot(snapshot_id, session=session).incident_id == 1


@pytest.mark.parametrize(
    ("camera_id", "kwargs", "error"),
    [
        ("nowhere", {}, CameraNotFound),
        ("simpang_lima", {"incident_id": 999}, IncidentNotFound),
        ("simpang_lima", {"report_id": 999}, ReportNotFound),
    ],
)
def test_a_request_naming_what_does_not_exist_is_refused(
    seeded: sessionmaker[Session], camera_id: str, kwargs: dict[str, int], error: type[Exception]
) -> None:
    with session_scope(seeded) as session, pytest.raises(error):
        request_snapshot(camera_id, session=session, requested_by="sari", **kwargs)  # type: ignore[arg-type]
    with session_scope(seeded) as session:
        assert session.query(SnapshotRequest).count() == 0


def test_pending_lists_only_the_given_cameras_oldest_first(seeded: sessionmaker[Session]) -> None:
    later = _ask(seeded, at_s=2)
    earlier = _ask(seeded, at_s=1)
    other = _ask(seeded, "ampera")
    done = _ask(seeded)
    with session_scope(seeded) as session:
        fail(done, "test", session=session)
    with session_scope(seeded) as session:
        assert [r.id for r in pending(session=session, camera_ids=["simpang_lima"])] == [earlier, later]
        assert [r.id for r in pending(session=session, camera_ids={"ampera", "simpang_lima"})] == [
            other,
            earlier,
            later,
        ]
        assert pending(session=session, camera_ids=[]) == []


def test_complete_marks_ready_once(seeded: sessionmaker[Session]) -> None:
    snapshot_id = _ask(seeded)
    frame_at = NOW + timedelta(seconds=0.4)
    relpath = snapshot_relpath("simpang_lima", snapshot_id, frame_at)
    with session_scope(seeded) as session:
        assert complete(snapshot_id, session=session, path=relpath, frame_at=frame_at, now=NOW + timedelta(seconds=1))
    with session_scope(seeded) as session:
        assert not complete(snapshot_id, session=session, path="other.jpg", frame_at=NOW)  # not pending any more
        assert not fail(snapshot_id, "too late", session=session)
    with session_scope(seeded) as session:
        stored = get_snapshot(snapshot_id, session=session)
        assert stored.status == SnapshotStatus.READY and stored.error is None
        assert stored.path == f"snapshots/simpang_lima/2025-06-15/{snapshot_id}.jpg"
        assert stored.frame_at == frame_at and stored.completed_at == NOW + timedelta(seconds=1)


def test_expire_fails_only_overdue_requests_with_the_reason(seeded: sessionmaker[Session]) -> None:
    overdue = _ask(seeded)  # deadline NOW + 10 s
    short = _ask(seeded, "ampera", timeout_s=3)  # deadline NOW + 3 s
    fresh = _ask(seeded, at_s=5)  # deadline NOW + 15 s
    with session_scope(seeded) as session:
        assert sorted(expire(NOW + timedelta(seconds=11), session=session)) == sorted([overdue, short])
    with session_scope(seeded) as session:
        assert expire(NOW + timedelta(seconds=11), session=session) == []  # each only once
        failed = get_snapshot(overdue, session=session)
        assert failed.status == SnapshotStatus.FAILED
        assert failed.error == "camera sent no frame in 10 s"
        assert failed.completed_at == NOW + timedelta(seconds=11)
        assert get_snapshot(short, session=session).error == "camera sent no frame in 3 s"
        assert get_snapshot(fresh, session=session).status == SnapshotStatus.PENDING
        # A frame that comes after the expiry does not revive the request.
        assert not complete(overdue, session=session, path="x.jpg", frame_at=NOW + timedelta(seconds=12))


def test_recent_snapshots_are_newest_first_and_limited(seeded: sessionmaker[Session]) -> None:
    ids = [_ask(seeded, at_s=s) for s in range(4)]
    _ask(seeded, "ampera")
    with session_scope(seeded) as session:
        assert [r.id for r in recent_snapshots("simpang_lima", session=session, limit=3)] == ids[::-1][:3]
        with pytest.raises(CameraNotFound):
            recent_snapshots("nowhere", session=session)


def test_snapshot_file_says_why_there_is_no_picture(seeded: sessionmaker[Session], store: EvidenceStore) -> None:
    waiting, failed, ready, gone = (_ask(seeded) for _ in range(4))
    with session_scope(seeded) as session:
        fail(failed, "camera sent no frame in 10 s", session=session)
        for snapshot_id in (ready, gone):
            relpath = snapshot_relpath("simpang_lima", snapshot_id, NOW)
            if snapshot_id == ready:
                store.write_atomic(relpath, tiny_jpeg())
            complete(snapshot_id, session=session, path=relpath, frame_at=NOW)
    with session_scope(seeded) as session:
        with pytest.raises(SnapshotNotFound, match="not ready yet"):
            snapshot_file(get_snapshot(waiting, session=session), store)
        with pytest.raises(SnapshotFailed, match="camera sent no frame in 10 s"):
            snapshot_file(get_snapshot(failed, session=session), store)
        with pytest.raises(SnapshotNotFound, match="no longer on disk"):
            snapshot_file(get_snapshot(gone, session=session), store)
        assert snapshot_file(get_snapshot(ready, session=session), store).read_bytes() == tiny_jpeg()
        with pytest.raises(SnapshotNotFound):
            get_snapshot(12345, session=session)
