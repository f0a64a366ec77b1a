"""Webhook subscriptions of other city applications, their deliveries, the dead-letter list; admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Response

from api.auth import AdminOnly
from api.deps import SessionDep
from api.schemas import ErrorOut
from api.webhook_schemas import (
    MAX_ID,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    PageQuery,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from core.config import AppConfig
from core.incident_config import WebhooksConfig
from incidents.accounts import Principal
from incidents.webhook_delivery import (
    PING,
    create_subscription,
    delete_subscription,
    event_type_of,
    get_subscription,
    list_deliveries,
    list_subscriptions,
    queue_ping,
    redeliver,
    update_subscription,
)
from incidents.webhook_dispatcher import WebhookDispatcher
from incidents.webhooks import DeliveryStatus

TAG: dict[str, Any] = {
    "name": "webhooks",
    "description": (
        "Other city applications subscribe a URL and receive incident and report events as signed POSTs "
        "(`X-MataKota-Signature`), retried with backoff; deliveries that keep failing land on the dead-letter "
        "list. Admins only."
    ),
}

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], dependencies=[AdminOnly])

WebhookId = Annotated[int, Path(ge=1, le=MAX_ID, description="Subscription id.")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="Delivery id (the `X-MataKota-Delivery` header).")]
Admin = Annotated[Principal, AdminOnly]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such subscription."}}


@router.post("", status_code=201, responses={422: {"description": "A bad URL, an unknown event type, a short secret."}})
def create(body: WebhookIn, session: SessionDep, admin: Admin) -> WebhookCreatedOut:
    """Subscribe a URL to events from now on; the answer holds the signing secret, shown only this once."""
    subscription = create_subscription(
        session=session,
        name=body.name,
        url=body.url,
        created_by=admin.name,
        event_types=body.event_types,
        kinds=body.kinds,
        secret=body.secret,
    )
    return WebhookCreatedOut.with_secret(subscription)


@router.get("")
def list_all(session: SessionDep) -> list[WebhookOut]:
    """Every subscription, oldest first."""
    return [WebhookOut.from_model(s) for s in list_subscriptions(session=session)]


@router.get("/dead-letter")
def dead_letter(page: Annotated[PageQuery, Query()], session: SessionDep) -> DeliveryPage:
    """Deliveries of every subscription whose attempts all failed, newest first."""
    rows, total = list_deliveries(session=session, status=DeliveryStatus.DEAD, limit=page.limit, offset=page.offset)
    items = [DeliveryOut.from_model(d, t) for d, t in rows]
    return DeliveryPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/deliveries/{delivery_id}/redeliver", responses={404: {"model": ErrorOut, "description": "No such delivery."}}
)
def redeliver_one(delivery_id: DeliveryId, session: SessionDep) -> DeliveryOut:
    """Queue a delivery again (a dead one, typically), due now, with its attempts counted from zero."""
    delivery = redeliver(delivery_id, session=session)
    return DeliveryOut.from_model(delivery, event_type_of(delivery, session=session))


@router.get("/{webhook_id}", responses=_NOT_FOUND)
def get_one(webhook_id: WebhookId, session: SessionDep) -> WebhookOut:
    """One subscription."""
    return WebhookOut.from_model(get_subscription(webhook_id, session=session))


@router.patch("/{webhook_id}", responses={**_NOT_FOUND, 422: {"description": "A bad URL or event type."}})
def change(webhook_id: WebhookId, body: WebhookPatch, session: SessionDep) -> WebhookOut:
    """Change a subscription's URL, name or filters, or pause and resume it."""
    return WebhookOut.from_model(update_subscription(webhook_id, body.to_change(), session=session))


@router.delete("/{webhook_id}", status_code=204, responses=_NOT_FOUND)
def remove(webhook_id: WebhookId, session: SessionDep) -> Response:
    """Remove a subscription and its deliveries."""
    delete_subscription(webhook_id, session=session)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", responses=_NOT_FOUND)
def deliveries(webhook_id: WebhookId, query: Annotated[DeliveryQuery, Query()], session: SessionDep) -> DeliveryPage:
    """A subscription's deliveries, newest first, optionally in one status."""
    rows, total = list_deliveries(
        session=session, subscription_id=webhook_id, status=query.status, limit=query.limit, offset=query.offset
    )
    items = [DeliveryOut.from_model(d, t) for d, t in rows]
    return DeliveryPage(items=items, total=total, limit=query.limit, offset=query.offset)


@router.post("/{webhook_id}/test", status_code=202, responses=_NOT_FOUND)
def send_test(webhook_id: WebhookId, session: SessionDep) -> DeliveryOut:
    """Queue a `webhook.ping` event to this subscription alone, to check the receiver and its signature check."""
    delivery = queue_ping(webhook_id, session=session)
    return DeliveryOut.from_model(delivery, PING)


def install(app: FastAPI, config: AppConfig | None) -> None:
    """Add the routes and their tag's description to ``app``, and keep the settings its dispatcher needs."""
    app.state.webhooks_config = config.webhooks if config is not None else WebhooksConfig()
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]


def start_dispatcher(app: FastAPI) -> WebhookDispatcher | None:
    """Start sending the deliveries in this process, unless the configuration switches webhooks off."""
    config: WebhooksConfig = app.state.webhooks_config
    if not config.enabled:
        return None
    dispatcher = WebhookDispatcher(app.state.session_factory, config)
    dispatcher.start()
    return dispatcher
