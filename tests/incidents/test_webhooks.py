"""Webhooks: events become signed deliveries to a real receiver, retried with backoff, dead after the last attempt."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.incident_config import WebhooksConfig
from core.messages import EventPhase
from incidents.db import make_engine, make_session_factory, session_scope
from incidents.events import IncidentEvent
from incidents.models import IncidentStatus
from incidents.recorder import IncidentRecorder
from incidents.routing import WorkflowRules
from incidents.types import utcnow
from incidents.webhook_delivery import (
    create_subscription,
    fan_out,
    list_deliveries,
    queue_ping,
    redeliver,
)
from incidents.webhook_dispatch import deliver_due, retry_delay_s, verify_signature
from incidents.webhook_dispatcher import WebhookDispatcher
from incidents.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription
from incidents.workflow import StatusChange, change_status
from tests.incidents.helpers import make_event
from tests.incidents.webhook_receiver import ERROR, HANG_UP, REDIRECT, SLOW, Receiver

CONFIG = WebhooksConfig(max_attempts=4, backoff_initial_s=10, backoff_max_s=25, timeout_s=0.5)
SECRET = "a-shared-secret-of-the-dlh-app"

MakeReceiver = Callable[..., Receiver]


@pytest.fixture
def receiver() -> Iterator[MakeReceiver]:
    started: list[Receiver] = []

    def make(*script: str) -> Receiver:
        started.append(Receiver(list(script)))
        return started[-1]

    yield make
    for one in started:
        one.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def _subscribe(factory: sessionmaker[Session], url: str, **filters: Any) -> int:
    with session_scope(factory) as session:
        return create_subscription(
            session=session, name="dlh", url=url, created_by="admin", secret=SECRET, **filters
        ).id


def _add_event(factory: sessionmaker[Session], type_: str = "incident.created", kind: str | None = "flood") -> int:
    with session_scope(factory) as session:
        event = IncidentEvent(type=type_, subject=type_.split(".")[0], subject_id=1, kind=kind, payload={"n": 1})
        session.add(event)
        session.flush()
        return event.id


def _fan_out(factory: sessionmaker[Session], now: datetime, grace_s: float = 60.0) -> int:
    with session_scope(factory) as session:
        return fan_out(session=session, now=now, commit_grace_s=grace_s)


def _deliveries(factory: sessionmaker[Session]) -> list[WebhookDelivery]:
    with session_scope(factory) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _cursor(factory: sessionmaker[Session], subscription_id: int) -> int:
    with session_scope(factory) as session:
        return session.get_one(WebhookSubscription, subscription_id).cursor_event_id


def test_a_delivery_is_signed_with_the_secret_and_carries_the_event(
    session_factory: sessionmaker[Session], receiver: MakeReceiver, http: httpx.Client
) -> None:
    rx = receiver()
    _subscribe(session_factory, rx.url)
    event_id = _add_event(session_factory)
    now = utcnow()
    assert _fan_out(session_factory, now) == 1
    assert deliver_due(session_factory=session_factory, http=http, now=now, config=CONFIG) == 1

    (request,) = rx.requests
    headers, body, timestamp = request.headers, request.body, request.headers["X-MataKota-Timestamp"]
    signature = headers["X-MataKota-Signature"]
    # The receiver's check, as the README shows it.
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, signature)
    assert verify_signature(SECRET, timestamp, body, signature, now_ts=now.timestamp())
    assert not verify_signature("another-secret-entirely", timestamp, body, signature, now_ts=now.timestamp())
    assert not verify_signature(SECRET, timestamp, body + b" ", signature, now_ts=now.timestamp())
    assert not verify_signature(SECRET, timestamp, body, signature, now_ts=now.timestamp() + 3600)  # a replay
    (delivery,) = _deliveries(session_factory)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("MataKota-Webhooks/")
    assert (headers["X-MataKota-Event"], headers["X-MataKota-Delivery"]) == ("incident.created", str(delivery.id))
    assert int(timestamp) == int(now.timestamp())
    document = json.loads(body)
    assert {k: document[k] for k in ("id", "type", "subject", "subject_id", "kind", "data")} == {
        "id": event_id,
        "type": "incident.created",
        "subject": "incident",
        "subject_id": 1,
        "kind": "flood",
        "data": {"n": 1},
    }
    assert datetime.fromisoformat(document["created_at"]).tzinfo is not None
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 204)


def test_failed_attempts_are_retried_on_the_backoff_schedule_until_one_succeeds(
    session_factory: sessionmaker[Session], receiver: MakeReceiver, http: httpx.Client
) -> None:
    config = CONFIG.model_copy(update={"max_attempts": 8})
    rx = receiver(ERROR, HANG_UP, SLOW)
    _subscribe(session_factory, rx.url)
    _add_event(session_factory)
    now = utcnow()
    _fan_out(session_factory, now)
    rng, schedule = random.Random(3), random.Random(3)

    for attempt, ceiling_s in enumerate((10, 20, 25), start=1):  # doubling from 10 s, capped at 25 s
        assert deliver_due(session_factory=session_factory, http=http, now=now, config=config, rng=rng) == 1
        (delivery,) = _deliveries(session_factory)
        delay_s = (delivery.next_attempt_at - now).total_seconds()
        assert delay_s == pytest.approx(retry_delay_s(attempt, config, schedule))
        assert ceiling_s / 2 <= delay_s <= ceiling_s
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, attempt)
        early = now + timedelta(seconds=delay_s - 1)
        assert deliver_due(session_factory=session_factory, http=http, now=early, config=config) == 0
        now = delivery.next_attempt_at
    assert deliver_due(session_factory=session_factory, http=http, now=now, config=config) == 1

    (delivery,) = _deliveries(session_factory)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (DeliveryStatus.DELIVERED, 4, now)
    history = delivery.details["history"]
    assert [h["status_code"] for h in history] == [500, None, None, 204]
    assert history[0]["error"] == "HTTP 500"
    assert "RemoteProtocolError" in history[1]["error"]
    assert history[2]["error"].startswith("timeout")
    assert history[3]["error"] is None
    assert len(rx.requests) == 4
    assert len({r.headers["X-MataKota-Delivery"] for r in rx.requests}) == 1  # one id for every attempt


@pytest.mark.parametrize(
    ("action", "status_code", "error"),
    [
        (ERROR, 500, "HTTP 500"),
        (HANG_UP, None, "RemoteProtocolError"),
        (SLOW, None, "timeout"),
        (REDIRECT, 302, "redirect to http://elsewhere.invalid/hook not followed"),
        ("refused", None, "ConnectError"),
    ],
)
def test_each_kind_of_failure_is_recorded_and_retried(
    session_factory: sessionmaker[Session],
    receiver: MakeReceiver,
    http: httpx.Client,
    action: str,
    status_code: int | None,
    error: str,
) -> None:
    rx = receiver(action)
    url = rx.url
    if action == "refused":
        rx.close()  # nothing listens on the port any more
    _subscribe(session_factory, url)
    _add_event(session_factory)
    now = utcnow()
    _fan_out(session_factory, now)
    deliver_due(session_factory=session_factory, http=http, now=now, config=CONFIG)

    (delivery,) = _deliveries(session_factory)
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, status_code)
    assert delivery.last_error is not None and error in delivery.last_error
    assert delivery.next_attempt_at > now


def test_a_delivery_is_dead_after_the_last_attempt_until_it_is_redelivered(
    session_factory: sessionmaker[Session], receiver: MakeReceiver, http: httpx.Client
) -> None:
    rx = receiver(*[ERROR] * CONFIG.max_attempts)
    _subscribe(session_factory, rx.url)
    _add_event(session_factory)
    now = utcnow()
    _fan_out(session_factory, now)
    for _ in range(CONFIG.max_attempts):
        now += timedelta(hours=1)
        assert deliver_due(session_factory=session_factory, http=http, now=now, config=CONFIG) == 1
    assert deliver_due(session_factory=session_factory, http=http, now=now + timedelta(days=1), config=CONFIG) == 0

    with session_scope(session_factory) as session:
        ((dead, event_type),) = list_deliveries(session=session, status=DeliveryStatus.DEAD)[0]
        assert (dead.attempts, dead.last_error, event_type) == (CONFIG.max_attempts, "HTTP 500", "incident.created")
        assert len(dead.details["history"]) == CONFIG.max_attempts
        redeliver(dead.id, session=session, now=now)
    assert deliver_due(session_factory=session_factory, http=http, now=now, config=CONFIG) == 1

    (delivery,) = _deliveries(session_factory)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 204)
    assert len(rx.requests) == CONFIG.max_attempts + 1


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [("incident.created", "flood"), ("incident.updated", "trash"), ("report.created", "pothole")]),
        ({"kinds": ["flood", "pothole"]}, [("incident.created", "flood"), ("report.created", "pothole")]),
        (
            {"event_types": ["incident.updated", "report.created"]},
            [("incident.updated", "trash"), ("report.created", "pothole")],
        ),
        ({"event_types": ["incident.created"], "kinds": ["trash"]}, []),
    ],
)
def test_filters_choose_the_events_a_subscription_receives(
    session_factory: sessionmaker[Session], filters: dict[str, list[str]], expected: list[tuple[str, str]]
) -> None:
    subscription_id = _subscribe(session_factory, "http://127.0.0.1:9/hook", **filters)
    for type_, kind in (("incident.created", "flood"), ("incident.updated", "trash"), ("report.created", "pothole")):
        _add_event(session_factory, type_, kind)
    _fan_out(session_factory, utcnow())

    with session_scope(session_factory) as session:
        rows, total = list_deliveries(session=session, subscription_id=subscription_id)
        events = [session.get_one(IncidentEvent, d.event_id) for d, _type in reversed(rows)]
        assert [(e.type, e.kind) for e in events] == expected
        assert total == len(expected)
    assert _cursor(session_factory, subscription_id) == 3  # filtered out or not, every event was looked at


def test_a_new_subscription_does_not_receive_older_events_and_a_ping_goes_to_its_own_only(
    session_factory: sessionmaker[Session],
) -> None:
    older = _add_event(session_factory)
    first = _subscribe(session_factory, "http://127.0.0.1:9/a")
    newer = _add_event(session_factory)
    second = _subscribe(session_factory, "http://127.0.0.1:9/b")
    with session_scope(session_factory) as session:
        ping = queue_ping(second, session=session)
    _fan_out(session_factory, utcnow())
    _fan_out(session_factory, utcnow())  # a second pass queues nothing twice

    pairs = {(d.subscription_id, d.event_id) for d in _deliveries(session_factory)}
    assert pairs == {(first, newer), (second, ping.event_id)}
    assert older not in {event_id for _, event_id in pairs}


def test_an_incident_from_the_recorder_reaches_the_receiver_with_its_summary(
    session_factory: sessionmaker[Session], recorder: IncidentRecorder, receiver: MakeReceiver, http: httpx.Client
) -> None:
    rx = receiver()
    _subscribe(session_factory, rx.url, event_types=["incident.created"])
    recorder.handle_event(make_event(EventPhase.START, kind="congestion"))
    now = utcnow()
    _fan_out(session_factory, now)
    deliver_due(session_factory=session_factory, http=http, now=now, config=CONFIG)

    (request,) = rx.requests
    document = json.loads(request.body)
    assert (document["type"], document["subject"], document["subject_id"], document["kind"]) == (
        "incident.created",
        "incident",
        1,
        "congestion",
    )
    data = document["data"]
    assert (data["camera_id"], data["zone"], data["status"], data["title"]) == (
        "simpang_lima",
        "road",
        "new",
        "congestion at simpang_lima/road",
    )


def test_a_rolled_back_change_sends_nothing_and_the_cursor_passes_its_gap_after_the_grace(
    session_factory: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    recorder.handle_event(make_event(EventPhase.START, kind="congestion"))
    subscription_id = _subscribe(session_factory, "http://127.0.0.1:9/hook")
    start = _cursor(session_factory, subscription_id)
    rules, change = WorkflowRules(), StatusChange(to=IncidentStatus.ACKNOWLEDGED, by="rina")

    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        change_status(1, change, rules=rules, session=session)
        session.flush()  # its event row is written, and then the whole change is rolled back
        raise RuntimeError("the operator's request failed")
    now = utcnow()
    assert _fan_out(session_factory, now) == 0

    with session_scope(session_factory) as session:
        change_status(1, change, rules=rules, session=session)
    assert _fan_out(session_factory, now) == 1
    (delivery,) = _deliveries(session_factory)
    assert delivery.event_id > start
    # On PostgreSQL the rolled-back event left a hole in the ids: the cursor waits for it, then passes.
    assert _fan_out(session_factory, now + timedelta(seconds=61)) == 0
    assert _cursor(session_factory, subscription_id) == delivery.event_id


def test_an_id_missing_below_a_recent_event_holds_the_cursor_until_the_grace_ends(
    session_factory: sessionmaker[Session],
) -> None:
    subscription_id = _subscribe(session_factory, "http://127.0.0.1:9/hook")
    with session_scope(session_factory) as session:
        session.add(IncidentEvent(id=5, type="incident.created", subject="incident", subject_id=1, payload={}))
    now = utcnow()
    assert _fan_out(session_factory, now, grace_s=30) == 1  # delivered at once all the same
    assert _cursor(session_factory, subscription_id) == 0
    assert _fan_out(session_factory, now + timedelta(seconds=31), grace_s=30) == 0
    assert _cursor(session_factory, subscription_id) == 5


def test_an_event_that_commits_after_a_newer_one_is_still_delivered(
    db_backend: str, session_factory: sessionmaker[Session]
) -> None:
    if db_backend != "postgresql":
        pytest.skip("SQLite has one writer: its event ids always commit in order")
    subscription_id = _subscribe(session_factory, "http://127.0.0.1:9/hook")
    with session_factory() as slow:
        late = IncidentEvent(type="incident.created", subject="incident", subject_id=1, kind="flood", payload={})
        slow.add(late)
        slow.flush()  # holds the lower id, not committed yet
        early = _add_event(session_factory)
        assert early > late.id
        assert _fan_out(session_factory, utcnow()) == 1
        assert _cursor(session_factory, subscription_id) < late.id
        slow.commit()
    assert _fan_out(session_factory, utcnow()) == 1
    assert {d.event_id for d in _deliveries(session_factory)} == {late.id, early}
    assert _cursor(session_factory, subscription_id) == early


def test_two_dispatchers_send_each_delivery_once(
    session_factory: sessionmaker[Session], receiver: MakeReceiver
) -> None:
    rx = receiver()
    _subscribe(session_factory, rx.url)
    for _ in range(12):
        _add_event(session_factory)
    now = utcnow()
    _fan_out(session_factory, now)
    errors: list[BaseException] = []

    def dispatch() -> None:
        try:
            with httpx.Client() as client:
                deliver_due(session_factory=session_factory, http=client, now=now, config=CONFIG)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    ids = [r.headers["X-MataKota-Delivery"] for r in rx.requests]
    assert len(ids) == len(set(ids)) == 12
    assert {d.status for d in _deliveries(session_factory)} == {DeliveryStatus.DELIVERED}


def test_the_dispatcher_logs_a_failing_step_keeps_going_and_stops_on_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    dispatcher = WebhookDispatcher(make_session_factory(engine), WebhooksConfig(poll_interval_s=0.05))
    try:
        dispatcher.start()
        deadline = time.monotonic() + 5
        while "step failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "webhook dispatcher: step failed" in caplog.text
    finally:
        started = time.monotonic()
        dispatcher.stop()
        engine.dispose()
    assert time.monotonic() - started < 2
    assert not dispatcher._thread.is_alive()
