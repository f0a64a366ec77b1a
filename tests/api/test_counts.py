"""GET /api/cameras/{id}/counts over counts stored by the bus in a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.messages import TrafficCount
from incidents.recorder import IncidentRecorder
from incidents.types import utcnow
from runtime.bus import BusConsumer

URL = "/api/cameras/simpang_lima/counts"
HOUR = datetime(2027, 1, 15, 8, tzinfo=UTC)


def _store(
    recorder: IncidentRecorder, sessions: sessionmaker[Session], *counts: tuple[datetime, str, str, int]
) -> None:
    consumer = BusConsumer(recorder, sessions)
    for at, cls, direction, count in counts:
        consumer.handle(TrafficCount("simpang_lima", "north", cls, direction, at.timestamp(), count))


def test_counts_resample_from_minutes_to_quarter_hours_per_class_and_direction(
    client: TestClient, recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    minutes = [(HOUR + timedelta(minutes=m), "car", "in", 2) for m in range(20)]
    _store(recorder, session_factory, *minutes, (HOUR + timedelta(minutes=3), "car", "out", 5))
    answer = client.get(
        URL, params={"start": "2027-01-15T15:00:00+07:00", "end": "2027-01-15T16:00:00+07:00", "resolution": 15}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["resolution_min"] == 15 and body["camera_id"] == "simpang_lima"
    series = {(s["line"], s["class_name"], s["direction"]): s for s in body["series"]}
    assert series.keys() == {("north", "car", "in"), ("north", "car", "out")}
    assert series[("north", "car", "in")]["points"] == [
        {"start": "2027-01-15T08:00:00Z", "count": 30},
        {"start": "2027-01-15T08:15:00Z", "count": 10},
    ]
    assert series[("north", "car", "in")]["total"] == 40
    assert series[("north", "car", "out")]["points"] == [{"start": "2027-01-15T08:00:00Z", "count": 5}]


def test_counts_default_to_the_last_hour_by_minute(
    client: TestClient, recorder: IncidentRecorder, session_factory: sessionmaker[Session]
) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    _store(
        recorder,
        session_factory,
        (now - timedelta(minutes=2), "motorcycle", "out", 3),
        (now - timedelta(minutes=1), "motorcycle", "out", 4),
        (now - timedelta(minutes=90), "motorcycle", "out", 50),
    )
    body = client.get(URL).json()
    assert body["resolution_min"] == 1
    (series,) = body["series"]
    assert [p["count"] for p in series["points"]] == [3, 4]


def test_counts_need_time_zones_an_ordered_range_a_known_resolution_and_camera(client: TestClient) -> None:
    assert (
        client.get(URL, params={"start": "2027-01-15T08:00:00", "end": "2027-01-15T09:00:00+00:00"}).status_code == 422
    )
    assert client.get(URL, params={"start": "2027-01-15T09:00:00Z", "end": "2027-01-15T08:00:00Z"}).status_code == 422
    assert client.get(URL, params={"resolution": 5}).status_code == 422
    missing = client.get("/api/cameras/nowhere/counts")
    assert missing.status_code == 404 and "nowhere" in missing.json()["detail"]


def test_a_camera_without_counts_answers_no_series(client: TestClient) -> None:
    body = client.get(URL, params={"resolution": 60}).json()
    assert body["series"] == []
