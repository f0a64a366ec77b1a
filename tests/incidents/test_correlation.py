"""Correlation on real places in Palembang: reports with cameras and camera incidents, incidents with their twins."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.rules import congestion, dumping, flood, stalled, traffic_jam
from core.config import AppConfig
from core.incident_config import CITIZEN_SERVICE_CODES, CORRELATED_KINDS, CorrelationConfig
from core.messages import EventPhase
from incidents.cameras import sync_cameras
from incidents.citizen_intake import Submission, create_report
from incidents.citizen_reports import CitizenReport, ReportStatus
from incidents.citizen_services import SERVICES
from incidents.correlation import correlate_report
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.links import IncidentLink, LinkStatus, ReportCamera
from incidents.merging import dismiss_link, merge_incident
from incidents.models import Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.report_status import CONFIRMED_NOTE
from incidents.routing import WorkflowRules
from incidents.types import from_ts
from incidents.workflow import StatusChange, change_status
from tests.incidents.helpers import T0, make_config, make_event
from tests.incidents.palembang import BEHIND, CONFIG_YAML, FAR, IN_FRONT

S = IncidentStatus
SETTINGS = CorrelationConfig()


@pytest.fixture
def config() -> AppConfig:
    return make_config(CONFIG_YAML)


@pytest.fixture(autouse=True)
def cameras(session_factory: sessionmaker[Session], config: AppConfig) -> None:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)


def open_incident(recorder: IncidentRecorder, camera_id: str, kind: str = "dumping", at: float = T0) -> int:
    recorder.handle_event(make_event(EventPhase.START, camera_id=camera_id, kind=kind, at_ts=at, started_ts=at))
    with session_scope(recorder.session_factory) as session:
        incident_id = session.scalar(
            select(Incident.id)
            .where(Incident.camera_id == camera_id, Incident.kind == kind)
            .order_by(Incident.id.desc())
        )
    assert incident_id is not None
    return incident_id


def end_incident(recorder: IncidentRecorder, camera_id: str, kind: str = "dumping", at: float = T0 + 60) -> None:
    recorder.handle_event(make_event(EventPhase.END, camera_id=camera_id, kind=kind, at_ts=at, started_ts=T0))


def report_at(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    place: tuple[float, float],
    *,
    code: str = "trash",
    at: float = T0 + 600,
    **fields: Any,
) -> int:
    with session_scope(session_factory) as session:
        submission = Submission(service_code=code, lat=place[0], lon=place[1], description="Sampah menumpuk", **fields)
        return create_report(submission, None, session=session, store=store, now=from_ts(at)).id


def load(session_factory: sessionmaker[Session], report_id: int) -> CitizenReport:
    with session_scope(session_factory) as session:
        report = session.get(CitizenReport, report_id)
        assert report is not None
        return report


def cameras_of(session_factory: sessionmaker[Session], report_id: int) -> dict[str, tuple[bool, float]]:
    with session_scope(session_factory) as session:
        rows = session.scalars(select(ReportCamera).where(ReportCamera.report_id == report_id))
        return {r.camera_id: (r.in_view, r.distance_m) for r in rows}


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (IN_FRONT, {"air_mancur": (True, 60.0), "merdeka": (True, 90.0)}),
        (BEHIND, {"air_mancur": (False, 60.0), "merdeka": (False, 210.0)}),  # behind; beyond range but < 2x
        (FAR, {}),
    ],
)
def test_a_report_is_stored_with_the_cameras_that_see_it_or_could_be_turned_to_it(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    recorder: IncidentRecorder,
    place: tuple[float, float],
    expected: dict[str, tuple[bool, float]],
) -> None:
    report_id = report_at(session_factory, store, place)
    found = cameras_of(session_factory, report_id)
    assert {k: v[0] for k, v in found.items()} == {k: v[0] for k, v in expected.items()}
    for camera_id, (_, dist) in expected.items():
        assert found[camera_id][1] == pytest.approx(dist, abs=1.0)
    assert load(session_factory, report_id).correlated_at is not None


def test_a_report_near_a_camera_incident_of_its_kind_is_linked_and_confirmed(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    report = load(session_factory, report_at(session_factory, store, IN_FRONT))
    assert report.incident_id == incident_id
    assert report.camera_confirmed_at is not None
    assert report.status == ReportStatus.OPEN
    assert report.status_notes is not None and CONFIRMED_NOTE in report.status_notes


@pytest.mark.parametrize(
    ("code", "place", "at", "ended"),
    [
        ("flooding", IN_FRONT, T0 + 600, False),  # another category
        ("road_damage", IN_FRONT, T0 + 600, False),  # no camera rule sees road damage
        ("trash", FAR, T0 + 600, False),  # 400 m away
        ("trash", IN_FRONT, T0 + 60 + 2 * 3600 + 1, True),  # 2 h and 1 s after the incident ended
        ("trash", IN_FRONT, T0 - 2 * 3600 - 1, True),  # more than 2 h before it started
    ],
)
def test_a_report_of_another_category_too_far_or_too_far_in_time_is_not_linked(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    recorder: IncidentRecorder,
    code: str,
    place: tuple[float, float],
    at: float,
    ended: bool,
) -> None:
    open_incident(recorder, "air_mancur", "dumping")
    if ended:
        end_incident(recorder, "air_mancur")
    report = load(session_factory, report_at(session_factory, store, place, code=code, at=at))
    assert report.incident_id is None and report.camera_confirmed_at is None


def test_a_report_within_the_window_after_the_incident_ended_is_linked(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    end_incident(recorder, "air_mancur")
    report = load(session_factory, report_at(session_factory, store, IN_FRONT, at=T0 + 60 + 2 * 3600 - 60))
    assert report.incident_id == incident_id


def test_the_nearest_matching_incident_wins(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    open_incident(recorder, "merdeka", "dumping")
    nearest = open_incident(recorder, "air_mancur", "trash", at=T0 + 30)
    assert load(session_factory, report_at(session_factory, store, IN_FRONT)).incident_id == nearest


def test_an_incident_opened_after_the_report_links_it(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    report_id = report_at(session_factory, store, IN_FRONT, at=T0 - 1800)
    other_kind = report_at(session_factory, store, IN_FRONT, code="traffic", at=T0 - 1800)
    assert load(session_factory, report_id).incident_id is None
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    report = load(session_factory, report_id)
    assert report.incident_id == incident_id and report.camera_confirmed_at is not None
    assert load(session_factory, other_kind).incident_id is None


def links(session_factory: sessionmaker[Session]) -> list[tuple[int, int, LinkStatus]]:
    with session_scope(session_factory) as session:
        return [(x.incident_id, x.linked_incident_id, x.status) for x in session.scalars(select(IncidentLink))]


def test_incidents_of_one_kind_on_two_close_cameras_are_suggested_as_one_event(
    session_factory: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    first = open_incident(recorder, "air_mancur", "dumping")
    second = open_incident(recorder, "merdeka", "dumping", at=T0 + 300)
    assert links(session_factory) == [(first, second, LinkStatus.SUGGESTED)]
    with session_scope(session_factory) as session:
        link = session.scalars(select(IncidentLink)).one()
        assert link.distance_m == pytest.approx(150, abs=1) and link.gap_s == 0  # the first is still going on


@pytest.mark.parametrize(
    ("camera_id", "kind", "at"),
    [
        ("charitas", "dumping", T0 + 300),  # 1.5 km away
        ("merdeka", "flood", T0 + 300),  # another kind
        ("merdeka", "dumping", T0 + 60 + 1800 + 1),  # 30 min and 1 s after the first ended
    ],
)
def test_incidents_far_apart_in_space_time_or_kind_are_not_linked(
    session_factory: sessionmaker[Session], recorder: IncidentRecorder, camera_id: str, kind: str, at: float
) -> None:
    open_incident(recorder, "air_mancur", "dumping")
    end_incident(recorder, "air_mancur")
    open_incident(recorder, camera_id, kind, at=at)
    assert links(session_factory) == []


def change(session: Session, incident_id: int, to: S, **kw: Any) -> None:
    change_status(incident_id, StatusChange(to=to, by="budi", **kw), rules=WorkflowRules(), session=session)


def test_a_reports_status_follows_its_incident_to_closed(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    report_id = report_at(session_factory, store, IN_FRONT)
    expected = [
        (S.ACKNOWLEDGED, ReportStatus.OPEN, "Diverifikasi"),
        (S.DISPATCHED, ReportStatus.OPEN, "Diteruskan ke Dinas Lingkungan Hidup dan Kebersihan"),
        (S.IN_PROGRESS, ReportStatus.OPEN, "Sedang ditangani"),
        (S.RESOLVED, ReportStatus.CLOSED, "Selesai ditangani oleh Dinas Lingkungan Hidup dan Kebersihan"),
        (S.IN_PROGRESS, ReportStatus.OPEN, "Sedang ditangani"),  # reopened
        (S.RESOLVED, ReportStatus.CLOSED, "Selesai"),
        (S.CLOSED, ReportStatus.CLOSED, "Selesai"),
    ]
    for to, status, notes in expected:
        with session_scope(session_factory) as session:
            change(session, incident_id, to)
        report = load(session_factory, report_id)
        assert (report.status, report.status_notes is not None and report.status_notes.startswith(notes)) == (
            status,
            True,
        ), to
        assert report.agency_responsible == "Dinas Lingkungan Hidup dan Kebersihan"


def test_a_false_positive_unlinks_the_report_and_leaves_it_open(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    report_id = report_at(session_factory, store, IN_FRONT)
    with session_scope(session_factory) as session:
        change(session, incident_id, S.FALSE_POSITIVE)
    report = load(session_factory, report_id)
    assert (report.incident_id, report.camera_confirmed_at, report.status) == (None, None, ReportStatus.OPEN)


def test_merging_moves_the_reports_and_marks_the_link_merged(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    older = open_incident(recorder, "merdeka", "dumping")
    newer = open_incident(recorder, "air_mancur", "dumping", at=T0 + 120)
    report_id = report_at(session_factory, store, IN_FRONT)
    assert load(session_factory, report_id).incident_id == newer  # Air Mancur's camera is nearer
    with session_scope(session_factory) as session:
        merge_incident(newer, older, by="sari", note="same pile", rules=WorkflowRules(), session=session)
    assert load(session_factory, report_id).incident_id == older
    assert links(session_factory) == [(older, newer, LinkStatus.MERGED)]
    with session_scope(session_factory) as session:
        incident = session.get(Incident, newer)
        assert incident is not None and (incident.status, incident.merged_into_id) == (S.DUPLICATE, older)
        link = session.scalars(select(IncidentLink)).one()
        with pytest.raises(Exception, match="merged"):
            dismiss_link(link.id, by="sari", session=session)


def test_the_recorder_keeps_the_incident_when_correlation_fails(
    session_factory: sessionmaker[Session],
    store: EvidenceStore,
    recorder: IncidentRecorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    report_id = report_at(session_factory, store, IN_FRONT, at=T0 - 60)

    def broken(incident: Incident, *, session: Session, **_: Any) -> None:
        session.add(IncidentLink(incident_id=incident.id, linked_incident_id=incident.id, reason="half done"))
        session.flush()
        raise RuntimeError("correlation broke")

    monkeypatch.setattr("incidents.recorder.correlate_incident", broken)
    with caplog.at_level(logging.ERROR):
        request = recorder.handle_event(make_event(EventPhase.START, camera_id="air_mancur", kind="dumping"))
    assert request is not None  # the clip is still asked for
    with session_scope(session_factory) as session:
        assert session.scalars(select(Incident)).one().kind == "dumping"
        assert session.scalars(select(IncidentLink)).all() == []  # the half-made link was rolled back
    assert load(session_factory, report_id).incident_id is None
    assert "correlating incident" in caplog.text


def test_intake_keeps_the_report_when_correlation_fails(
    session_factory: sessionmaker[Session], store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("correlation broke")

    monkeypatch.setattr("incidents.citizen_intake.correlate_report", broken)
    report = load(session_factory, report_at(session_factory, store, IN_FRONT))
    assert report.correlated_at is None and report.status == ReportStatus.OPEN


def test_correlating_again_keeps_an_operators_link_and_refreshes_the_cameras(
    session_factory: sessionmaker[Session], store: EvidenceStore, recorder: IncidentRecorder
) -> None:
    incident_id = open_incident(recorder, "air_mancur", "dumping")
    report_id = report_at(session_factory, store, IN_FRONT)
    with session_scope(session_factory) as session:
        report = session.get(CitizenReport, report_id)
        assert report is not None
        narrow = CorrelationConfig(nearby_range_factor=1.0)
        assert correlate_report(report, session=session, settings=narrow, now=from_ts(T0 + 900)) is not None
    assert load(session_factory, report_id).incident_id == incident_id
    assert set(cameras_of(session_factory, report_id)) == {"air_mancur", "merdeka"}


def test_the_config_knows_every_service_code_and_every_rules_kind() -> None:
    assert set(CITIZEN_SERVICE_CODES) == {s.code for s in SERVICES}
    rule_kinds = {congestion.KIND, dumping.KIND, flood.KIND, stalled.KIND, traffic_jam.KIND}
    assert rule_kinds <= set(CORRELATED_KINDS)
    assert SETTINGS.kinds_for("traffic") == {"traffic_jam", "congestion", "stalled_vehicle"}
    assert SETTINGS.kinds_for("street_light") == frozenset()
    assert SETTINGS.codes_for("dumping") == {"trash"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"service_kinds": {"sampah": ["dumping"]}}, "unknown service code(s) sampah"),
        ({"service_kinds": {"trash": ["litter"]}}, "unknown incident kind(s) litter"),
        ({"reports": {"radius_m": 0, "window_s": 60}}, "greater than 0"),
        ({"radius": 300}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_correlation_section_is_refused_clearly(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CorrelationConfig.model_validate(section)


def test_the_correlation_section_loads_from_yaml() -> None:
    text = "correlation:\n  reports: {radius_m: 150, window_s: 600}\n  service_kinds: {flooding: [flood]}\n"
    config = make_config(text + CONFIG_YAML.replace("version: 1\n", ""))
    assert config.correlation.reports.radius_m == 150
    assert config.correlation.kinds_for("trash") == frozenset()
    assert config.cameras[0].location.fov_deg == 90 and config.cameras[0].location.range_m == 100
