"""Sending webhook deliveries: signed POSTs, retries with backoff, the dead-letter.

Each delivery is one POST of the event as JSON::

    {"id": 42, "type": "incident.updated", "created_at": "2026-11-29T13:00:00+00:00",
     "subject": "incident", "subject_id": 7, "kind": "flood", "data": {...the summary...}}

with the headers ``X-MataKota-Event`` (the type), ``X-MataKota-Delivery`` (the delivery id, the
same on every attempt: receivers use it to drop repeats), ``X-MataKota-Timestamp`` (Unix
seconds) and ``X-MataKota-Signature: sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}.{body}"``
keyed with the subscription's secret. A receiver checks it like this, and refuses timestamps
more than a few minutes away from its clock, so a captured request cannot be replayed later::

    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers["X-MataKota-Signature"]):
        reject()
    if abs(time.time() - int(timestamp)) > 300:
        reject()

A 2xx answer delivers; anything else (another status, a redirect, a timeout, a refused
connection) is retried after an exponential backoff with jitter, and after ``max_attempts``
failures the delivery is dead. Deliveries are at least once: a dispatcher that dies during a
POST leaves it to be sent again once its lease runs out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.backoff import Backoff
from core.incident_config import WebhooksConfig
from core.redact import redact_url
from incidents.db import session_scope
from incidents.events import IncidentEvent
from incidents.types import clip, utcnow
from incidents.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

try:
    USER_AGENT = f"MataKota-Webhooks/{version('matakota')}"
except PackageNotFoundError:  # a source checkout that was never installed
    USER_AGENT = "MataKota-Webhooks/0+unknown"

HISTORY_KEPT = 10  # attempts remembered in a delivery's details
MAX_PER_STEP = 50  # deliveries one dispatcher step sends at most, so it looks for new events in between
SIGNATURE_TOLERANCE_S = 300


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready to send without the database."""

    delivery_id: int
    attempt: int  # this attempt's number, 1 for the first
    url: str
    secret: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What one attempt got."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None


def event_body(event: IncidentEvent) -> bytes:
    """The JSON a receiver gets for ``event``."""
    document = {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "subject": event.subject,
        "subject_id": event.subject_id,
        "kind": event.kind,
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-MataKota-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now_ts: float,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within ``tolerance_s`` of ``now_ts``."""
    try:
        fresh = abs(now_ts - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_delay_s(attempt: int, config: WebhooksConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): in [d/2, d], d = initial * 2**(attempt-1), capped."""
    backoff = Backoff(initial_s=config.backoff_initial_s, max_s=config.backoff_max_s, attempts=attempt - 1)
    if rng is not None:
        backoff.rng = rng
    return backoff.next_delay_s()


def deliver_due(
    *,
    session_factory: sessionmaker[Session],
    http: httpx.Client,
    now: datetime | None = None,
    config: WebhooksConfig | None = None,
    rng: random.Random | None = None,
    limit: int = MAX_PER_STEP,
) -> int:
    """Send up to ``limit`` pending deliveries that are due, one at a time, and record each outcome.

    No transaction is open during a POST: a delivery is claimed (its attempt counted and a lease
    set, so other dispatchers leave it alone), sent, then its outcome is stored.

    Args:
        session_factory: sessions on the incident store.
        http: the client that sends (no redirects are followed).
        now: the current time; None reads the clock before each delivery.
        config: retry and timeout settings (defaults when None).
        rng: the jitter's random source.
        limit: most deliveries sent by this call.

    Returns:
        How many deliveries were attempted.
    """
    config = config or WebhooksConfig()
    sent = 0
    while sent < limit:
        at = now or utcnow()
        outgoing = _claim_next(session_factory, at, config)
        if outgoing is None:
            break
        outcome = _post(http, outgoing, at, config.timeout_s)
        _record(session_factory, outgoing, outcome, now or utcnow(), config, rng)
        sent += 1
    return sent


def _claim_next(session_factory: sessionmaker[Session], now: datetime, config: WebhooksConfig) -> Outgoing | None:
    # Lease: connecting, sending, waiting and the pool each have their own timeout, plus a margin.
    lease_until = now + timedelta(seconds=config.timeout_s * 4 + 30)
    for _ in range(3):  # another dispatcher may win a row between the select and the update
        with session_scope(session_factory) as session:
            row = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.attempts)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookSubscription.active.is_(True),
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ).first()
            if row is None:
                return None
            delivery_id, attempts = row
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.attempts == attempts,
                    )
                    .values(attempts=attempts + 1, next_attempt_at=lease_until, last_attempt_at=now)
                ),
            )
            if claimed.rowcount == 1:
                return _outgoing(session, delivery_id, attempts + 1)
    return None


