"""The recorder: events become incidents with a snapshot and a requested clip, deduplicated."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import ClipResult, EventPhase, Severity
from incidents.db import make_engine, make_session_factory, session_scope
from incidents.evidence import EvidenceStore
from incidents.models import Camera, Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.recorder import CLIP_NOT_DELIVERED, IncidentRecorder, KindPolicy
from incidents.types import from_ts
from tests.incidents.helpers import CONFIG_YAML, T0, make_config, make_event, tiny_jpeg

START, UPDATE, END = EventPhase.START, EventPhase.UPDATE, EventPhase.END


def _incidents(factory: sessionmaker[Session]) -> list[Incident]:
    with session_scope(factory) as session:
        incidents = list(session.scalars(select(Incident).order_by(Incident.id)))
        for incident in incidents:
            _ = incident.evidence  # load while the session is open
        return incidents


def _only_incident(factory: sessionmaker[Session]) -> Incident:
    incidents = _incidents(factory)
    assert len(incidents) == 1
    return incidents[0]


def test_start_opens_an_incident_with_a_ready_snapshot_a_pending_clip_and_a_clip_request(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], store: EvidenceStore
) -> None:
    jpeg = tiny_jpeg()
    request = recorder.handle_event(make_event(START, at_ts=T0 + 1, snapshot_jpeg=jpeg, severity=Severity.HIGH))

    incident = _only_incident(session_factory)
    assert (incident.camera_id, incident.kind, incident.zone) == ("simpang_lima", "congestion", "road")
    assert (incident.status, incident.severity) == (IncidentStatus.NEW, Severity.HIGH)
    assert (incident.started_at, incident.last_seen_at, incident.ended_at) == (
        from_ts(T0),
        from_ts(T0 + 1),
        None,
    )
    assert incident.details == {"vehicles": 12}

    snapshot, clip = incident.evidence
    assert (snapshot.kind, snapshot.status, snapshot.content_type) == (
        EvidenceKind.SNAPSHOT,
        EvidenceStatus.READY,
        "image/jpeg",
    )
    assert snapshot.path == "simpang_lima/2025-06-15/1-snapshot.jpg"
    assert store.path_for(snapshot.path).read_bytes() == jpeg
    assert snapshot.size_bytes == len(jpeg)

    assert (clip.kind, clip.status, clip.path) == (
        EvidenceKind.CLIP,
        EvidenceStatus.PENDING,
        "simpang_lima/2025-06-15/1-clip.mp4",
    )
    # The default record config: pre_roll 4 s, post_roll 6 s, around the moment the rule fired
    # (T0 + 1); the clip may arrive until 30 s after its end.
    assert clip.deadline_at == from_ts(T0 + 1 + 6 + 30)

    assert request is not None
    assert (request.request_id, request.camera_id, request.incident_id) == (
        clip.request_id,
        "simpang_lima",
        1,
    )
    assert (request.start_ts, request.end_ts) == (T0 + 1 - 4, T0 + 1 + 6)
    assert request.path == str(store.path_for(clip.path))


def test_clip_request_times_follow_the_cameras_own_record_config(recorder: IncidentRecorder) -> None:
    request = recorder.handle_event(make_event(START, camera_id="ampera"))
    assert request is not None
    assert (request.start_ts, request.end_ts) == (T0 - 2, T0 + 5)  # ampera: pre_roll 2 s, post_roll 5 s


def test_clip_request_times_follow_the_event_kinds_own_roll(
    session_factory: sessionmaker[Session], store: EvidenceStore
) -> None:
    config = make_config(
        CONFIG_YAML.replace(
            "record: {pre_roll_s: 2, post_roll_s: 5}",
            "record: {pre_roll_s: 2, post_roll_s: 5, buffer_s: 40, events: {flood: {pre_roll_s: 10, post_roll_s: 20}}}",
        )
    )
    recorder = IncidentRecorder(session_factory, store, config)
    flood = recorder.handle_event(make_event(START, camera_id="ampera", kind="flood"))
    jam = recorder.handle_event(make_event(START, camera_id="ampera", kind="congestion"))
    assert flood is not None and jam is not None
    assert (flood.start_ts, flood.end_ts) == (T0 - 10, T0 + 20)
    assert (jam.start_ts, jam.end_ts) == (T0 - 2, T0 + 5)  # kinds without their own roll use the camera's


def test_clip_is_centred_on_the_moment_the_rule_fired_not_the_onset(recorder: IncidentRecorder) -> None:
    # A rule that needs 60 s of evidence fires long after the onset, which has left the buffer.
    request = recorder.handle_event(make_event(START, started_ts=T0 - 60, at_ts=T0))
    assert request is not None
    assert (request.start_ts, request.end_ts) == (T0 - 4, T0 + 6)


def test_start_without_a_snapshot_records_only_the_pending_clip(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    assert [e.kind for e in _only_incident(session_factory).evidence] == [EvidenceKind.CLIP]


def test_start_of_a_camera_without_video_asks_for_no_clip(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    assert recorder.handle_event(replace(make_event(START), request_clip=False)) is None
    assert _only_incident(session_factory).evidence == []  # no pending clip that is bound to fail


def test_start_before_the_cameras_are_synced_creates_the_camera_row(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START, camera_id="ampera"))
    with session_scope(session_factory) as session:
        camera = session.get(Camera, "ampera")
        assert camera is not None and camera.input_url == "rtsp://***:***@10.0.0.8/live"


@pytest.mark.parametrize(
    ("first_end_offset_s", "second_start_offset_s", "same_incident"),
    [
        (None, 30.0, True),  # still running: a repeated start continues it
        (10.0, 100.0, True),  # ended 90 s before: within the 120 s window
        (10.0, 130.0, True),  # ended exactly 120 s before: still within
        (10.0, 131.0, False),  # ended 121 s before: a new incident
    ],
)
def test_a_second_start_within_the_dedup_window_continues_the_incident(
    recorder: IncidentRecorder,
    session_factory: sessionmaker[Session],
    first_end_offset_s: float | None,
    second_start_offset_s: float,
    same_incident: bool,
) -> None:
    recorder.handle_event(make_event(START))
    if first_end_offset_s is not None:
        recorder.handle_event(make_event(END, at_ts=T0 + first_end_offset_s))
    second = T0 + second_start_offset_s
    request = recorder.handle_event(make_event(START, at_ts=second, started_ts=second, details={"vehicles": 20}))

    incidents = _incidents(session_factory)
    if same_incident:
        assert request is None
        assert len(incidents) == 1
        assert incidents[0].ended_at is None
        assert incidents[0].last_seen_at == from_ts(second)
        assert incidents[0].details == {"vehicles": 20}
    else:
        assert request is not None and request.incident_id == 2
        assert [i.started_at for i in incidents] == [from_ts(T0), from_ts(second)]


@pytest.mark.parametrize(
    ("kind", "second_start_offset_s", "same_incident"),
    [
        ("flood", 300.0, True),  # flood's own window: 600 s
        ("flood", 700.0, False),
        ("congestion", 200.0, False),  # the default window: 120 s
    ],
)
def test_a_kind_may_have_its_own_dedup_window(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    config: AppConfig,
    kind: str,
    second_start_offset_s: float,
    same_incident: bool,
) -> None:
    recorder = IncidentRecorder(session_factory, store, config, policies={"flood": KindPolicy(dedup_window_s=600)})
    recorder.handle_event(make_event(START, kind=kind))
    recorder.handle_event(make_event(END, kind=kind, at_ts=T0))
    second = T0 + second_start_offset_s
    recorder.handle_event(make_event(START, kind=kind, at_ts=second, started_ts=second))
    assert len(_incidents(session_factory)) == (1 if same_incident else 2)


@pytest.fixture
def resolving(session_factory: sessionmaker[Session], store: EvidenceStore, config: AppConfig) -> IncidentRecorder:
    """A recorder for which a ``flood``'s END means the water went down: the incident resolves itself."""
    policy = KindPolicy(dedup_window_s=300, resolve_on_end=True)
    return IncidentRecorder(session_factory, store, config, policies={"flood": policy})


