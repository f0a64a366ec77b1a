"""Incidents as CAP 1.2 alerts over HTTP: valid documents that follow the incident through the workflow."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fastapi.testclient import TestClient

from core.messages import EventPhase
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import make_event
from tests.incidents.test_cap import CAP_SCHEMA, NS


def _cap(client: TestClient, incident_id: int = 1) -> ET.Element:
    response = client.get(f"/api/incidents/{incident_id}/cap")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/cap+xml"
    CAP_SCHEMA.validate(response.text)
    return ET.fromstring(response.content)


def _move(client: TestClient, to: str, **body: object) -> None:
    response = client.post("/api/incidents/1/status", json={"to": to, "by": "rina", **body})
    assert response.status_code == 200, response.text


def test_an_incident_is_an_alert_then_updates_that_reference_the_earlier_messages(
    client: TestClient, recorder: IncidentRecorder
) -> None:
    assert recorder.handle_event(make_event(EventPhase.START, kind="flood")) is not None
    alert = _cap(client)
    assert alert.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert alert.findtext("cap:identifier", namespaces=NS) == "matakota-palembang.go.id-incident-1-0"
    assert alert.findtext("cap:info/cap:web", namespaces=NS) == "http://testserver/api/incidents/1"
    assert _cap(client).findtext("cap:sent", namespaces=NS) == alert.findtext("cap:sent", namespaces=NS)  # stable

    _move(client, "acknowledged")
    _move(client, "dispatched")
    update = _cap(client)
    assert update.findtext("cap:msgType", namespaces=NS) == "Update"
    assert update.findtext("cap:identifier", namespaces=NS) == "matakota-palembang.go.id-incident-1-2"
    references = (update.findtext("cap:references", namespaces=NS) or "").split()
    assert [r.split(",")[1] for r in references] == [
        "matakota-palembang.go.id-incident-1-0",
        "matakota-palembang.go.id-incident-1-1",
    ]
    assert references[0].split(",")[2] == alert.findtext("cap:sent", namespaces=NS)
    assert update.findtext("cap:info/cap:contact", namespaces=NS) == "Badan Penanggulangan Bencana Daerah"


def test_a_false_positive_cancels_the_alert(client: TestClient, recorder: IncidentRecorder) -> None:
    assert recorder.handle_event(make_event(EventPhase.START, kind="dumping")) is not None
    _move(client, "false_positive")
    cancel = _cap(client)
    assert cancel.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert cancel.findtext("cap:info/cap:certainty", namespaces=NS) == "Unlikely"


def test_a_missing_incident_is_404(client: TestClient) -> None:
    response = client.get("/api/incidents/99/cap")
    assert response.status_code == 404
    assert response.json() == {"detail": "incident 99 not found"}