def _outgoing(session: Session, delivery_id: int, attempt: int) -> Outgoing:
    delivery = session.get_one(WebhookDelivery, delivery_id)
    event = session.get_one(IncidentEvent, delivery.event_id)
    subscription = session.get_one(WebhookSubscription, delivery.subscription_id)
    return Outgoing(
        delivery_id=delivery_id,
        attempt=attempt,
        url=subscription.url,
        secret=subscription.secret,
        event_type=event.type,
        body=event_body(event),
    )


def _post(http: httpx.Client, outgoing: Outgoing, now: datetime, timeout_s: float) -> Outcome:
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-MataKota-Event": outgoing.event_type,
        "X-MataKota-Delivery": str(outgoing.delivery_id),
        "X-MataKota-Timestamp": timestamp,
        "X-MataKota-Signature": sign(outgoing.secret, timestamp, outgoing.body),
    }
    started = time.monotonic()
    status_code: int | None = None
    try:
        # Streamed, and the body never read: a receiver's answer, however large, costs no memory.
        with http.stream(
            "POST", outgoing.url, content=outgoing.body, headers=headers, timeout=timeout_s, follow_redirects=False
        ) as response:
            status_code = response.status_code
            error = _refusal(response)
    except httpx.TimeoutException as err:
        error = f"timeout ({type(err).__name__})"
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        error = f"{type(err).__name__}: {err}"
    return Outcome(
        status_code, clip(redact_url(error), 300) if error else None, int((time.monotonic() - started) * 1000)
    )


def _refusal(response: httpx.Response) -> str | None:
    """None for a 2xx answer; otherwise why it does not count as delivered."""
    if response.is_success:
        return None
    if response.is_redirect:
        # Redirects are never followed: the secret's signature must not reach another host.
        return f"HTTP {response.status_code}: redirect to {response.headers.get('location', '?')} not followed"
    return f"HTTP {response.status_code}"


def _record(
    session_factory: sessionmaker[Session],
    outgoing: Outgoing,
    outcome: Outcome,
    now: datetime,
    config: WebhooksConfig,
    rng: random.Random | None,
) -> None:
    with session_scope(session_factory) as session:
        delivery = session.get(WebhookDelivery, outgoing.delivery_id, with_for_update=True)
        if delivery is None or delivery.attempts != outgoing.attempt or delivery.status != DeliveryStatus.PENDING:
            return  # deleted, or redelivered while this attempt was under way: the new round decides
        entry: dict[str, Any] = {
            "at": now.isoformat(),
            "attempt": outgoing.attempt,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        }
        history = [*delivery.details.get("history", []), entry][-HISTORY_KEPT:]
        delivery.details = {**delivery.details, "history": history}
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
        elif outgoing.attempt >= config.max_attempts:
            delivery.status = DeliveryStatus.DEAD
            logger.warning(
                "webhook delivery %s to %s is dead after %s attempts: %s",
                delivery.id,
                redact_url(outgoing.url),
                outgoing.attempt,
                outcome.error,
            )
        else:
            delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(outgoing.attempt, config, rng))
