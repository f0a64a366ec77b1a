"""Incidents as CAP 1.2 alerts: the mapping tables, validity against the CAP 1.2 schema, escaping, revisions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path

import pytest
import xmlschema
from sqlalchemy.orm import Session, sessionmaker

from core.messages import EventPhase, Severity
from incidents.cameras import sync_cameras
from incidents.cap import CapProfile, build_alert, cap_time, revisions
from incidents.db import session_scope
from incidents.models import Camera, Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.routing import WorkflowRules
from incidents.workflow import StatusChange, change_status
from tests.incidents.helpers import make_config, make_event

CAP_SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[1] / "data" / "cap-v1.2.xsd")
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
T0 = datetime(2026, 11, 29, 6, 2, 40, 123456, tzinfo=UTC)
RULES = WorkflowRules()
BASE = "https://matakota.palembang.go.id"


def _camera() -> Camera:
    return Camera(
        id="simpang_lima",
        name="Simpang Lima",
        lat=-2.9909,
        lon=104.7566,
        range_m=80.0,
        kelurahan="20 Ilir D I",
        kecamatan="Ilir Timur I",
        address="Jl. Jend. Sudirman",
        input_url="rtsp://10.0.0.7/ch1",
    )


def _incident(
    *,
    kind: str = "flood",
    status: IncidentStatus = IncidentStatus.NEW,
    severity: Severity = Severity.MEDIUM,
    title: str = "flood at simpang_lima/road",
    ended: bool = False,
    agency: str | None = None,
) -> Incident:
    incident = Incident(
        id=7,
        camera_id="simpang_lima",
        kind=kind,
        zone="road",
        status=status,
        severity=severity,
        title=title,
        details={},
        started_at=T0,
        last_seen_at=T0,
        ended_at=T0 + timedelta(minutes=20) if ended else None,
        created_at=T0,
        updated_at=T0,
        agency=agency,
        merged_into_id=3 if status == IncidentStatus.DUPLICATE else None,
    )
    incident.camera = _camera()
    incident.evidence = [
        Evidence(
            id=1,
            kind=EvidenceKind.SNAPSHOT,
            status=EvidenceStatus.READY,
            path="7/snapshot.jpg",
            content_type="image/jpeg",
            size_bytes=48211,
        ),
        Evidence(
            id=2, kind=EvidenceKind.CLIP, status=EvidenceStatus.PENDING, path="7/clip.mp4", content_type="video/mp4"
        ),
    ]
    return incident


def _alert(incident: Incident, changes: int = 0, profile: CapProfile | None = None) -> ET.Element:
    times = [T0 + timedelta(minutes=n) for n in range(changes + 1)]
    document = build_alert(incident, revision_times=times, rules=RULES, profile=profile or CapProfile(), base_url=BASE)
    CAP_SCHEMA.validate(document.decode())
    return ET.fromstring(document)


def _text(element: ET.Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


def _all(element: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in element.findall(path, namespaces=NS)]


@pytest.mark.parametrize(
    ("severity", "cap_severity", "cap_urgency"),
    [
        (Severity.LOW, "Minor", "Future"),
        (Severity.MEDIUM, "Moderate", "Expected"),
        (Severity.HIGH, "Severe", "Immediate"),
        (Severity.CRITICAL, "Extreme", "Immediate"),
    ],
)
def test_severity_sets_the_cap_severity_and_the_urgency_of_an_open_incident(
    severity: Severity, cap_severity: str, cap_urgency: str
) -> None:
    info = _alert(_incident(severity=severity)).find("cap:info", NS)
    assert info is not None
    assert (_text(info, "cap:severity"), _text(info, "cap:urgency")) == (cap_severity, cap_urgency)


@pytest.mark.parametrize(
    ("status", "changes", "ended", "msg_type", "urgency", "certainty", "response"),
    [
        (IncidentStatus.NEW, 0, False, "Alert", "Immediate", "Likely", "Avoid"),
        (IncidentStatus.ACKNOWLEDGED, 1, False, "Update", "Immediate", "Observed", "Avoid"),
        (IncidentStatus.DISPATCHED, 2, False, "Update", "Immediate", "Observed", "Avoid"),
        (IncidentStatus.IN_PROGRESS, 3, False, "Update", "Immediate", "Observed", "Avoid"),
        (IncidentStatus.ON_HOLD, 3, False, "Update", "Immediate", "Observed", "Avoid"),
        (IncidentStatus.IN_PROGRESS, 3, True, "Update", "Past", "Observed", "AllClear"),  # the water went down
        (IncidentStatus.RESOLVED, 4, False, "Update", "Past", "Observed", "AllClear"),
        (IncidentStatus.CLOSED, 5, True, "Update", "Past", "Observed", "AllClear"),
        (IncidentStatus.FALSE_POSITIVE, 1, False, "Cancel", "Unknown", "Unlikely", "None"),
        (IncidentStatus.DUPLICATE, 1, False, "Cancel", "Unknown", "Observed", "None"),
    ],
)
def test_the_workflow_status_sets_message_type_urgency_certainty_and_response(
    status: IncidentStatus,
    changes: int,
    ended: bool,
    msg_type: str,
    urgency: str,
    certainty: str,
    response: str,
) -> None:
    alert = _alert(_incident(status=status, severity=Severity.HIGH, ended=ended), changes)
    assert _text(alert, "cap:msgType") == msg_type
    for info in alert.findall("cap:info", NS):
        assert (_text(info, "cap:urgency"), _text(info, "cap:certainty")) == (urgency, certainty)
        assert _all(info, "cap:responseType") == [response]
    assert (_text(alert, "cap:note") is not None) == (msg_type == "Cancel")


@pytest.mark.parametrize(
    ("kind", "categories", "response", "event"),
    [
        ("congestion", ["Transport"], "Avoid", "Kemacetan lalu lintas"),
        ("traffic_jam", ["Transport"], "Avoid", "Kemacetan lalu lintas"),
        ("stalled_vehicle", ["Transport"], "Avoid", "Kendaraan mogok"),
        ("flood", ["Met", "Env"], "Avoid", "Genangan / banjir"),
        ("trash", ["Env"], "Monitor", "Tumpukan sampah"),
        ("dumping", ["Env"], "Monitor", "Pembuangan sampah liar"),
        ("camera_health", ["Infra"], "None", "Gangguan kamera CCTV"),
        ("fallen_tree", ["Other"], "Monitor", "Fallen tree"),
    ],
)
def test_the_kind_sets_category_response_and_event(kind: str, categories: list[str], response: str, event: str) -> None:
    indonesian, english = _alert(_incident(kind=kind)).findall("cap:info", NS)
    assert (_text(indonesian, "cap:language"), _text(english, "cap:language")) == ("id-ID", "en-US")
    assert _all(indonesian, "cap:category") == categories
    assert _all(indonesian, "cap:responseType") == [response]
    assert _text(indonesian, "cap:event") == event
    assert _text(indonesian, "cap:eventCode/cap:value") == kind


def test_every_kind_status_and_severity_gives_a_document_valid_against_the_cap_schema() -> None:
    kinds = ["congestion", "flood", "trash", "dumping", "camera_health", "other"]
    for kind, status, severity in product(kinds, IncidentStatus, Severity):
        _alert(_incident(kind=kind, status=status, severity=severity, agency="DLH"), changes=2)  # validates


def test_the_header_identifies_the_message_and_references_the_earlier_ones() -> None:
    alert = _alert(_incident(status=IncidentStatus.DISPATCHED, agency="BPBD"), changes=2)
    assert _text(alert, "cap:identifier") == "matakota-palembang.go.id-incident-7-2"
    assert _text(alert, "cap:sender") == "matakota@palembang.go.id"
    assert _text(alert, "cap:sent") == "2026-11-29T13:04:40+07:00"  # WIB, whole seconds
    assert (_text(alert, "cap:status"), _text(alert, "cap:scope")) == ("Actual", "Public")
    assert _text(alert, "cap:references") == (
        "matakota@palembang.go.id,matakota-palembang.go.id-incident-7-0,2026-11-29T13:02:40+07:00 "
        "matakota@palembang.go.id,matakota-palembang.go.id-incident-7-1,2026-11-29T13:03:40+07:00"
    )
    assert _text(alert, "cap:incidents") == "matakota-palembang.go.id-incident-7"
    assert _text(_alert(_incident()), "cap:references") is None


def test_the_info_block_carries_links_parameters_resources_and_the_area() -> None:
    info = _alert(_incident(status=IncidentStatus.DISPATCHED, agency="BPBD")).findall("cap:info", NS)[1]
    assert _text(info, "cap:senderName") == "Command Center Kota Palembang"
    assert _text(info, "cap:web") == f"{BASE}/api/incidents/7"
    assert _text(info, "cap:contact") == "Badan Penanggulangan Bencana Daerah"
    assert _text(info, "cap:onset") == "2026-11-29T13:02:40+07:00"
    parameters = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in info.findall("cap:parameter", NS)
    }
    assert parameters == {
        "incident_id": "7",
        "camera_id": "simpang_lima",
        "kind": "flood",
        "zone": "road",
        "status": "dispatched",
        "agency": "BPBD",
    }
    resources = info.findall("cap:resource", NS)  # the clip is still pending: only the snapshot
    assert [(_text(r, "cap:mimeType"), _text(r, "cap:size"), _text(r, "cap:uri")) for r in resources] == [
        ("image/jpeg", "48211", f"{BASE}/api/incidents/7/snapshot.jpg")
    ]
    assert _text(info, "cap:area/cap:areaDesc") == "Jl. Jend. Sudirman, Kel. 20 Ilir D I, Kec. Ilir Timur I"
    assert _text(info, "cap:area/cap:circle") == "-2.990900,104.756600 0.080"
    assert "Handled by Badan Penanggulangan Bencana Daerah" in (_text(info, "cap:description") or "")


def test_user_text_is_escaped_and_characters_xml_cannot_hold_are_dropped() -> None:
    title = 'Banjir <b>"parah"</b> & macet \x00\x07di Jl. A&B'
    incident = _incident(title=title)
    assert incident.camera is not None
    incident.camera.address = "Jl. <Merdeka> & Co\x1b"
    document = build_alert(incident, revision_times=[T0], rules=RULES, profile=CapProfile(), base_url=BASE)
    CAP_SCHEMA.validate(document.decode())
    assert b"<b>" not in document and b"&lt;b&gt;" in document
    info = ET.fromstring(document).find("cap:info", NS)
    assert info is not None
    assert _text(info, "cap:headline") == 'Banjir <b>"parah"</b> & macet di Jl. A&B'
    assert _text(info, "cap:area/cap:areaDesc") == "Jl. <Merdeka> & Co, Kel. 20 Ilir D I, Kec. Ilir Timur I"


def test_a_restricted_scope_says_to_whom() -> None:
    alert = _alert(_incident(), profile=CapProfile(scope="Restricted"))
    assert _text(alert, "cap:scope") == "Restricted"
    assert _text(alert, "cap:restriction")


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Asia/Jakarta", "2026-11-29T13:02:40+07:00"),
        ("Asia/Makassar", "2026-11-29T14:02:40+08:00"),
        ("UTC", "2026-11-29T06:02:40-00:00"),  # CAP writes UTC as -00:00, never Z
        ("America/Sao_Paulo", "2026-11-29T03:02:40-03:00"),
    ],
)
def test_cap_times_have_an_offset_and_no_fraction(timezone: str, expected: str) -> None:
    assert cap_time(T0, timezone) == expected


def test_revisions_are_the_creation_and_each_stored_change(
    session_factory: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    with session_scope(session_factory) as session:
        sync_cameras(make_config(), session=session)
    assert recorder.handle_event(make_event(EventPhase.START, kind="flood")) is not None
    with session_scope(session_factory) as session:
        change_status(1, StatusChange(to=IncidentStatus.ACKNOWLEDGED, by="rina"), rules=RULES, session=session)
    with session_scope(session_factory) as session:
        incident = session.get(Incident, 1)
        assert incident is not None
        times = revisions(incident, session=session)
        assert len(times) == 2 and times[0] == incident.created_at <= times[1]
        alert = build_alert(incident, revision_times=times, rules=RULES, profile=CapProfile(), base_url=BASE)
    CAP_SCHEMA.validate(alert.decode())
    assert _text(ET.fromstring(alert), "cap:msgType") == "Update"


def test_the_schema_refuses_what_cap_forbids() -> None:
    """The check above has teeth: a time in Z form or a space in the identifier is refused."""
    document = build_alert(_incident(), revision_times=[T0], rules=RULES, profile=CapProfile(), base_url=BASE).decode()
    for bad in (
        document.replace("2026-11-29T13:02:40+07:00</sent>", "2026-11-29T06:02:40Z</sent>"),
        document.replace("<identifier>matakota-", "<identifier>mata kota-"),
        document.replace("<msgType>Alert", "<msgType>Alarm"),
    ):
        assert bad != document
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            CAP_SCHEMA.validate(bad)
