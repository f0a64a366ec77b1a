"""The operators' workflow over HTTP: status changes, their audit trail, routing and SLA on every incident."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.config import AppConfig
from core.messages import EventPhase
from core.settings import Settings
from incidents.accounts import UserRole
from incidents.db import session_scope
from incidents.models import Incident
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import CONFIG_YAML, make_config, make_event


def _open(recorder: IncidentRecorder, *, kind: str = "dumping", zone: str = "road") -> None:
    assert recorder.handle_event(make_event(EventPhase.START, kind=kind, zone=zone)) is not None


def _move(client: TestClient, incident_id: int, to: str, **body: Any) -> Any:
    return client.post(f"/api/incidents/{incident_id}/status", json={"to": to, "by": "rina", **body})


def test_an_incident_is_worked_through_and_its_audit_trail_lists_each_change(
    client: TestClient, recorder: IncidentRecorder
) -> None:
    _open(recorder)
    before = client.get("/api/incidents/1").json()
    assert (before["status"], before["routed_agency"], before["agency"]) == ("new", "DLH", None)

    assert _move(client, 1, "acknowledged", note="seen on camera").status_code == 200
    dispatched = _move(client, 1, "dispatched")
    assert dispatched.status_code == 200, dispatched.text
    body = dispatched.json()
    assert (body["status"], body["agency"]) == ("dispatched", "DLH")
    assert body["expected_by"] == body["resolve_due_at"]
    for to in ("in_progress", "resolved", "closed"):
        assert _move(client, 1, to).status_code == 200

    trail = client.get("/api/incidents/1/audit").json()
    assert [(row["from_status"], row["to_status"]) for row in trail] == [
        ("new", "acknowledged"),
        ("acknowledged", "dispatched"),
        ("dispatched", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    assert trail[0]["by"] == "rina" and trail[0]["note"] == "seen on camera"
    assert trail[1]["details"]["agency"] == "DLH"


def test_a_move_the_table_forbids_is_409_with_the_reason(client: TestClient, recorder: IncidentRecorder) -> None:
    _open(recorder)
    assert _move(client, 1, "false_positive").status_code == 200
    response = _move(client, 1, "acknowledged")
    assert response.status_code == 409
    assert response.json() == {"detail": "cannot go from false_positive to acknowledged: false_positive is final"}
    assert len(client.get("/api/incidents/1/audit").json()) == 1


def test_unknown_incidents_are_404(client: TestClient) -> None:
    assert _move(client, 99, "acknowledged").json() == {"detail": "incident 99 not found"}
    assert _move(client, 99, "acknowledged").status_code == 404
    assert client.get("/api/incidents/99/audit").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"to": "duplicate", "by": "rina"},  # merged_into missing
        {"to": "acknowledged", "by": "rina", "merged_into": 1},
        {"to": "acknowledged", "by": "rina", "agency": "DLH"},
        {"to": "dispatched", "by": "rina", "expected_by": "2026-12-01T10:00:00"},  # no offset
        {"to": "acknowledged", "by": ""},
        {"to": "archived", "by": "rina"},
        {"to": "acknowledged", "by": "rina", "extra": 1},
    ],
)
def test_a_bad_body_is_422(client: TestClient, recorder: IncidentRecorder, body: dict[str, Any]) -> None:
    _open(recorder)
    assert client.post("/api/incidents/1/status", json=body).status_code == 422


def test_what_a_status_needs_is_checked_against_the_store(client: TestClient, recorder: IncidentRecorder) -> None:
    _open(recorder)
    _open(recorder, zone="lane")
    _move(client, 1, "acknowledged")
    assert _move(client, 1, "dispatched", agency="NOPE").status_code == 422
    assert _move(client, 2, "duplicate", merged_into=2).status_code == 422
    assert _move(client, 2, "duplicate", merged_into=99).status_code == 422
    merged = _move(client, 2, "duplicate", merged_into=1)
    assert (merged.status_code, merged.json()["merged_into"]) == (200, 1)
    _open(recorder, zone="bridge")
    refused = _move(client, 3, "duplicate", merged_into=2)
    assert refused.status_code == 409
    assert "itself a duplicate of 1" in refused.json()["detail"]


def test_dispatch_takes_the_agency_and_time_the_operator_agreed(client: TestClient, recorder: IncidentRecorder) -> None:
    _open(recorder)
    _move(client, 1, "acknowledged")
    body = _move(client, 1, "dispatched", agency="PUPR", expected_by="2026-12-01T10:00:00+07:00").json()
    assert (body["agency"], body["routed_agency"]) == ("PUPR", "DLH")
    assert datetime.fromisoformat(body["expected_by"]) == datetime(2026, 12, 1, 3, tzinfo=UTC)


def _age(factory: sessionmaker[Session], incident_id: int, seconds: float) -> None:
    with session_scope(factory) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        incident.created_at = datetime.now(UTC) - timedelta(seconds=seconds)


def test_overdue_incidents_are_flagged_and_filtered(
    client: TestClient, recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    for zone in ("road", "lane", "bridge"):
        _open(recorder, zone=zone)  # medium: acknowledge within 30 min, resolve within 24 h
    _age(session_factory, 1, 31 * 60)  # not acknowledged in time
    _age(session_factory, 2, 31 * 60)
    _move(client, 2, "acknowledged")  # acknowledged late, but within its resolve time
    overdue = client.get("/api/incidents", params={"overdue": "true"}).json()
    assert [i["id"] for i in overdue["items"]] == [1] and overdue["total"] == 1
    assert overdue["items"][0]["overdue"] is True
    in_time = client.get("/api/incidents", params={"overdue": "false", "kind": "dumping"}).json()
    assert sorted(i["id"] for i in in_time["items"]) == [2, 3]
    assert all(i["overdue"] is False for i in in_time["items"])
    incident = client.get("/api/incidents/1").json()
    created = datetime.fromisoformat(incident["created_at"])
    assert datetime.fromisoformat(incident["acknowledge_due_at"]) - created == timedelta(minutes=30)
    assert datetime.fromisoformat(incident["resolve_due_at"]) - created == timedelta(hours=24)


ROUTED_YAML = """
agencies:
  DLH: Dinas Lingkungan Hidup dan Kebersihan
  PUPR: Dinas Pekerjaan Umum dan Penataan Ruang
