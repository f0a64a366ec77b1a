"""The change feed over HTTP: JSON pages, and the live stream served by a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import SESSION_COOKIE
from core.messages import EventPhase
from incidents.accounts import UserRole
from incidents.feed import FeedConfig, LiveFeed
from incidents.recorder import IncidentRecorder
from tests.api.conftest import AuthHeaders
from tests.incidents.helpers import make_event

WAIT_S = 5.0  # the most any expected event may take to arrive


def _open(recorder: IncidentRecorder, kind: str = "dumping", zone: str = "road") -> None:
    assert recorder.handle_event(make_event(EventPhase.START, kind=kind, zone=zone)) is not None


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free port of 127.0.0.1, in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"


@dataclass
class SseReader:
    """Reads one event stream in a thread; parsed events and comments arrive on ``items``."""

    url: str
    headers: dict[str, str]
    items: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    status: int | None = None
    opened: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name="sse-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        timeout = httpx.Timeout(WAIT_S, read=WAIT_S)
        with httpx.Client(timeout=timeout) as client, client.stream("GET", self.url, headers=self.headers) as r:
            self.status = r.status_code
            self.opened.set()
            if r.status_code != 200:
                self.items.put({"error": r.read().decode()})
                return
            item: dict[str, Any] = {}
            for line in r.iter_lines():  # heartbeats keep this loop turning, so `stop` is seen soon
                if self.stop.is_set():
                    return
                if not line:
                    if item:
                        self.items.put(item)
                    item = {}
                    continue
                name, _, value = line.partition(":")
                item[name or "comment"] = value.removeprefix(" ")

    def next_event(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next event (comments skipped), its data parsed; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if "data" in item:
                return {**item, "data": json.loads(item["data"])}
            assert "error" not in item, item

    def quiet_for(self, seconds: float) -> bool:
        """Whether no event (comments aside) arrives for ``seconds``."""
        try:
            event = self.next_event(timeout=seconds)
        except queue.Empty:
            return True
        pytest.fail(f"unexpected event {event}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT_S)
        assert not self.thread.is_alive(), "the stream reader did not stop"


@contextmanager
def _reading(base: str, headers: dict[str, str], query: str = "") -> Iterator[SseReader]:
    reader = SseReader(f"{base}/api/events/stream{query}", headers)
    try:
        assert reader.opened.wait(WAIT_S), "the stream did not open"
        if reader.status == 200:  # the opening comment: the stream's starting point is fixed
            assert "comment" in reader.items.get(timeout=WAIT_S)
        yield reader
    finally:
        reader.close()


@pytest.fixture
def feed(app: FastAPI) -> LiveFeed:
    """A quick live feed for tests: polls every 50 ms, a heartbeat every 200 ms, at most 2 streams."""
    live = LiveFeed(FeedConfig(max_streams=2, poll_s=0.05, heartbeat_s=0.2, retry_ms=500))
    app.state.live_feed = live
    return live


@pytest.fixture
def base_url(app: FastAPI, feed: LiveFeed) -> Iterator[str]:
    with _serve(app) as url:
        yield url


@pytest.fixture
def admin(auth_headers: AuthHeaders) -> dict[str, str]:
    return auth_headers(UserRole.ADMIN, "rina")


def test_a_change_made_while_streaming_arrives_promptly(
    base_url: str, admin: dict[str, str], recorder: IncidentRecorder
) -> None:
    with _reading(base_url, admin) as stream:
        started = time.monotonic()
        _open(recorder)
        created = stream.next_event()
        assert time.monotonic() - started < WAIT_S
        assert (created["event"], created["id"]) == ("incident.created", str(created["data"]["id"]))
        assert created["data"]["payload"]["kind"] == "dumping"

        moved = httpx.post(
            f"{base_url}/api/incidents/1/status", json={"to": "acknowledged", "by": "rina"}, headers=admin, timeout=5
        )
        assert moved.status_code == 200, moved.text
        updated = stream.next_event()
        assert updated["event"] == "incident.updated"
        assert updated["data"]["payload"]["status"] == "acknowledged"
        assert "status" in updated["data"]["payload"]["changed"]
        assert int(updated["id"]) > int(created["id"])


def test_the_stream_starts_from_now_or_replays_a_backlog(
    base_url: str, admin: dict[str, str], recorder: IncidentRecorder
) -> None:
    _open(recorder, kind="dumping")
    _open(recorder, kind="flood")
    with _reading(base_url, admin) as stream:
        assert stream.quiet_for(0.5)  # what happened before it opened is not sent
    with _reading(base_url, admin, "?backlog=1") as stream:
        assert stream.next_event()["data"]["kind"] == "flood"
        assert stream.quiet_for(0.3)


def test_a_stream_opening_and_retry_hint_and_heartbeats_are_on_the_wire(base_url: str, admin: dict[str, str]) -> None:
    with (
        httpx.Client(timeout=WAIT_S) as client,
        client.stream("GET", f"{base_url}/api/events/stream", headers=admin) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = response.iter_lines()
        opening = [next(lines), next(lines)]
        assert opening == [": following events after 0", "retry: 500"]
        assert next(lines) == ""
        assert next(lines) == ": keep-alive"  # after 0.2 s without events


def test_resuming_with_last_event_id_delivers_exactly_the_missed_events(
    base_url: str, admin: dict[str, str], recorder: IncidentRecorder
) -> None:
    with _reading(base_url, admin) as stream:
        _open(recorder, kind="dumping")
        last_seen = stream.next_event()["id"]
    _open(recorder, kind="flood")  # while disconnected
    _open(recorder, kind="trash")

    with _reading(base_url, {**admin, "Last-Event-ID": last_seen}, "?after=0") as stream:  # the header wins
        missed = [stream.next_event() for _ in range(2)]
        assert [e["data"]["kind"] for e in missed] == ["flood", "trash"]
        assert [int(e["id"]) for e in missed] == [int(last_seen) + 1, int(last_seen) + 2]
        assert stream.quiet_for(0.3)
    with _reading(base_url, admin, f"?after={last_seen}") as stream:
        assert stream.next_event()["data"]["kind"] == "flood"


def test_a_filtered_stream_delivers_only_matching_events(
    base_url: str, admin: dict[str, str], recorder: IncidentRecorder
) -> None:
    with _reading(base_url, admin, "?kind=flood&type=incident.updated") as stream:
        _open(recorder, kind="dumping")  # incident 1
        _open(recorder, kind="flood")  # incident 2
        for incident_id in (1, 2):
            body = {"to": "acknowledged", "by": "rina"}
            response = httpx.post(f"{base_url}/api/incidents/{incident_id}/status", json=body, headers=admin, timeout=5)
            assert response.status_code == 200, response.text
        event = stream.next_event()
        assert (event["event"], event["data"]["subject_id"], event["data"]["kind"]) == ("incident.updated", 2, "flood")
        assert stream.quiet_for(0.3)


def test_streams_beyond_the_limit_are_refused_and_a_closed_one_frees_its_slot(
    base_url: str, admin: dict[str, str], feed: LiveFeed
) -> None:
    with _reading(base_url, admin), _reading(base_url, admin) as second:
        assert feed.open_streams == 2
        refused = httpx.get(f"{base_url}/api/events/stream", headers=admin, timeout=WAIT_S)
        assert refused.status_code == 503
        assert refused.json() == {"detail": "the live feed serves at most 2 streams at once: try again later"}
        second.close()
        deadline = time.monotonic() + WAIT_S
        while feed.open_streams != 1:
            assert time.monotonic() < deadline, "the closed stream kept its slot"
            time.sleep(0.02)
        with _reading(base_url, admin) as third:
            assert third.status == 200
    deadline = time.monotonic() + WAIT_S
    while feed.open_streams:
        assert time.monotonic() < deadline, "slots were not given back"
        time.sleep(0.02)


def test_the_stream_needs_credentials(base_url: str, feed: LiveFeed) -> None:
    response = httpx.get(f"{base_url}/api/events/stream", timeout=WAIT_S)
    assert response.status_code == 401
    assert feed.open_streams == 0


def test_a_browser_streams_with_the_session_cookie(
    base_url: str, admin: dict[str, str], recorder: IncidentRecorder
) -> None:
    """EventSource cannot send headers: the login's cookie is its credential."""
    token = admin["Authorization"].removeprefix("Bearer ")
    with _reading(base_url, {"Cookie": f"{SESSION_COOKIE}={token}"}) as stream:
        assert stream.status == 200
        _open(recorder)
        assert stream.next_event()["event"] == "incident.created"


def test_pages_of_events_follow_the_cursor_with_filters(client: TestClient, recorder: IncidentRecorder) -> None:
    _open(recorder, kind="dumping")
    _open(recorder, kind="flood")
    assert client.post("/api/incidents/2/status", json={"to": "acknowledged", "by": "rina"}).status_code == 200

    first = client.get("/api/events", params={"limit": 2}).json()
    assert [(e["type"], e["subject_id"]) for e in first["items"]] == [("incident.created", 1), ("incident.created", 2)]
    rest = client.get("/api/events", params={"after": first["next_after"]}).json()
    assert [(e["type"], e["subject_id"]) for e in rest["items"]] == [("incident.updated", 2)]
    assert client.get("/api/events", params={"after": rest["next_after"]}).json() == {
        "items": [],
        "next_after": rest["next_after"],
    }

    floods = client.get("/api/events", params={"kind": "flood", "type": ["incident.updated"]}).json()
    assert [e["subject_id"] for e in floods["items"]] == [2]
    assert client.get("/api/events", params={"subject": "report"}).json()["items"] == []
    assert client.get("/api/events", params={"subject": "camera"}).status_code == 422
