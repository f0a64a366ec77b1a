"""Operators' reviews: record a verdict, see it on the incident, and the false-alarm report built on them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.messages import EventPhase
from incidents.accounts import UserRole
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import T0, make_event


def _open(recorder: IncidentRecorder, *, camera_id: str = "simpang_lima", kind: str = "dumping", at: float = 0) -> None:
    event = make_event(EventPhase.START, camera_id=camera_id, kind=kind, at_ts=T0 + at, started_ts=T0 + at)
    assert recorder.handle_event(event) is not None
    # Ended at once, so the next event of the same key opens a new incident.
    end = make_event(EventPhase.END, camera_id=camera_id, kind=kind, at_ts=T0 + at + 10, started_ts=T0 + at)
    recorder.handle_event(end)


def _review(client: TestClient, incident_id: int, verdict: str, by: str = "rina") -> None:
    response = client.post(f"/api/incidents/{incident_id}/review", json={"verdict": verdict, "by": by})
    assert response.status_code == 201, response.text


def test_a_review_is_recorded_and_shown_as_the_incidents_latest(
    client: TestClient, client_as: Callable[..., TestClient], recorder: IncidentRecorder
) -> None:
    _open(recorder)
    assert client.get("/api/incidents/1").json()["review"] is None

    response = client.post(
        "/api/incidents/1/review", json={"verdict": "false_positive", "note": "a shadow", "by": "rina"}
    )
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["incident_id"] == 1
    assert (recorded["verdict"], recorded["note"], recorded["by"]) == ("false_positive", "a shadow", "rina")

    _review(client_as(UserRole.OPERATOR, "budi"), 1, "confirmed", by="budi")  # a second look overrules the first
    detail = client.get("/api/incidents/1").json()
    assert detail["review"]["verdict"] == "confirmed"
    assert detail["review"]["by"] == "budi"
    assert detail["review"]["note"] is None
    assert detail["status"] == "new"  # the workflow's status is not the review's business


def test_reviewing_an_unknown_incident_is_404(client: TestClient) -> None:
    response = client.post("/api/incidents/99/review", json={"verdict": "confirmed", "by": "rina"})
    assert response.status_code == 404
    assert response.json() == {"detail": "incident 99 not found"}


@pytest.mark.parametrize(
    "body",
    [
        {"verdict": "maybe", "by": "rina"},
        {"verdict": "confirmed", "by": ""},
        {"verdict": "confirmed", "by": "rina", "colour": "red"},
    ],
)
def test_a_bad_review_is_422(client: TestClient, recorder: IncidentRecorder, body: dict[str, str]) -> None:
    _open(recorder)
    assert client.post("/api/incidents/1/review", json=body).status_code == 422
    assert client.get("/api/incidents/1").json()["review"] is None


@pytest.fixture
def reviewed(client: TestClient, recorder: IncidentRecorder) -> None:
    """simpang_lima: dumping 1 confirmed, 2 false, 3 false then confirmed; flood 4 false; ampera: dumping 5
    confirmed; 6 (ampera flood) never reviewed."""
    _open(recorder, at=0)
    _open(recorder, at=1000)
    _open(recorder, at=2000)
    _open(recorder, kind="flood", at=3000)
    _open(recorder, camera_id="ampera", at=4000)
    _open(recorder, camera_id="ampera", kind="flood", at=5000)
    for incident_id, verdict in [
        (1, "confirmed"),
        (2, "false_positive"),
        (3, "false_positive"),
        (3, "confirmed"),
        (4, "false_positive"),
        (5, "confirmed"),
    ]:
        _review(client, incident_id, verdict)


@pytest.mark.usefixtures("reviewed")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?group=kind", [("flood", 1, 0, 1, 1.0), ("dumping", 4, 3, 1, 0.25)]),
        ("", [("flood", 1, 0, 1, 1.0), ("dumping", 4, 3, 1, 0.25)]),
        ("?group=camera", [("simpang_lima", 4, 2, 2, 0.5), ("ampera", 1, 1, 0, 0.0)]),
        ("?group=camera&since=2025-06-15T15:40:00%2B00:00", [("simpang_lima", 2, 1, 1, 0.5), ("ampera", 1, 1, 0, 0.0)]),
    ],
)
def test_the_false_alarm_report_counts_each_incident_by_its_latest_review(
    client: TestClient, query: str, expected: list[tuple[str, int, int, int, float]]
) -> None:
    response = client.get(f"/api/reports/false-alarms{query}")
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    got = [(r["key"], r["reviewed"], r["confirmed"], r["false_positives"], r["false_alarm_rate"]) for r in rows]
    assert got == expected


@pytest.mark.parametrize("query", ["?group=zone", "?since=2025-06-15T15:40:00"])
def test_the_false_alarm_report_refuses_a_bad_group_or_a_naive_time(client: TestClient, query: str) -> None:
    assert client.get(f"/api/reports/false-alarms{query}").status_code == 422


def test_the_false_alarm_report_is_empty_before_any_review(client: TestClient) -> None:
    assert client.get("/api/reports/false-alarms").json() == {"group": "kind", "since": None, "rows": []}
