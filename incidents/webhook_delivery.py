"""Webhook subscriptions and their deliveries: create and change subscriptions, turn new events into deliveries.

:func:`fan_out` reads the change feed (:mod:`incidents.events`) past each subscription's cursor and
queues one :class:`~incidents.webhooks.WebhookDelivery` per matching event; the sending is
:mod:`incidents.webhook_dispatch`. On PostgreSQL an event id may become visible after a higher
one (its transaction committed later), so the cursor stops at the feed's horizon
(:func:`incidents.feed.horizon`): it passes a missing id only once the event after it is older
than ``commit_grace_s``. Events past the cursor are queued at once all the same and read again
on later passes, where the unique (subscription, event) pair keeps their deliveries single.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.errors import MataKotaError, NotFoundError
from incidents.events import IncidentEvent
from incidents.feed import horizon
from incidents.types import utcnow
from incidents.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription

# Types a subscription may filter on; a ping goes only to the subscription it tests.
EVENT_TYPES = (
    "incident.created",
    "incident.updated",
    "incident.evidence",
    "report.created",
    "report.updated",
)
PING = "webhook.ping"
FAN_OUT_BATCH = 500  # events read per subscription and pass


class WebhookNotFound(NotFoundError):
    """No webhook subscription has the requested id."""


class DeliveryNotFound(NotFoundError):
    """No webhook delivery has the requested id."""


class WebhookInvalid(MataKotaError):
    """A subscription's URL, filters or secret cannot be used; the message says why."""


def check_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host.

    Raises:
        WebhookInvalid: another scheme, no host, or spaces.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookInvalid(f"the URL must start with http:// or https:// (got {parts.scheme or 'no'} scheme)")
    if not parts.hostname or any(c.isspace() for c in url):
        raise WebhookInvalid("the URL needs a host name and no spaces")
    return url


def check_event_types(event_types: list[str]) -> list[str]:
    """``event_types`` when each is a known type (an empty list means every type)."""
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise WebhookInvalid(f"unknown event type(s): {', '.join(unknown)} (known: {', '.join(EVENT_TYPES)})")
    return event_types


@dataclass(frozen=True)
class SubscriptionChange:
    """What an update changes; None leaves a field as it is."""

    name: str | None = None
    url: str | None = None
    event_types: list[str] | None = None
    kinds: list[str] | None = None
    active: bool | None = None


