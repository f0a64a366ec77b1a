"""Citizens' reports with cameras and incidents through the API, on real places in Palembang; Open311 as citizens see it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.config import AppConfig
from core.messages import EventPhase
from incidents.recorder import IncidentRecorder
from incidents.report_status import CONFIRMED_NOTE
from tests.incidents.helpers import T0, make_config, make_event
from tests.incidents.palembang import BEHIND, CONFIG_YAML, FAR, IN_FRONT

OPEN311 = "/open311/v2"
PERSONAL = {"email": "warga@example.id", "first_name": "Siti", "last_name": "Aminah", "phone": "+62811000111"}


@pytest.fixture
def config() -> AppConfig:
    return make_config(CONFIG_YAML)


def submit(citizen: TestClient, place: tuple[float, float], code: str = "trash", **fields: str) -> str:
    """Post a report as a citizen's app would; returns its public id."""
    data = {"service_code": code, "lat": str(place[0]), "long": str(place[1]), "description": "Sampah menumpuk"}
    answer = citizen.post(f"{OPEN311}/requests.json", data={**data, **fields})
    assert answer.status_code == 201, answer.text
    service_request_id: str = answer.json()[0]["service_request_id"]
    return service_request_id


def public(citizen: TestClient, service_request_id: str) -> dict[str, Any]:
    answer = citizen.get(f"{OPEN311}/requests/{service_request_id}.json")
    assert answer.status_code == 200
    shown: dict[str, Any] = answer.json()[0]
    return shown


def report_id_of(client: TestClient, service_request_id: str) -> int:
    items = client.get("/api/citizen-reports", params={"limit": 200}).json()["items"]
    return int(next(r["id"] for r in items if r["service_request_id"] == service_request_id))


def open_incident(recorder: IncidentRecorder, camera_id: str, kind: str = "dumping", at: float = T0) -> None:
    recorder.handle_event(make_event(EventPhase.START, camera_id=camera_id, kind=kind, at_ts=at, started_ts=at))


def test_the_operator_sees_who_reported_and_which_camera_to_ask_for_a_snapshot(
    client: TestClient, anon_client: TestClient
) -> None:
    sid = submit(anon_client, IN_FRONT, **PERSONAL)
    detail = client.get(f"/api/citizen-reports/{report_id_of(client, sid)}").json()
    assert detail["reporter"] == {"first_name": "Siti", "last_name": "Aminah", "email": "warga@example.id",
                                  "phone": "+62811000111"}  # fmt: skip
    cameras = [
        (c["camera_id"], c["in_view"], c["suggested_for_snapshot"], round(c["distance_m"])) for c in detail["cameras"]
    ]
    assert cameras == [("air_mancur", True, True, 60), ("merdeka", True, False, 90)]
    assert detail["cameras"][0]["bearing_deg"] == pytest.approx(90, abs=0.5)
    assert detail["incident"] is None and detail["nearby_incidents"] == []
    for value in PERSONAL.values():  # the public side never shows them
        assert value not in anon_client.get(f"{OPEN311}/requests/{sid}.json").text


def test_behind_a_camera_no_camera_is_suggested_and_an_anonymous_reporter_is_not_shown(
    client: TestClient, anon_client: TestClient
) -> None:
    sid = submit(anon_client, BEHIND, anonymous="true", **PERSONAL)
    detail = client.get(f"/api/citizen-reports/{report_id_of(client, sid)}").json()
    assert detail["reporter"] is None
    assert [(c["camera_id"], c["in_view"], c["suggested_for_snapshot"]) for c in detail["cameras"]] == [
        ("air_mancur", False, False),
        ("merdeka", False, False),
    ]


def test_a_report_follows_its_incident_from_new_to_closed_as_open311_shows_it(
    client: TestClient, anon_client: TestClient, recorder: IncidentRecorder
) -> None:
    open_incident(recorder, "air_mancur")
    sid = submit(anon_client, IN_FRONT)
    detail = client.get(f"/api/citizen-reports/{report_id_of(client, sid)}").json()
    incident_id = detail["incident"]["id"]
    assert detail["camera_confirmed_at"] is not None and detail["incident"]["camera_id"] == "air_mancur"
    shown = public(anon_client, sid)
    assert (shown["status"], shown["status_notes"]) == (
        "open",
        f"Diterima; pusat komando sedang memverifikasi. {CONFIRMED_NOTE}",
    )
    steps = [
        ("acknowledged", "open", "Diverifikasi oleh pusat komando."),
        ("dispatched", "open", "Diteruskan ke Dinas Lingkungan Hidup dan Kebersihan untuk ditangani."),
        ("resolved", "closed", "Selesai ditangani oleh Dinas Lingkungan Hidup dan Kebersihan."),
        ("closed", "closed", "Selesai ditangani oleh Dinas Lingkungan Hidup dan Kebersihan."),
    ]
    for to, status, notes in steps:
        assert client.post(f"/api/incidents/{incident_id}/status", json={"to": to, "by": "rina"}).status_code == 200
        shown = public(anon_client, sid)
        assert (shown["status"], shown["status_notes"]) == (status, f"{notes} {CONFIRMED_NOTE}"), to
        assert shown["agency_responsible"] == "Dinas Lingkungan Hidup dan Kebersihan"
    [incident_report] = client.get(f"/api/incidents/{incident_id}").json()["citizen_reports"]
    assert (incident_report["service_request_id"], round(incident_report["distance_m"])) == (sid, 60)


