"""The change feed: every change worth announcing is an event row, written in the change's own transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.messages import ClipResult, EventPhase, Severity
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.db import session_scope
from incidents.events import IncidentEvent
from incidents.models import IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.routing import WorkflowRules
from incidents.workflow import StatusChange, change_status
from tests.incidents.helpers import T0, make_event, tiny_jpeg

START, UPDATE, END = EventPhase.START, EventPhase.UPDATE, EventPhase.END


def _events(session_factory: sessionmaker[Session]) -> list[IncidentEvent]:
    with session_scope(session_factory) as session:
        return list(session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)))


def test_an_opened_incident_is_announced_with_its_summary_and_its_ready_snapshot(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START, snapshot_jpeg=tiny_jpeg(), severity=Severity.HIGH))

    created, snapshot = _events(session_factory)
    assert (created.type, created.subject, created.subject_id, created.kind) == (
        "incident.created",
        "incident",
        1,
        "congestion",
    )
    assert created.payload["status"] == "new"
    assert created.payload["severity"] == "high"
    assert created.payload["camera_id"] == "simpang_lima"
    assert created.payload["started_at"] == "2025-06-15T15:06:40+00:00"
    assert (snapshot.type, snapshot.subject_id) == ("incident.evidence", 1)
    assert snapshot.payload["evidence"]["kind"] == "snapshot"
    assert created.id < snapshot.id


def test_heartbeat_updates_are_not_news_but_the_end_and_a_ready_clip_are(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    request = recorder.handle_event(make_event(START))
    assert request is not None
    before = len(_events(session_factory))
    for i in range(1, 4):  # the recorder's UPDATEs move last_seen_at and details only
        recorder.handle_event(make_event(UPDATE, at_ts=T0 + i, details={"vehicles": 12 + i}))
    assert len(_events(session_factory)) == before

    recorder.handle_event(make_event(END, at_ts=T0 + 10))
    clip_file = Path(request.path)  # absolute: where the camera worker writes it
    clip_file.parent.mkdir(parents=True, exist_ok=True)
    clip_file.write_bytes(b"\x00" * 64)
    recorder.handle_clip_result(
        ClipResult(request.request_id, "simpang_lima", 1, request.path, ok=True, size_bytes=64, duration_s=10.0)
    )

    ended, clip = _events(session_factory)[before:]
    assert ended.type == "incident.updated"
    assert ended.payload["changed"] == ["ended_at"]
    assert ended.payload["ended_at"] is not None
    assert (clip.type, clip.payload["evidence"]["kind"]) == ("incident.evidence", "clip")


def test_a_status_change_is_announced_with_the_fields_it_changed(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    rules = WorkflowRules()
    with session_scope(session_factory) as session:
        change_status(1, StatusChange(to=IncidentStatus.ACKNOWLEDGED, by="rina"), rules=rules, session=session)
    with session_scope(session_factory) as session:
        change_status(
            1, StatusChange(to=IncidentStatus.DISPATCHED, by="rina", agency="Dishub"), rules=rules, session=session
        )

    acknowledged, dispatched = (e for e in _events(session_factory) if e.type == "incident.updated")
    assert acknowledged.payload["changed"] == ["status"]
    assert acknowledged.payload["status"] == "acknowledged"
    assert set(dispatched.payload["changed"]) == {"status", "agency", "expected_by"}
    assert (dispatched.payload["status"], dispatched.payload["agency"]) == ("dispatched", "Dishub")


def test_a_change_that_is_rolled_back_leaves_no_event(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    before = len(_events(session_factory))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), session_scope(session_factory) as session:
        change_status(
            1, StatusChange(to=IncidentStatus.ACKNOWLEDGED, by="rina"), rules=WorkflowRules(), session=session
        )
        session.flush()  # the event row is written here, inside the transaction...
        assert session.scalar(select(IncidentEvent).order_by(IncidentEvent.id.desc())).type == "incident.updated"
        raise Boom  # ...and goes with it

    assert len(_events(session_factory)) == before


def test_citizens_reports_are_announced_without_personal_fields(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        session.add(
            CitizenReport(
                service_request_id="LPR-1",
                token="t" * 32,
                service_code="trash",
                lat=-2.9909,
                lon=104.7566,
                email="warga@example.id",
                first_name="Siti",
                phone="0811",
            )
        )
    with session_scope(session_factory) as session:
        report = session.scalars(select(CitizenReport)).one()
        report.status = ReportStatus.CLOSED
        report.status_notes = "Sampah sudah diangkut."

    created, updated = _events(session_factory)
    assert (created.type, created.kind) == ("report.created", "trash")
    assert (updated.type, set(updated.payload["changed"])) == ("report.updated", {"status", "status_notes"})
    for event in (created, updated):
        text = str(event.payload)
        assert "warga@example.id" not in text and "Siti" not in text and "0811" not in text