def create_subscription(
    *,
    session: Session,
    name: str,
    url: str,
    created_by: str,
    event_types: list[str] | None = None,
    kinds: list[str] | None = None,
    secret: str | None = None,
) -> WebhookSubscription:
    """A new active subscription that receives the events from now on (not the history).

    Without ``secret`` one is generated; it is readable only on the returned object, to be shown once.
    """
    if secret is not None and len(secret) < 16:
        raise WebhookInvalid("the secret must be at least 16 characters long")
    subscription = WebhookSubscription(
        name=name,
        url=check_url(url),
        secret=secret if secret is not None else secrets.token_urlsafe(32),
        event_types=check_event_types(list(event_types or [])),
        kinds=list(kinds or []),
        active=True,
        cursor_event_id=_newest_event_id(session),
        created_by=created_by,
    )
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(subscription_id: int, *, session: Session) -> WebhookSubscription:
    """The subscription with ``subscription_id``; raises :class:`WebhookNotFound`."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise WebhookNotFound(f"webhook {subscription_id} not found")
    return subscription


def list_subscriptions(*, session: Session) -> list[WebhookSubscription]:
    """Every subscription, oldest first."""
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def update_subscription(subscription_id: int, change: SubscriptionChange, *, session: Session) -> WebhookSubscription:
    """Apply ``change``; a subscription switched back on resumes from the newest event, not from its pause."""
    subscription = get_subscription(subscription_id, session=session)
    if change.name is not None:
        subscription.name = change.name
    if change.url is not None:
        subscription.url = check_url(change.url)
    if change.event_types is not None:
        subscription.event_types = check_event_types(list(change.event_types))
    if change.kinds is not None:
        subscription.kinds = list(change.kinds)
    if change.active is not None and change.active != subscription.active:
        subscription.active = change.active
        if change.active:
            subscription.cursor_event_id = _newest_event_id(session)
    session.flush()
    return subscription


def delete_subscription(subscription_id: int, *, session: Session) -> None:
    """Remove a subscription and its deliveries."""
    subscription = get_subscription(subscription_id, session=session)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    session.delete(subscription)
    session.flush()


def queue_ping(subscription_id: int, *, session: Session, now: datetime | None = None) -> WebhookDelivery:
    """Queue a ``webhook.ping`` event to this subscription alone, to test the receiver."""
    subscription = get_subscription(subscription_id, session=session)
    now = now or utcnow()
    ping = IncidentEvent(
        created_at=now,
        type=PING,
        subject="webhook",
        subject_id=subscription.id,
        kind=None,
        payload={"webhook_id": subscription.id},
    )
    session.add(ping)
    session.flush()
    delivery = WebhookDelivery(subscription_id=subscription.id, event_id=ping.id, next_attempt_at=now, created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def fan_out(*, session: Session, now: datetime | None = None, commit_grace_s: float = 60.0) -> int:
    """Queue deliveries of the events past each active subscription's cursor that match its filters.

    A subscription another process is fanning out (its row locked, on PostgreSQL) is skipped.

    Args:
        session: the unit of work; the caller commits.
        now: the current time (the grace of missing ids is counted from it).
        commit_grace_s: how long an id missing below a visible one may still appear.

    Returns:
        The number of deliveries queued.
    """
    now = now or utcnow()
    subscriptions = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
        .with_for_update(skip_locked=True)
    ).all()
    queued = 0
    for subscription in subscriptions:
        queued += _fan_out_one(subscription, session=session, now=now, grace_s=commit_grace_s)
    session.flush()
    return queued


def _fan_out_one(subscription: WebhookSubscription, *, session: Session, now: datetime, grace_s: float) -> int:
    events = session.execute(
        select(IncidentEvent.id, IncidentEvent.created_at, IncidentEvent.type, IncidentEvent.kind)
        .where(IncidentEvent.id > subscription.cursor_event_id)
        .order_by(IncidentEvent.id)
        .limit(FAN_OUT_BATCH)
    ).all()
    if not events:
        return 0
    cursor = horizon(subscription.cursor_event_id, [(e[0], e[1]) for e in events], now=now, grace_s=grace_s)
    wanted = [
        event_id
        for event_id, _created_at, type_, kind in events
        if type_ != PING
        and (not subscription.event_types or type_ in subscription.event_types)
        and (not subscription.kinds or kind in subscription.kinds)
    ]
    queued = _insert_missing(subscription.id, wanted, session=session, now=now)
    subscription.cursor_event_id = cursor
    return queued


def _insert_missing(subscription_id: int, event_ids: list[int], *, session: Session, now: datetime) -> int:
    """Insert deliveries of ``event_ids`` not queued yet (idempotent on the unique pair)."""
    if not event_ids:
        return 0
    have = set(
        session.scalars(
            select(WebhookDelivery.event_id).where(
                WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.event_id.in_(event_ids)
            )
        )
    )
    rows = [
        {
            "subscription_id": subscription_id,
            "event_id": event_id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "details": {},
        }
        for event_id in event_ids
        if event_id not in have
    ]
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(WebhookDelivery).values(rows).on_conflict_do_nothing())
    return len(rows)


def _newest_event_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(IncidentEvent.id), 0))) or 0


def get_delivery(delivery_id: int, *, session: Session) -> WebhookDelivery:
    """The delivery with ``delivery_id``; raises :class:`DeliveryNotFound`."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"delivery {delivery_id} not found")
    return delivery


def list_deliveries(
    *,
    session: Session,
    subscription_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[WebhookDelivery, str]], int]:
    """Deliveries, newest first, with their event's type, and how many match in all."""
    query = select(WebhookDelivery, IncidentEvent.type).join(
        IncidentEvent, IncidentEvent.id == WebhookDelivery.event_id
    )
    if subscription_id is not None:
        get_subscription(subscription_id, session=session)
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset))
    return [(delivery, event_type) for delivery, event_type in rows], total


def redeliver(delivery_id: int, *, session: Session, now: datetime | None = None) -> WebhookDelivery:
    """Put a delivery (dead, or delivered) back in the queue, due now, with its attempts counted from zero."""
    delivery = get_delivery(delivery_id, session=session)
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    delivery.delivered_at = None
    session.flush()
    return delivery


def event_type_of(delivery: WebhookDelivery, *, session: Session) -> str:
    """The type of the event ``delivery`` carries."""
    return session.get_one(IncidentEvent, delivery.event_id).type