routing:
  - {kind: dumping, kecamatan: Ilir Timur I, agency: PUPR}
  - {kind: dumping, agency: DLH}
sla:
  kinds:
    dumping:
      medium: {acknowledge_within_s: 60, resolve_within_s: 600}
"""


@pytest.fixture
def routed_config() -> AppConfig:
    return make_config(CONFIG_YAML + ROUTED_YAML)


def test_the_apps_configuration_decides_routing_and_sla(
    api_settings: Settings,
    session_factory: sessionmaker[Session],
    recorder: IncidentRecorder,
    routed_config: AppConfig,
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    _open(recorder)  # simpang_lima stands in Ilir Timur I
    headers = auth_headers(UserRole.ADMIN, "rina")
    with TestClient(create_app(api_settings, routed_config), headers=headers) as client:
        incident = client.get("/api/incidents/1").json()
        assert incident["routed_agency"] == "PUPR"
        created = datetime.fromisoformat(incident["created_at"])
        assert datetime.fromisoformat(incident["acknowledge_due_at"]) - created == timedelta(seconds=60)
        _move(client, 1, "acknowledged")
        body = _move(client, 1, "dispatched").json()
        assert body["agency"] == "PUPR"
        expected_by = datetime.fromisoformat(body["expected_by"])
        assert timedelta(seconds=590) < expected_by - datetime.now(UTC) <= timedelta(seconds=600)
        assert _move(client, 1, "in_progress").status_code == 200
