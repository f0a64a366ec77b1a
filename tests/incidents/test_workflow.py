"""The operators' workflow: the transition table, what each status needs, the audit trail, routing and SLA."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.errors import IncidentNotFound, TransitionInvalid, TransitionNotAllowed
from core.incident_config import IncidentsConfig, RoutingRule, SlaConfig, SlaTarget
from core.messages import EventPhase, Severity
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.health import CAMERA_HEALTH_KIND, CAMERA_ZONE
from incidents.models import Incident, IncidentAudit, IncidentStatus
from incidents.queries import IncidentFilter, list_incidents
from incidents.recorder import DEFAULT_POLICIES, IncidentRecorder, KindPolicy, policies_from_config
from incidents.routing import WorkflowRules, sla_status
from incidents.types import from_ts
from incidents.workflow import FINAL, TRANSITIONS, StatusChange, audit_trail, change_status, check_transition
from tests.incidents.helpers import T0, make_event, tiny_jpeg

S = IncidentStatus
NOW = datetime.fromisoformat("2026-11-29T08:00:00+00:00")

# The table as the operators' procedure states it, written out again so a slip in TRANSITIONS shows.
ALLOWED: set[tuple[S, S]] = {
    (S.NEW, S.ACKNOWLEDGED), (S.NEW, S.FALSE_POSITIVE), (S.NEW, S.DUPLICATE), (S.NEW, S.ON_HOLD),
    (S.ACKNOWLEDGED, S.DISPATCHED), (S.ACKNOWLEDGED, S.IN_PROGRESS), (S.ACKNOWLEDGED, S.RESOLVED),
    (S.ACKNOWLEDGED, S.FALSE_POSITIVE), (S.ACKNOWLEDGED, S.DUPLICATE), (S.ACKNOWLEDGED, S.ON_HOLD),
    (S.DISPATCHED, S.IN_PROGRESS), (S.DISPATCHED, S.RESOLVED), (S.DISPATCHED, S.ON_HOLD),
    (S.IN_PROGRESS, S.RESOLVED), (S.IN_PROGRESS, S.ON_HOLD),
    (S.ON_HOLD, S.ACKNOWLEDGED), (S.ON_HOLD, S.DISPATCHED), (S.ON_HOLD, S.IN_PROGRESS),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.IN_PROGRESS),
}  # fmt: skip


@pytest.mark.parametrize(("current", "to"), list(product(S, S)))
def test_the_transition_table_allows_exactly_the_procedures_moves(current: S, to: S) -> None:
    if (current, to) in ALLOWED:
        check_transition(current, to)
    else:
        with pytest.raises(TransitionNotAllowed):
            check_transition(current, to)


def test_false_positive_duplicate_and_closed_are_the_final_statuses() -> None:
    assert {s for s in S if not TRANSITIONS[s]} == FINAL == {S.FALSE_POSITIVE, S.DUPLICATE, S.CLOSED}


@pytest.mark.parametrize(
    ("current", "to", "message"),
    [
        (S.CLOSED, S.ACKNOWLEDGED, "cannot go from closed to acknowledged: closed is final"),
        (S.NEW, S.RESOLVED, "cannot go from new to resolved: allowed from new: acknowledged, duplicate, "
         "false_positive, on_hold"),
        (S.IN_PROGRESS, S.IN_PROGRESS, "cannot go from in_progress to in_progress: allowed from in_progress: "
         "on_hold, resolved"),
    ],
)  # fmt: skip
def test_a_refused_move_says_why(current: S, to: S, message: str) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        check_transition(current, to)
    assert str(refused.value) == message


def _raise(recorder: IncidentRecorder, kind: str = "congestion", zone: str = "road", at_ts: float = T0) -> int:
    """Record a START of ``kind`` and return the new incident's id."""
    recorder.handle_event(make_event(EventPhase.START, kind=kind, zone=zone, at_ts=at_ts, started_ts=at_ts))
    with session_scope(recorder.session_factory) as session:
        incident = session.query(Incident).order_by(Incident.id.desc()).first()
        assert incident is not None
        return incident.id


