"""Traffic counts in a real SQLite file: stored from the bus, summed per minute, resampled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import TrafficCount as CountMessage
from incidents.cameras import sync_cameras
from incidents.db import session_scope
from incidents.models import TrafficCount
from incidents.recorder import IncidentRecorder
from incidents.traffic import interval_start, traffic_series
from runtime.bus import BusConsumer

MINUTE0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC, a whole hour


@pytest.fixture
def sessions(session_factory: sessionmaker[Session], config: AppConfig) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    return session_factory


def _count(minute: int, count: int, *, line: str = "north", cls: str = "car", direction: str = "in") -> CountMessage:
    return CountMessage("simpang_lima", line, cls, direction, MINUTE0 + 60 * minute, count)


def test_the_bus_stores_a_minute_and_adds_a_minute_reported_again(
    sessions: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    consumer = BusConsumer(recorder, sessions)
    consumer.handle(_count(0, 3))
    consumer.handle(_count(0, 2))  # analytics restarted within the minute
    consumer.handle(_count(0, 1, direction="out"))
    with session_scope(sessions) as session:
        rows = session.scalars(select(TrafficCount).order_by(TrafficCount.direction)).all()
        stored = [(r.camera_id, r.line, r.class_name, r.direction, r.bucket_start, r.count) for r in rows]
    start = datetime.fromtimestamp(MINUTE0, UTC)
    assert stored == [
        ("simpang_lima", "north", "car", "in", start, 5),
        ("simpang_lima", "north", "car", "out", start, 1),
    ]


def test_a_count_of_an_unknown_camera_is_not_stored(
    sessions: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    BusConsumer(recorder, sessions).handle(CountMessage("nowhere", "north", "car", "in", MINUTE0, 4))
    with session_scope(sessions) as session:
        assert session.scalars(select(TrafficCount)).all() == []


def test_minutes_resample_into_15_and_60_minute_sums_per_line_class_and_direction(
    sessions: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    consumer = BusConsumer(recorder, sessions)
    for minute in range(30):  # two quarter hours of cars: 1, 2, ... 30 a minute
        consumer.handle(_count(minute, minute + 1))
    consumer.handle(_count(7, 4, cls="motorcycle"))
    consumer.handle(_count(70, 9))  # the next hour, outside the range below
    start = datetime.fromtimestamp(MINUTE0, UTC)
    with session_scope(sessions) as session:
        quarters = traffic_series("simpang_lima", start, start + timedelta(hours=1), 15, session=session)
        hours = traffic_series("simpang_lima", start, start + timedelta(hours=2), 60, session=session)
        minutes = traffic_series("simpang_lima", start, start + timedelta(minutes=10), 1, session=session)
    assert [(s.class_name, s.counts) for s in quarters] == [
        ("car", {start: sum(range(1, 16)), start + timedelta(minutes=15): sum(range(16, 31))}),
        ("motorcycle", {start: 4}),
    ]
    assert [(s.class_name, s.total) for s in hours] == [("car", sum(range(1, 31)) + 9), ("motorcycle", 4)]
    assert hours[0].counts[start + timedelta(hours=1)] == 9
    assert len(minutes[0].counts) == 10 and minutes[0].total == sum(range(1, 11))


@pytest.mark.parametrize(
    ("at", "resolution", "expected"),
    [
        ("2027-01-15T08:14:59+00:00", 15, "2027-01-15T08:00:00+00:00"),
        ("2027-01-15T15:15:00+07:00", 15, "2027-01-15T08:15:00+00:00"),
        ("2027-01-15T08:59:59+00:00", 60, "2027-01-15T08:00:00+00:00"),
        ("2027-01-15T08:07:30+00:00", 1, "2027-01-15T08:07:00+00:00"),
    ],
)
def test_intervals_start_on_whole_utc_multiples_of_their_length(at: str, resolution: int, expected: str) -> None:
    assert interval_start(datetime.fromisoformat(at), resolution) == datetime.fromisoformat(expected)
