"""Query and response models of the change feed: pages of events and the live stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.deps import MAX_ID  # larger cursors are refused, never sent to the database
from api.schemas import Out
from incidents.feed import EventFilter, FeedEvent, FeedPage

# One event of the stream as it appears on the wire, for the API docs.
STREAM_EXAMPLE = """\
: following events after 41
retry: 3000

event: incident.updated
data: {"id":42,"type":"incident.updated","subject":"incident","subject_id":7,"kind":"flood",\
"created_at":"2026-11-29T06:15:02.114000Z","payload":{"id":7,"status":"dispatched","agency":"BPBD",\
"changed":["status","agency"]}}
id: 42

: keep-alive

"""


class EventPageQuery(EventFilter):
    """Which events to list: those after a cursor, filtered, one page of them."""

    after: int = Field(
        default=0, ge=0, le=MAX_ID, description="Cursor: only events with a greater id (0: from the first)."
    )
    limit: int = Field(default=100, ge=1, le=500, description="Page size (1-500).")


class StreamQuery(EventFilter):
    """Where a live stream starts, and which events it delivers."""

    after: int | None = Field(
        default=None,
        ge=0,
        le=MAX_ID,
        description="Cursor: deliver the events with a greater id. The `Last-Event-ID` header, when sent, wins. "
        "Without either, the stream starts from now.",
    )
    backlog: int = Field(
        default=0, ge=0, le=500, description="When starting from now: first replay this many of the latest events."
    )


class EventOut(Out):
    """One change of an incident or a citizen's report."""

    id: int = Field(description="Event id; ids grow, so the last id seen is the cursor to resume from.")
    type: str = Field(
        description="`incident.created`, `incident.updated`, `incident.evidence`, `report.created` or `report.updated`."
    )
    subject: str = Field(description="`incident` or `report`.")
    subject_id: int = Field(description="Id of the incident, or of the report.")
    kind: str | None = Field(description="Incident kind, or the report's service code.")
    created_at: datetime = Field(description="When the change was made.")
    payload: dict[str, Any] = Field(
        description="A summary of the incident or report after the change; `changed` lists the fields an update "
        "changed. A report's summary holds no personal data."
    )

    @classmethod
    def from_event(cls, event: FeedEvent) -> EventOut:
        """The answer for one event."""
        return cls(
            id=event.id,
            type=event.type,
            subject=event.subject,
            subject_id=event.subject_id,
            kind=event.kind,
            created_at=event.created_at,
            payload=event.payload,
        )


class EventPage(Out):
    """Events after a cursor, oldest first."""

    items: list[EventOut] = Field(description="The events of this page, oldest first.")
    next_after: int = Field(description="Pass this as `after` to read on; it is `after` itself when nothing is new.")

    @classmethod
    def from_page(cls, page: FeedPage) -> EventPage:
        """The answer for one page."""
        return cls(items=[EventOut.from_event(e) for e in page.events], next_after=page.next_after)