def _change(factory: sessionmaker[Session], incident_id: int, change: StatusChange, **kw: object) -> Incident:
    rules = kw.pop("rules", WorkflowRules())
    assert isinstance(rules, WorkflowRules)
    with session_scope(factory) as session:
        incident = change_status(incident_id, change, rules=rules, session=session, now=NOW)
        session.expunge(incident)
    return incident


def _trail(factory: sessionmaker[Session], incident_id: int) -> list[tuple[str, S, S, str | None]]:
    with session_scope(factory) as session:
        return [(a.changed_by, a.from_status, a.to_status, a.note) for a in audit_trail(incident_id, session=session)]


def test_an_incident_worked_from_new_to_closed_leaves_one_audit_row_per_change(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    incident_id = _raise(recorder)
    path = [S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED]
    for to in path:
        incident = _change(session_factory, incident_id, StatusChange(to=to, by="sari", note=f"to {to}"))
    assert incident.status == S.CLOSED
    assert (incident.acknowledged_at, incident.dispatched_at, incident.resolved_at) == (NOW, NOW, NOW)
    assert _trail(session_factory, incident_id) == [
        ("sari", before, after, f"to {after}") for before, after in zip([S.NEW, *path], path, strict=False)
    ]


def test_dispatch_goes_to_the_routed_agency_by_the_sla_resolve_time_unless_told_otherwise(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    routed, chosen = _raise(recorder), _raise(recorder, zone="lane")
    for incident_id in (routed, chosen):
        _change(session_factory, incident_id, StatusChange(to=S.ACKNOWLEDGED, by="sari"))
    by_default = _change(session_factory, routed, StatusChange(to=S.DISPATCHED, by="sari"))
    promised = NOW + timedelta(hours=3)
    by_choice = _change(
        session_factory, chosen, StatusChange(to=S.DISPATCHED, by="sari", agency="PUPR", expected_by=promised)
    )
    assert (by_default.agency, by_default.expected_by) == ("Dishub", NOW + timedelta(hours=24))  # medium: 24 h
    assert (by_choice.agency, by_choice.expected_by) == ("PUPR", promised)
    with session_scope(session_factory) as session:
        details = [a.details for a in audit_trail(chosen, session=session)]
    assert details[-1] == {"agency": "PUPR", "expected_by": promised.isoformat()}


@pytest.mark.parametrize(
    ("kind", "agency", "message"),
    [
        ("congestion", "XYZ", "unknown agency 'XYZ'"),
        ("graffiti", None, "dispatching needs an agency: none given and none routed for graffiti"),
    ],
)
def test_dispatch_without_a_known_agency_is_refused_and_changes_nothing(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session], kind: str, agency: str | None, message: str
) -> None:
    incident_id = _raise(recorder, kind=kind)
    _change(session_factory, incident_id, StatusChange(to=S.ACKNOWLEDGED, by="sari"))
    with pytest.raises(TransitionInvalid, match=message):
        _change(session_factory, incident_id, StatusChange(to=S.DISPATCHED, by="sari", agency=agency))
    assert [row[2] for row in _trail(session_factory, incident_id)] == [S.ACKNOWLEDGED]


def test_a_duplicate_is_linked_to_the_incident_it_repeats(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    first, second = _raise(recorder), _raise(recorder, zone="lane")
    incident = _change(session_factory, second, StatusChange(to=S.DUPLICATE, by="sari", merged_into=first))
    assert (incident.status, incident.merged_into_id) == (S.DUPLICATE, first)
    with session_scope(session_factory) as session:
        assert audit_trail(second, session=session)[0].details == {"merged_into": first}


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ("itself", TransitionInvalid, "cannot be a duplicate of itself"),
        ("missing", TransitionInvalid, "incident 99 to merge into does not exist"),
        ("a duplicate", TransitionNotAllowed, "it is itself a duplicate of 1"),
        (None, TransitionInvalid, "duplicate needs merged_into"),
    ],
)
def test_a_duplicate_must_point_at_another_existing_incident_that_is_no_duplicate(
    recorder: IncidentRecorder,
    session_factory: sessionmaker[Session],
    target: str | None,
    error: type[Exception],
    message: str,
) -> None:
    first, second, third = _raise(recorder), _raise(recorder, zone="lane"), _raise(recorder, zone="bridge")
    _change(session_factory, second, StatusChange(to=S.DUPLICATE, by="sari", merged_into=first))
    merged_into = {"itself": third, "missing": 99, "a duplicate": second, None: None}[target]
    with pytest.raises(error, match=message):
        _change(session_factory, third, StatusChange(to=S.DUPLICATE, by="sari", merged_into=merged_into))
    assert _trail(session_factory, third) == []


