"""Reading the change feed: the horizon that waits for late commits, pages after a cursor, where a stream starts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.events import IncidentEvent
from incidents.feed import EventFilter, FeedConfig, FeedFull, LiveFeed, horizon, read_page, start_cursor

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("after", "visible", "expected"),
    [
        (0, [], 0),  # nothing new
        (5, [], 5),
        (0, [(1, _ago(1)), (2, _ago(1)), (3, _ago(0))], 3),  # no holes: all of it
        (0, [(2, _ago(1))], 0),  # 1 is still being committed: wait for it
        (0, [(1, _ago(2)), (3, _ago(2)), (4, _ago(1))], 1),  # up to the young hole at 2
        (0, [(1, _ago(30)), (3, _ago(11))], 3),  # the hole at 2 is older than the grace period: rolled back
        (0, [(2, _ago(10))], 2),  # exactly the grace period: given up
        (10, [(11, _ago(1)), (14, _ago(20)), (16, _ago(3))], 14),  # old holes 12-13 passed, young 15 waited for
        (0, [(1, _ago(1)), (2, NOW + timedelta(seconds=5))], 2),  # a clock ahead of ours: no hole, no wait
        (0, [(3, NOW + timedelta(seconds=5))], 0),  # a clock ahead of ours and a hole: wait
    ],
)
def test_the_horizon_stops_before_young_holes_and_passes_old_ones(
    after: int, visible: list[tuple[int, datetime]], expected: int
) -> None:
    assert horizon(after, visible, now=NOW, grace_s=10.0) == expected


def _event(session: Session, *, type_: str = "incident.created", kind: str = "flood", subject_id: int = 1) -> int:
    subject = type_.partition(".")[0]
    row = IncidentEvent(type=type_, subject=subject, subject_id=subject_id, kind=kind, payload={"id": subject_id})
    session.add(row)
    session.flush()
    return row.id


def test_pages_follow_the_cursor_and_filters(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        for type_, kind in [
            ("incident.created", "flood"),
            ("incident.created", "trash"),
            ("incident.updated", "flood"),
        ]:
            _event(session, type_=type_, kind=kind)
        _event(session, type_="report.created", kind="sampah")

    with session_factory() as session:
        first = read_page(0, EventFilter(), 2, session=session)
        assert [e.id for e in first.events] == [1, 2] and first.next_after == 2
        rest = read_page(first.next_after, EventFilter(), 2, session=session)
        assert [e.id for e in rest.events] == [3, 4] and rest.next_after == 4
        assert read_page(4, EventFilter(), 2, session=session).events == []

        floods = read_page(0, EventFilter(kind="flood"), 10, session=session)
        assert [e.id for e in floods.events] == [1, 3] and floods.next_after == 4  # 4 was looked at too
        updates = read_page(0, EventFilter(type=["incident.updated", "report.created"]), 10, session=session)
        assert [(e.id, e.type) for e in updates.events] == [(3, "incident.updated"), (4, "report.created")]
        assert [e.id for e in read_page(0, EventFilter(subject="report"), 10, session=session).events] == [4]


def test_a_stream_from_now_starts_after_the_newest_event_or_replays_a_backlog(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        assert start_cursor(EventFilter(), 0, session=session) == 0  # an empty feed: everything to come
    with session_scope(session_factory) as session:
        for kind in ("flood", "trash", "flood", "trash"):
            _event(session, kind=kind)
    with session_factory() as session:
        assert start_cursor(EventFilter(), 0, session=session) == 4
        assert start_cursor(EventFilter(), 3, session=session) == 1
        assert start_cursor(EventFilter(kind="flood"), 1, session=session) == 2  # replays event 3
        assert start_cursor(EventFilter(kind="fire"), 5, session=session) == 4


def test_stream_slots_are_bounded_and_given_back() -> None:
    feed = LiveFeed(FeedConfig(max_streams=2))
    feed.acquire()
    feed.acquire()
    with pytest.raises(FeedFull, match="at most 2 streams"):
        feed.acquire()
    feed.release()
    feed.acquire()
    assert feed.open_streams == 2


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(postgres_url)
    engine: Engine = make_engine(postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_an_event_committed_after_a_later_one_is_still_delivered_in_order(
    pg_factory: sessionmaker[Session],
) -> None:
    """On PostgreSQL a transaction holding id 1 may commit after the one holding id 2."""
    slow = pg_factory()
    early = _event(slow, kind="flood")  # id drawn, not committed
    with session_scope(pg_factory) as fast:
        late = _event(fast, kind="trash")
    assert early < late

    with pg_factory() as reader:
        waiting = read_page(0, EventFilter(), 10, session=reader)
        assert waiting.events == [] and waiting.next_after == 0  # 2 is held back behind the hole at 1
    slow.commit()
    slow.close()
    with pg_factory() as reader:
        page = read_page(waiting.next_after, EventFilter(), 10, session=reader)
    assert [e.id for e in page.events] == [early, late]


def test_a_rolled_back_id_is_passed_after_the_grace_period(pg_factory: sessionmaker[Session]) -> None:
    doomed = pg_factory()
    _event(doomed)
    doomed.rollback()
    doomed.close()
    with session_scope(pg_factory) as session:
        kept = _event(session)
    with pg_factory() as reader:
        assert read_page(0, EventFilter(), 10, session=reader).events == []
        later = datetime.now(UTC) + timedelta(seconds=11)
        assert [e.id for e in read_page(0, EventFilter(), 10, session=reader, now=later).events] == [kept]
        assert start_cursor(EventFilter(), 0, session=reader, now=later) == kept


def _follow(feed: LiveFeed, factory: object, polls: int) -> list[object]:
    """What ``feed.follow`` yields from the start until the client leaves after ``polls`` polls."""
    asked = 0

    async def disconnected() -> bool:
        nonlocal asked
        asked += 1
        return asked > polls

    async def collect() -> list[object]:
        return [item async for item in feed.follow(0, EventFilter(), factory=factory, disconnected=disconnected)]  # type: ignore[arg-type]

    return anyio.run(collect)


def test_following_yields_events_then_heartbeats_and_stops_when_the_client_leaves(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as session:
        _event(session)
    feed = LiveFeed(FeedConfig(poll_s=0.02, heartbeat_s=0.05))
    items = _follow(feed, session_factory, polls=10)
    assert [getattr(item, "id", item) for item in items[:1]] == [1]
    assert None in items[1:] and all(item is None for item in items[1:])  # heartbeats while nothing happens
    assert _follow(feed, session_factory, polls=0) == []


def test_following_ends_the_stream_when_the_database_fails() -> None:
    def broken() -> Session:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    assert _follow(LiveFeed(FeedConfig(poll_s=0.01)), broken, polls=5) == []
