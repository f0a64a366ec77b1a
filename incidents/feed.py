"""Reading the change feed (:mod:`incidents.events`) after a cursor, for the JSON pages and the live stream.

Event ids grow with insertion, but on PostgreSQL they are drawn when a transaction inserts its
event, not when it commits: a transaction holding id 10 may commit after one holding 11. A reader
that just followed ``id > cursor`` would move past 10 while it is invisible and never see it.

So a reader only goes up to its *horizon*: the id before the first hole (an id not visible yet
between visible ones) whose following event is younger than a grace period. The transaction
holding a hole drew its id before the event after it was written, so while that event is young
the hole may still commit; once it is older than the grace period (10 s), the hole is taken for a
rolled-back transaction and passed. Events are therefore delivered exactly once and in id order,
and a cursor (the last id delivered) is all a client needs to resume; an event behind a hole
waits at most the grace period. SQLite commits one writer at a time, so it has no such holes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import StreamUnavailable
from incidents.events import IncidentEvent
from incidents.types import utcnow

logger = logging.getLogger(__name__)

GRACE_S = 10.0  # how long a hole in the ids is waited for
SCAN_LIMIT = 500  # ids looked at per read when finding the horizon
TAIL = 200  # newest events looked at when a stream starts from now

FEED_SUBJECTS = ("incident", "report")  # what the feed is about (webhook pings are not)


class EventFilter(BaseModel):
    """Which events to deliver; every condition given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: list[str] | None = Field(
        default=None,
        description="Only events of these types (repeat the parameter for several), e.g. `incident.created`.",
    )
    kind: str | None = Field(
        default=None, description="Only events about this incident kind (e.g. `flood`) or report service code."
    )
    subject: str | None = Field(
        default=None, pattern=r"^(incident|report)$", description="Only events about an `incident` or a `report`."
    )

    def where(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` narrowed to the events this filter lets through."""
        if self.type:
            stmt = stmt.where(IncidentEvent.type.in_(self.type))
        if self.kind is not None:
            stmt = stmt.where(IncidentEvent.kind == self.kind)
        if self.subject is not None:
            stmt = stmt.where(IncidentEvent.subject == self.subject)
        else:  # webhook pings share the table; they are not news about incidents or reports
            stmt = stmt.where(IncidentEvent.subject.in_(FEED_SUBJECTS))
        return stmt


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One event as read, detached from any session."""

    id: int
    type: str
    subject: str
    subject_id: int
    kind: str | None
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def from_row(cls, row: IncidentEvent) -> FeedEvent:
        """The event of a stored row."""
        return cls(row.id, row.type, row.subject, row.subject_id, row.kind, row.created_at, dict(row.payload))


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Events after a cursor, oldest first, and the cursor to read on from."""

    events: list[FeedEvent]
    next_after: int
    more: bool = False  # more events may be readable at once (the page or the scan was full)


def horizon(after: int, visible: Sequence[tuple[int, datetime]], *, now: datetime, grace_s: float = GRACE_S) -> int:
    """The highest id the feed after ``after`` can be read up to without skipping a late commit.

    Args:
        after: the cursor: every event up to it was delivered.
        visible: ``(id, created_at)`` of the events visible after ``after``, ids ascending.
        now: the current time.
        grace_s: how long a hole is waited for, counted from its following event's ``created_at``.
    """
    expected = after + 1
    for event_id, created_at in visible:
        if event_id > expected and (now - created_at).total_seconds() < grace_s:
            return expected - 1
        expected = event_id + 1
    return expected - 1


def read_page(
    after: int, flt: EventFilter, limit: int, *, session: Session, now: datetime | None = None, grace_s: float = GRACE_S
) -> FeedPage:
    """Up to ``limit`` events after ``after`` that ``flt`` lets through, oldest first, never past the horizon.

    ``next_after`` is the id to pass as ``after`` next time: the last event returned when the page
    is full, else the horizon (every event up to it was looked at).
    """
    scanned = session.execute(
        select(IncidentEvent.id, IncidentEvent.created_at)
        .where(IncidentEvent.id > after)
        .order_by(IncidentEvent.id)
        .limit(SCAN_LIMIT)
    ).all()
    top = horizon(after, [(row.id, row.created_at) for row in scanned], now=now or utcnow(), grace_s=grace_s)
    if top == after:
        return FeedPage(events=[], next_after=after)
    scan_full = len(scanned) == SCAN_LIMIT and top == scanned[-1].id  # stopped by the limit, not by a hole
    stmt = select(IncidentEvent).where(IncidentEvent.id > after, IncidentEvent.id <= top)
    rows = session.scalars(flt.where(stmt).order_by(IncidentEvent.id).limit(limit)).all()
    events = [FeedEvent.from_row(row) for row in rows]
    full = len(events) == limit
    return FeedPage(events=events, next_after=events[-1].id if full else top, more=full or scan_full)


def start_cursor(
    flt: EventFilter, backlog: int, *, session: Session, now: datetime | None = None, grace_s: float = GRACE_S
) -> int:
    """Where a stream that starts "from now" begins: after the newest events, ``backlog`` of them replayed.

    Holes among the newest events are respected: the cursor never passes one that may still commit.
    """
    tail = session.execute(
        select(IncidentEvent.id, IncidentEvent.created_at).order_by(IncidentEvent.id.desc()).limit(TAIL)
    ).all()
    if not tail:
        return 0
    visible = [(row.id, row.created_at) for row in reversed(tail)]
    cursor = horizon(visible[0][0] - 1, visible, now=now or utcnow(), grace_s=grace_s)
    if backlog <= 0:
        return cursor
    recent = select(IncidentEvent.id).where(IncidentEvent.id <= cursor)
    ids = session.scalars(flt.where(recent).order_by(IncidentEvent.id.desc()).limit(backlog)).all()
    return min(ids) - 1 if ids else cursor


class FeedFull(StreamUnavailable):
    """The live feed already serves as many streams as it allows."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """How the live feed polls, keeps streams open, and how many it serves at once."""

    max_streams: int = 100
    poll_s: float = 0.5
    heartbeat_s: float = 15.0
    retry_ms: int = 3000  # what browsers wait before reconnecting
    grace_s: float = GRACE_S
    batch: int = 200


class LiveFeed:
    """Follows the change feed for each open stream, within a bound on concurrent streams."""

    def __init__(self, config: FeedConfig | None = None) -> None:
        self.config = config if config is not None else FeedConfig()
        self._lock = threading.Lock()
        self._open = 0

    @property
    def open_streams(self) -> int:
        """How many streams are open now."""
        return self._open

    def acquire(self) -> None:
        """Take a stream slot.

        Raises:
            FeedFull: every slot is taken.
        """
        with self._lock:
            if self._open >= self.config.max_streams:
                raise FeedFull(
                    f"the live feed serves at most {self.config.max_streams} streams at once: try again later"
                )
            self._open += 1

    def release(self) -> None:
        """Give a stream slot back."""
        with self._lock:
            self._open = max(0, self._open - 1)

    async def starting_point(
        self, after: int | None, flt: EventFilter, *, backlog: int, factory: sessionmaker[Session]
    ) -> int:
        """The cursor a stream starts after: ``after`` when the client resumes, else now (less the backlog)."""
        if after is not None:
            return after
        return await anyio.to_thread.run_sync(self._start, factory, flt, backlog)

    async def follow(
        self,
        after: int,
        flt: EventFilter,
        *,
        factory: sessionmaker[Session],
        disconnected: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[FeedEvent | None]:
        """The events after ``after`` as they are committed, and None whenever a heartbeat is due.

        Each read runs in a worker thread with a short-lived session, so the event loop never waits
        on the database; the loop ends when ``disconnected()`` says the client left.
        """
        config = self.config
        quiet_since = anyio.current_time()
        while not await disconnected():
            try:
                page = await anyio.to_thread.run_sync(self._read, factory, after, flt)
            except SQLAlchemyError:  # the database is away: end the stream, the client resumes from its cursor
                logger.exception("live feed: reading the events after %s failed; closing the stream", after)
                return
            for event in page.events:
                yield event
            after = page.next_after
            if page.events:
                quiet_since = anyio.current_time()
            elif anyio.current_time() - quiet_since >= config.heartbeat_s:
                yield None
                quiet_since = anyio.current_time()
            if not page.more:
                await anyio.sleep(config.poll_s)

    def _start(self, factory: sessionmaker[Session], flt: EventFilter, backlog: int) -> int:
        with factory() as session:
            return start_cursor(flt, backlog, session=session, grace_s=self.config.grace_s)

    def _read(self, factory: sessionmaker[Session], after: int, flt: EventFilter) -> FeedPage:
        with factory() as session:
            return read_page(after, flt, self.config.batch, session=session, grace_s=self.config.grace_s)