def test_reopening_a_resolved_incident_clears_its_resolve_time(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    incident_id = _raise(recorder)
    for to in (S.ACKNOWLEDGED, S.RESOLVED, S.IN_PROGRESS):
        incident = _change(session_factory, incident_id, StatusChange(to=to, by="sari"))
    assert (incident.status, incident.resolved_at) == (S.IN_PROGRESS, None)


def test_changing_or_auditing_an_unknown_incident_says_not_found(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(IncidentNotFound):
        _change(session_factory, 42, StatusChange(to=S.ACKNOWLEDGED, by="sari"))
    with pytest.raises(IncidentNotFound), session_scope(session_factory) as session:
        audit_trail(42, session=session)


def test_the_recorders_own_resolve_and_reopen_of_camera_health_are_audited_by_system(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    incident_id = _raise(recorder, kind=CAMERA_HEALTH_KIND, zone=CAMERA_ZONE)
    end = make_event(EventPhase.END, kind=CAMERA_HEALTH_KIND, zone=CAMERA_ZONE, at_ts=T0 + 120)
    recorder.handle_event(end)
    _raise(recorder, kind=CAMERA_HEALTH_KIND, zone=CAMERA_ZONE, at_ts=T0 + 180)  # back within 5 min: a flap
    assert _trail(session_factory, incident_id) == [
        ("system", S.NEW, S.RESOLVED, "camera_health ended by itself"),
        ("system", S.RESOLVED, S.NEW, "camera_health again (flap 1)"),
    ]
    with session_scope(session_factory) as session:
        rows = session.query(IncidentAudit).order_by(IncidentAudit.id).all()
        assert [r.changed_at for r in rows] == [from_ts(T0 + 120), from_ts(T0 + 180)]
        incident = session.get(Incident, incident_id)
        assert incident is not None and (incident.status, incident.resolved_at) == (S.NEW, None)


def test_per_kind_dedup_windows_keep_a_kinds_other_policy() -> None:
    policies = policies_from_config(
        IncidentsConfig(dedup_window_s=60, dedup_windows={"camera_health": 600, "flood": 30})
    )
    assert policies == {
        "camera_health": KindPolicy(dedup_window_s=600, resolve_on_end=True),
        "flood": KindPolicy(dedup_window_s=30),
    }
    assert DEFAULT_POLICIES["camera_health"].dedup_window_s == 300  # untouched


def test_a_configured_dedup_window_decides_whether_a_start_continues_an_incident(
    session_factory: sessionmaker[Session], store: EvidenceStore, config: AppConfig
) -> None:
    windows = IncidentsConfig(dedup_windows={"congestion": 600})
    recorder = IncidentRecorder(session_factory, store, config, policies=policies_from_config(windows))
    recorder.handle_event(make_event(EventPhase.START))
    recorder.handle_event(make_event(EventPhase.END, at_ts=T0 + 10))
    recorder.handle_event(make_event(EventPhase.START, at_ts=T0 + 400, started_ts=T0 + 400))  # > 120 s default
    with session_scope(session_factory) as session:
        assert session.query(Incident).count() == 1


def test_routing_takes_the_first_rule_that_matches_kind_and_kecamatan() -> None:
    rules = WorkflowRules(
        agencies={"BPBD": "b", "PUPR": "p"},
        routing=[
            RoutingRule(kind="flood", kecamatan="Ilir Timur I", agency="PUPR"),
            RoutingRule(kind="flood", agency="BPBD"),
        ],
    )
    assert rules.route("flood", "Ilir Timur I") == "PUPR"
    assert rules.route("flood", "Seberang Ulu I") == "BPBD"
    assert rules.route("flood", None) == "BPBD"
    assert rules.route("dumping", "Ilir Timur I") is None


def test_the_routed_agency_uses_the_cameras_kecamatan(
    recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    rules = WorkflowRules(
        agencies={"BPBD": "b", "PUPR": "p"},
        routing=[RoutingRule(kind="flood", kecamatan="Ilir Timur I", agency="PUPR"), RoutingRule(kind="flood", agency="BPBD")],
    )  # fmt: skip
    on_simpang_lima = _raise(recorder, kind="flood")  # camera in Ilir Timur I
    recorder.handle_event(make_event(EventPhase.START, kind="flood", camera_id="ampera", zone="road"))
    with session_scope(session_factory) as session:
        incidents = {i.camera_id: i for i in session.query(Incident)}
        assert incidents["simpang_lima"].id == on_simpang_lima
        assert rules.routed_agency(incidents["simpang_lima"]) == "PUPR"
        assert rules.routed_agency(incidents["ampera"]) == "BPBD"  # no kecamatan configured


SLA = SlaConfig(kinds={"flood": {Severity.MEDIUM: SlaTarget(acknowledge_within_s=60, resolve_within_s=600)}})


@pytest.mark.parametrize(
    ("kind", "status", "age_s", "expected_by_in_s", "overdue"),
    [
        ("congestion", S.NEW, 29 * 60, None, False),  # medium: acknowledge within 30 min
        ("congestion", S.NEW, 31 * 60, None, True),
        ("congestion", S.ACKNOWLEDGED, 31 * 60, None, False),
        ("congestion", S.ACKNOWLEDGED, 25 * 3600, None, True),  # medium: resolve within 24 h
        ("congestion", S.ON_HOLD, 25 * 3600, None, True),  # on hold does not stop the clock
        ("congestion", S.RESOLVED, 25 * 3600, None, False),
        ("congestion", S.DISPATCHED, 25 * 3600, 3600, False),  # the agency's promise replaces the SLA
        ("congestion", S.DISPATCHED, 60, -1, True),
        ("flood", S.NEW, 90, None, True),  # the kind's own targets
        ("flood", S.ACKNOWLEDGED, 700, None, True),
        ("flood", S.ACKNOWLEDGED, 500, None, False),
    ],
)
def test_overdue_in_sql_agrees_with_the_sla_of_each_incident(
    recorder: IncidentRecorder,
    session_factory: sessionmaker[Session],
    kind: str,
    status: S,
    age_s: float,
    expected_by_in_s: float | None,
    overdue: bool,
) -> None:
    incident_id = _raise(recorder, kind=kind)
    with session_scope(session_factory) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        incident.created_at, incident.status = NOW - timedelta(seconds=age_s), status
        if expected_by_in_s is not None:
            incident.expected_by = NOW + timedelta(seconds=expected_by_in_s)
    with session_scope(session_factory) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert sla_status(incident, SLA, NOW).overdue is overdue
        late, _ = list_incidents(IncidentFilter(overdue=True), session=session, sla=SLA, now=NOW)
        in_time, _ = list_incidents(IncidentFilter(overdue=False), session=session, sla=SLA, now=NOW)
        assert ([i.id for i in late], [i.id for i in in_time]) == (
            ([incident_id], []) if overdue else ([], [incident_id])
        )


def test_migration_0005_goes_down_and_up_again_keeping_incidents_and_their_evidence(
    recorder: IncidentRecorder, engine: Engine, db_url: str
) -> None:
    from alembic import command

    from incidents.db import alembic_config, migrate

    recorder.handle_event(make_event(EventPhase.START, snapshot_jpeg=tiny_jpeg()))
    _change(recorder.session_factory, 1, StatusChange(to=S.ACKNOWLEDGED, by="sari"))
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
        assert "merged_into_id" not in {c["name"] for c in inspect(connection).get_columns("incidents")}
        assert connection.execute(text("SELECT count(*) FROM evidence")).scalar() == 2  # snapshot, clip
    migrate(db_url)
    with session_scope(recorder.session_factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None and len(incident.evidence) == 2 and incident.acknowledged_at is None