def test_end_of_a_self_resolving_kind_resolves_the_incident_with_the_ends_details(
    resolving: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    resolving.handle_event(make_event(START, kind="flood", details={"depth_cm": 30}))
    resolving.handle_event(make_event(END, kind="flood", at_ts=T0 + 90, details={"resolution": "water gone"}))
    incident = _only_incident(session_factory)
    assert (incident.status, incident.ended_at) == (IncidentStatus.RESOLVED, from_ts(T0 + 90))
    assert incident.details == {"depth_cm": 30, "resolution": "water gone", "auto_resolved": True}


def test_a_self_resolved_incident_coming_back_within_its_window_reopens_and_counts_a_flap(
    resolving: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    for n in range(3):
        start = T0 + n * 200
        resolving.handle_event(make_event(START, kind="flood", at_ts=start, started_ts=start))
        resolving.handle_event(make_event(END, kind="flood", at_ts=start + 100, details={"resolution": "gone"}))
    resolving.handle_event(make_event(START, kind="flood", at_ts=T0 + 600, started_ts=T0 + 600))
    incident = _only_incident(session_factory)
    assert (incident.status, incident.ended_at, incident.started_at) == (IncidentStatus.NEW, None, from_ts(T0))
    assert incident.details == {"vehicles": 12, "flaps": 3}  # the START's details and the recorder's count


def test_end_of_a_self_resolving_kind_leaves_an_incident_an_operator_closed_alone(
    resolving: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    resolving.handle_event(make_event(START, kind="flood"))
    with session_scope(session_factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None
        incident.status = IncidentStatus.FALSE_POSITIVE
    resolving.handle_event(make_event(END, kind="flood", at_ts=T0 + 90))
    incident = _only_incident(session_factory)
    assert incident.status == IncidentStatus.FALSE_POSITIVE and "auto_resolved" not in incident.details


def test_a_start_after_the_incident_was_closed_opens_a_new_one(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    with session_scope(session_factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None
        incident.status = IncidentStatus.FALSE_POSITIVE
    assert recorder.handle_event(make_event(START, at_ts=T0 + 5, started_ts=T0 + 5)) is not None
    assert len(_incidents(session_factory)) == 2


def test_events_of_another_zone_or_kind_open_their_own_incidents(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    recorder.handle_event(make_event(START, zone="junction"))
    recorder.handle_event(make_event(START, kind="flood"))
    recorder.handle_event(make_event(START, camera_id="ampera"))
    assert len(_incidents(session_factory)) == 4


@pytest.mark.parametrize(
    ("opened", "updated", "expected"),
    [
        (Severity.MEDIUM, Severity.HIGH, Severity.HIGH),
        (Severity.LOW, Severity.CRITICAL, Severity.CRITICAL),
        (Severity.HIGH, Severity.LOW, Severity.HIGH),
        (Severity.CRITICAL, Severity.MEDIUM, Severity.CRITICAL),
        (Severity.MEDIUM, Severity.MEDIUM, Severity.MEDIUM),
    ],
)
def test_update_escalates_severity_but_never_lowers_it(
    recorder: IncidentRecorder,
    session_factory: sessionmaker[Session],
    opened: Severity,
    updated: Severity,
    expected: Severity,
) -> None:
    recorder.handle_event(make_event(START, severity=opened))
    recorder.handle_event(make_event(UPDATE, at_ts=T0 + 30, severity=updated, details={"vehicles": 25}))
    incident = _only_incident(session_factory)
    assert incident.severity == expected
    assert incident.last_seen_at == from_ts(T0 + 30)
    assert incident.details == {"vehicles": 25}


def test_update_replaces_the_title_with_the_latest(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    update = replace(make_event(UPDATE, at_ts=T0 + 30), title="Congestion in road: up to 25 vehicles")
    recorder.handle_event(update)
    assert _only_incident(session_factory).title == "Congestion in road: up to 25 vehicles"


def test_end_sets_ended_at(recorder: IncidentRecorder, session_factory: sessionmaker[Session]) -> None:
    recorder.handle_event(make_event(START))
    recorder.handle_event(make_event(END, at_ts=T0 + 45))
    incident = _only_incident(session_factory)
    assert incident.ended_at == from_ts(T0 + 45)
    assert incident.last_seen_at == from_ts(T0 + 45)


@pytest.mark.parametrize("phase", [UPDATE, END])
def test_update_or_end_without_a_running_incident_is_ignored(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], phase: EventPhase
) -> None:
    assert recorder.handle_event(make_event(phase)) is None
    assert _incidents(session_factory) == []


def test_an_update_after_the_end_does_not_reopen_the_incident(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))
    recorder.handle_event(make_event(END, at_ts=T0 + 10))
    recorder.handle_event(make_event(UPDATE, at_ts=T0 + 20))
    assert _only_incident(session_factory).ended_at == from_ts(T0 + 10)


@pytest.mark.parametrize(
    "event",
    [
        make_event(START, camera_id="not_configured"),
        make_event(START, severity="apocalyptic"),  # type: ignore[arg-type]
        make_event("pause"),  # type: ignore[arg-type]
        make_event(START, started_ts=math.nan),
        make_event(START, at_ts=T0 * 1000),  # milliseconds by mistake
    ],
    ids=["unknown camera", "unknown severity", "unknown phase", "nan time", "milliseconds"],
)
def test_bad_events_are_dropped_without_raising(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], event: object
) -> None:
    assert recorder.handle_event(event) is None  # type: ignore[arg-type]
    assert _incidents(session_factory) == []


def test_numpy_values_in_details_are_stored_as_plain_json(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    details = {"vehicles": np.int64(7), "speed": np.float32(2.5), "box": np.array([1, 2]), "tag": object}
    recorder.handle_event(make_event(START, details=details))
    stored = _only_incident(session_factory).details
    assert stored == {"vehicles": 7, "speed": 2.5, "box": [1, 2], "tag": "<class 'object'>"}


def test_database_errors_propagate_so_the_caller_can_retry(
    store: EvidenceStore, config: AppConfig, db_url: str
) -> None:
    engine: Engine = make_engine(db_url)  # never migrated: no tables
    recorder = IncidentRecorder(make_session_factory(engine), store, config)
    with pytest.raises(DBAPIError):  # OperationalError on SQLite, ProgrammingError (undefined table) on PostgreSQL
        recorder.handle_event(make_event(START))
    engine.dispose()


def _clip(factory: sessionmaker[Session], incident_id: int = 1) -> Evidence:
    with session_scope(factory) as session:
        clip = session.scalar(
            select(Evidence).where(Evidence.incident_id == incident_id, Evidence.kind == EvidenceKind.CLIP)
        )
        assert clip is not None
        return clip


def test_a_delivered_clip_becomes_ready_with_its_path_relative_to_the_store(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], store: EvidenceStore
) -> None:
    request = recorder.handle_event(make_event(START))
    assert request is not None
    store.write_atomic(store.relpath_of(request.path), b"mp4")
    recorder.handle_clip_result(
        ClipResult(
            request.request_id,
            "simpang_lima",
            1,
            request.path,
            ok=True,
            start_ts=T0 - 3.5,
            duration_s=9.4,
            size_bytes=3,
        )
    )
    clip = _clip(session_factory)
    assert (clip.status, clip.path, clip.error) == (
        EvidenceStatus.READY,
        "simpang_lima/2025-06-15/1-clip.mp4",
        None,
    )
    assert (clip.start_at, clip.duration_s, clip.size_bytes) == (from_ts(T0 - 3.5), 9.4, 3)


def test_a_failed_clip_is_marked_failed_with_the_workers_error(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    request = recorder.handle_event(make_event(START))
    assert request is not None
    error = "no video in the buffer for the clip's time range"
    recorder.handle_clip_result(ClipResult(request.request_id, "simpang_lima", 1, request.path, ok=False, error=error))
    clip = _clip(session_factory)
    assert (clip.status, clip.error) == (EvidenceStatus.FAILED, error)


def test_a_clip_written_outside_the_store_is_marked_failed(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    request = recorder.handle_event(make_event(START))
    assert request is not None
    recorder.handle_clip_result(ClipResult(request.request_id, "simpang_lima", 1, "/tmp/x.mp4", ok=True))
    clip = _clip(session_factory)
    assert clip.status == EvidenceStatus.FAILED and "outside the evidence directory" in (clip.error or "")


def test_a_result_for_an_unknown_request_is_ignored(recorder: IncidentRecorder) -> None:
    recorder.handle_clip_result(ClipResult("nope", "simpang_lima", 1, "/tmp/x.mp4", ok=True))


def test_expire_pending_fails_only_the_clips_past_their_deadline(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    recorder.handle_event(make_event(START))  # deadline T0 + 6 + 30
    recorder.handle_event(make_event(START, camera_id="ampera", at_ts=T0 + 20, started_ts=T0 + 20))  # T0 + 55

    assert recorder.expire_pending(T0 + 36) == 0
    assert recorder.expire_pending(T0 + 37) == 1
    assert recorder.expire_pending(T0 + 50) == 0
    first, second = _clip(session_factory, 1), _clip(session_factory, 2)
    assert (first.status, first.error) == (EvidenceStatus.FAILED, CLIP_NOT_DELIVERED)
    assert second.status == EvidenceStatus.PENDING


def test_a_clip_delivered_after_its_deadline_still_becomes_ready(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    request = recorder.handle_event(make_event(START))
    assert request is not None
    recorder.expire_pending(T0 + 100)
    recorder.handle_clip_result(ClipResult(request.request_id, "simpang_lima", 1, request.path, ok=True))
    clip = _clip(session_factory)
    assert (clip.status, clip.error) == (EvidenceStatus.READY, None)
