"""The change feed of incidents and citizens' reports: pages after a cursor, and a live Server-Sent Events stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.orm import Session, sessionmaker

from api.deps import MAX_ID, SessionDep
from api.feed_schemas import STREAM_EXAMPLE, EventOut, EventPage, EventPageQuery, StreamQuery
from incidents.feed import FeedEvent, LiveFeed, read_page

router = APIRouter(prefix="/api/events", tags=["events"])

TAG = {
    "name": "events",
    "description": (
        "The change feed: every change of an incident or a citizen's report, as pages after a cursor or live "
        "as Server-Sent Events, for the web UI and other city applications."
    ),
}


def install(app: FastAPI, feed: LiveFeed | None = None) -> None:
    """Add the feed's routes, its tag's description and its live feed (default settings without ``feed``)."""
    app.state.live_feed = feed if feed is not None else LiveFeed()
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]


def get_live_feed(request: Request) -> LiveFeed:
    """The live feed of the app: its settings and its open streams."""
    feed: LiveFeed = request.app.state.live_feed
    return feed


LiveFeedDep = Annotated[LiveFeed, Depends(get_live_feed)]


async def stream_slot(feed: LiveFeedDep) -> AsyncIterator[None]:
    """Hold one of the feed's stream slots while the stream is open (503 when none is free)."""
    feed.acquire()
    try:
        yield
    finally:
        feed.release()


@router.get("")
def list_events(query: Annotated[EventPageQuery, Query()], session: SessionDep) -> EventPage:
    """Changes of incidents and reports after a cursor, oldest first; pass `next_after` as `after` to read on."""
    return EventPage.from_page(read_page(query.after, query, query.limit, session=session))


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    dependencies=[Depends(stream_slot)],
    responses={
        200: {
            "description": "A stream of `text/event-stream` events: `id` (the event id), `event` (its type), `data` "
            "(the event as JSON, as in `GET /api/events`); a comment line every 15 s keeps idle connections open.",
            "content": {"text/event-stream": {"example": STREAM_EXAMPLE}},
        },
        503: {
            "description": "The feed already serves as many streams as it allows (the detail says so).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        },
    },
)
async def stream(
    request: Request,
    query: Annotated[StreamQuery, Query()],
    feed: LiveFeedDep,
    last_event_id: Annotated[
        int | None,
        Header(ge=0, le=MAX_ID, description="The last event id received; browsers send it when they reconnect."),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Live changes of incidents and reports as Server-Sent Events, in id order; resume with `Last-Event-ID`."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    resume = last_event_id if last_event_id is not None else query.after
    after = await feed.starting_point(resume, query, backlog=query.backlog, factory=factory)
    yield ServerSentEvent(retry=feed.config.retry_ms, comment=f"following events after {after}")
    async for event in feed.follow(after, query, factory=factory, disconnected=request.is_disconnected):
        yield _to_sse(event)


def _to_sse(event: FeedEvent | None) -> ServerSentEvent:
    if event is None:
        return ServerSentEvent(comment="keep-alive")
    data = EventOut.from_event(event).model_dump_json()
    return ServerSentEvent(id=str(event.id), event=event.type, raw_data=data)
