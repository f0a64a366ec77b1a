"""Request and response models of webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas import Out
from incidents.webhook_delivery import EVENT_TYPES, SubscriptionChange, WebhookInvalid, check_event_types, check_url
from incidents.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription

MAX_ID = 2**31 - 1  # the ids are INTEGER columns (32 bits on PostgreSQL): larger ones are refused, not overflowed
KindFilter = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1, max_length=64)]
_TYPES = ", ".join(f"`{t}`" for t in EVENT_TYPES)


def _valid_url(url: str) -> str:
    try:
        return check_url(url)
    except WebhookInvalid as err:
        raise ValueError(str(err)) from err


def _valid_types(event_types: list[str]) -> list[str]:
    try:
        return check_event_types(event_types)
    except WebhookInvalid as err:
        raise ValueError(str(err)) from err


WebhookUrl = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_valid_url)]
EventTypes = Annotated[list[str], AfterValidator(_valid_types)]


class WebhookIn(BaseModel):
    """A new subscription: where to send which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Who receives, e.g. `sipp-dlh`.")
    url: WebhookUrl = Field(description="The receiver, an `http://` or `https://` URL.")
    event_types: EventTypes = Field(default=[], description=f"Types to receive ({_TYPES}); empty: every type.")
    kinds: list[KindFilter] = Field(
        default=[], description="Incident kinds or report service codes to receive; empty: every one."
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=128,
        description="Key of the signatures (HMAC-SHA256); generated when left out, and shown once.",
    )


class WebhookPatch(BaseModel):
    """Changes to a subscription; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, min_length=1, max_length=100, description="New name.")
    url: WebhookUrl | None = Field(default=None, description="New receiver URL.")
    event_types: EventTypes | None = Field(default=None, description=f"New types ({_TYPES}); empty: every type.")
    kinds: list[KindFilter] | None = Field(default=None, description="New kinds or service codes; empty: every one.")
    active: bool | None = Field(
        default=None, description="Pause (false) or resume (true); a resumed one gets events from then on."
    )

    def to_change(self) -> SubscriptionChange:
        """The domain's change."""
        return SubscriptionChange(
            name=self.name, url=self.url, event_types=self.event_types, kinds=self.kinds, active=self.active
        )


class WebhookOut(Out):
    """A subscription (without its secret)."""

    id: int = Field(description="Subscription id.")
    name: str = Field(description="Who receives.")
    url: str = Field(description="Where the events are POSTed.")
    event_types: list[str] = Field(description="Types it receives; empty: every type.")
    kinds: list[str] = Field(description="Incident kinds or report service codes it receives; empty: every one.")
    active: bool = Field(description="Whether events are sent to it.")
    created_at: datetime = Field(description="When it was created.")
    created_by: str = Field(description="Who created it.")

    @classmethod
    def from_model(cls, row: WebhookSubscription) -> WebhookOut:
        """The answer for ``row``."""
        return cls(
            id=row.id,
            name=row.name,
            url=row.url,
            event_types=row.event_types,
            kinds=row.kinds,
            active=row.active,
            created_at=row.created_at,
            created_by=row.created_by,
        )


class WebhookCreatedOut(WebhookOut):
    """A new subscription, with its secret: this is the only answer that shows it."""

    secret: str = Field(description="Key of the `X-MataKota-Signature` HMAC; store it now, it is not shown again.")

    @classmethod
    def with_secret(cls, row: WebhookSubscription) -> WebhookCreatedOut:
        """The answer for a subscription just created."""
        return cls(**WebhookOut.from_model(row).model_dump(), secret=row.secret)


class AttemptOut(Out):
    """One attempt of a delivery."""

    at: datetime = Field(description="When it was made.")
    attempt: int = Field(description="Its number, 1 for the first.")
    status_code: int | None = Field(description="The receiver's HTTP status; none without an answer.")
    error: str | None = Field(description="Why it failed; none when delivered.")
    duration_ms: int = Field(description="How long it took, milliseconds.")


class DeliveryOut(Out):
    """One event to one subscriber."""

    id: int = Field(description="Delivery id, sent as `X-MataKota-Delivery` (the same on every attempt).")
    webhook_id: int = Field(description="The subscription.")
    event_id: int = Field(description="The event (its `id` in the body).")
    event_type: str = Field(description="The event's type.")
    status: DeliveryStatus = Field(description="`pending` (waiting for an attempt), `delivered` or `dead`.")
    attempts: int = Field(description="Attempts made in this round (redelivery starts a new one).")
    next_attempt_at: datetime = Field(description="When a pending delivery is tried next.")
    last_attempt_at: datetime | None = Field(description="When it was last tried.")
    last_status_code: int | None = Field(description="The last HTTP status received.")
    last_error: str | None = Field(description="Why the last attempt failed.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it.")
    created_at: datetime = Field(description="When it was queued.")
    history: list[AttemptOut] = Field(description="The latest attempts, oldest first.")

    @classmethod
    def from_model(cls, row: WebhookDelivery, event_type: str) -> DeliveryOut:
        """The answer for ``row``, of an event of ``event_type``."""
        history: list[dict[str, Any]] = row.details.get("history", [])
        return cls(
            id=row.id,
            webhook_id=row.subscription_id,
            event_id=row.event_id,
            event_type=event_type,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
            history=[AttemptOut.model_validate(entry) for entry in history],
        )


class DeliveryPage(Out):
    """A page of deliveries, newest first."""

    items: list[DeliveryOut] = Field(description="The deliveries on this page.")
    total: int = Field(description="How many match in all.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Deliveries skipped before this page.")


class PageQuery(BaseModel):
    """Which page of deliveries."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500, description="Most deliveries in the answer.")
    offset: int = Field(default=0, ge=0, le=MAX_ID, description="Deliveries to skip (newest first).")


class DeliveryQuery(PageQuery):
    """Which deliveries of a subscription."""

    status: DeliveryStatus | None = Field(default=None, description="Only deliveries in this status.")
