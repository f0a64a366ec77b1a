"""Webhook subscriptions of other city applications, and the deliveries of incident events to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from incidents.types import StrEnumType, utcnow


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one subscriber is."""

    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the subscriber answered 2xx
    DEAD = "dead"  # every attempt failed: on the dead-letter list until someone redelivers it


class WebhookSubscription(Base):
    """A URL that receives incident events, signed with the subscription's secret (HMAC-SHA256).

    ``cursor_event_id`` is the last event already turned into deliveries: a new subscription
    starts at the newest event, so it receives what happens from then on, not the history.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(128))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every incident kind / service code
    active: Mapped[bool] = mapped_column(default=True)
    cursor_event_id: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    def __repr__(self) -> str:
        return f"WebhookSubscription(id={self.id!r}, name={self.name!r})"


class WebhookDelivery(Base):
    """One event to one subscriber: its attempts, the last answer, and when to try again."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("incident_events.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(StrEnumType(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the attempts' history

    def __repr__(self) -> str:
        return f"WebhookDelivery(id={self.id!r}, event_id={self.event_id!r}, status={self.status!s})"