def test_a_false_positive_leaves_the_report_open_and_unlinked(
    client: TestClient, anon_client: TestClient, recorder: IncidentRecorder
) -> None:
    open_incident(recorder, "air_mancur")
    sid = submit(anon_client, IN_FRONT)
    report_id = report_id_of(client, sid)
    incident_id = client.get(f"/api/citizen-reports/{report_id}").json()["incident_id"]
    client.post(f"/api/incidents/{incident_id}/status", json={"to": "false_positive", "by": "rina"})
    shown = public(anon_client, sid)
    assert (shown["status"], shown["status_notes"]) == ("open", None)
    detail = client.get(f"/api/citizen-reports/{report_id}").json()
    assert (detail["incident_id"], detail["camera_confirmed_at"]) == (None, None)


def test_two_cameras_incidents_are_linked_and_merged_with_their_reports_audited(
    client: TestClient, anon_client: TestClient, recorder: IncidentRecorder
) -> None:
    open_incident(recorder, "merdeka")  # incident 1, the older
    open_incident(recorder, "air_mancur", at=T0 + 120)  # incident 2
    sid = submit(anon_client, IN_FRONT)  # nearest to Air Mancur's camera: linked to 2
    [link] = client.get("/api/incidents/2").json()["linked_incidents"]
    assert (link["incident_id"], link["linked_incident_id"], link["status"]) == (1, 2, "suggested")
    assert link["distance_m"] == pytest.approx(150, abs=1)

    answer = client.post("/api/incidents/2/merge", json={"into": 1, "note": "satu tumpukan"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["merged_into"]) == ("duplicate", 1)
    trail = client.get("/api/incidents/2/audit").json()
    assert (trail[-1]["to_status"], trail[-1]["by"], trail[-1]["note"]) == ("duplicate", "rina", "satu tumpukan")
    target = client.get("/api/incidents/1").json()
    assert [r["service_request_id"] for r in target["citizen_reports"]] == [sid]
    assert [(x["status"], x["decided_by"]) for x in target["linked_incidents"]] == [("merged", "rina")]
    assert client.post(f"/api/incidents/links/{link['id']}/dismiss").status_code == 409


def test_a_suggested_link_far_apart_is_not_made_and_a_near_one_can_be_dismissed(
    client: TestClient, recorder: IncidentRecorder
) -> None:
    open_incident(recorder, "air_mancur")
    open_incident(recorder, "charitas")  # 1.5 km away: no link
    assert client.get("/api/incidents/2").json()["linked_incidents"] == []
    open_incident(recorder, "merdeka")
    [link] = client.get("/api/incidents/3").json()["linked_incidents"]
    dismissed = client.post(f"/api/incidents/links/{link['id']}/dismiss").json()
    assert (dismissed["status"], dismissed["decided_by"]) == ("dismissed", "rina")
    assert client.get("/api/incidents/3").json()["linked_incidents"] == []
    assert client.post("/api/incidents/links/99/dismiss").status_code == 404


def test_an_operator_links_and_unlinks_a_report_by_hand_and_it_is_audited(
    client: TestClient, anon_client: TestClient, recorder: IncidentRecorder
) -> None:
    sid = submit(anon_client, FAR)  # 400 m away: not linked by itself
    report_id = report_id_of(client, sid)
    open_incident(recorder, "air_mancur")
    assert client.get(f"/api/citizen-reports/{report_id}").json()["incident_id"] is None
    body = {"incident_id": 1, "note": "foto sama dengan kamera"}
    linked = client.post(f"/api/citizen-reports/{report_id}/link", json=body).json()
    assert (linked["incident_id"], linked["incident"]["id"]) == (1, 1)
    assert client.get("/api/citizen-reports", params={"linked": "true"}).json()["total"] == 1
    assert client.get("/api/citizen-reports", params={"confirmed": "false"}).json()["total"] == 0
    unlinked = client.post(f"/api/citizen-reports/{report_id}/unlink", json={}).json()
    assert unlinked["incident_id"] is None
    trail = client.get("/api/incidents/1/audit").json()
    assert [(row["by"], row["details"]) for row in trail] == [
        ("rina", {"report_linked": sid}),
        ("rina", {"report_unlinked": sid}),
    ]
    assert client.post(f"/api/citizen-reports/{report_id}/unlink", json={}).status_code == 409
    assert client.post(f"/api/citizen-reports/{report_id}/link", json={**body, "incident_id": 9}).status_code == 404


def test_reports_are_listed_by_status_service_and_link_and_can_be_correlated_again(
    client: TestClient, anon_client: TestClient, recorder: IncidentRecorder
) -> None:
    flood = submit(anon_client, IN_FRONT, code="flooding")
    trash = submit(anon_client, IN_FRONT)
    page = client.get("/api/citizen-reports", params={"service_code": "trash"}).json()
    assert [r["service_request_id"] for r in page["items"]] == [trash] and page["total"] == 1
    assert client.get("/api/citizen-reports", params={"status": "open", "limit": 1}).json()["total"] == 2
    open_incident(recorder, "air_mancur", kind="flood")  # links the flooding report as it opens
    assert (
        client.get("/api/citizen-reports", params={"confirmed": "true"}).json()["items"][0]["service_request_id"]
        == flood
    )
    again = client.post(f"/api/citizen-reports/{report_id_of(client, trash)}/correlate").json()
    assert again["incident_id"] is None and [c["camera_id"] for c in again["cameras"]] == ["air_mancur", "merdeka"]
    assert client.get("/api/citizen-reports/999").status_code == 404
