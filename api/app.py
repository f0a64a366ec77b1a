"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.auth import authorize, document_security
from api.errors import install_error_handlers
from api.live import LiveViews
from api.routes import (
    agencies,
    cameras,
    citizen_reports,
    counts,
    health,
    incidents,
    metrics,
    open311,
    recordings,
    reports,
    snapshots,
)
from api.routes import auth as auth_routes
from api.routes import cap as cap_routes
from api.routes import feed as feed_routes
from api.routes import geo as geo_routes
from api.routes import live as live_routes
from api.routes import plans as plan_routes
from api.routes import webhooks as webhook_routes
from api.web import install as install_web
from core.config import AppConfig
from core.incident_config import CorrelationConfig
from core.settings import Settings
from incidents.db import current_revision, head_revision, make_engine, make_session_factory
from incidents.evidence import EvidenceStore
from incidents.routing import WorkflowRules

logger = logging.getLogger(__name__)

try:
    VERSION = version("matakota")
except PackageNotFoundError:  # running from a source checkout that was never installed
    VERSION = "0+unknown"

DESCRIPTION = """\
Mata Kota ("city eye") turns a city's CCTV cameras into a queue of incidents for its command
center. Camera workers read each RTSP stream, analytics detect vehicles and people and apply
rules to zones of the image (congestion, for a start), and every event becomes an incident with a
snapshot and a short video clip as evidence. This API lists the cameras with their location and
live stream health, and the incidents with their evidence, for operators and for other city
applications.
"""

TAGS: list[dict[str, Any]] = [
    {"name": "health", "description": "Whether the service and its database work, and its metrics for Prometheus."},
    {
        "name": "cameras",
        "description": "Cameras: where they stand, where they look, how their streams are doing.",
    },
    {
        "name": "incidents",
        "description": (
            "Incidents raised by the cameras, newest first, with their snapshot and clip; the operators' "
            "workflow (acknowledge, dispatch to an agency, resolve), its audit trail and SLA."
        ),
    },
    {
        "name": "reports",
        "description": "Camera uptime per day, per camera and per kecamatan; processes that crashed.",
    },
]

# FastAPI's own validation-error schemas come without field descriptions; these fill them in.
_BUILTIN_FIELD_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "HTTPValidationError": {"detail": "One entry per invalid part of the request."},
    "ValidationError": {
        "loc": "Where the invalid value is: `path`, `query` or `body`, then the field name.",
        "msg": "What is wrong with it, in words.",
        "type": "Machine-readable error type.",
        "input": "The value that was refused.",
        "ctx": "Facts about the error, such as the limit that was exceeded.",
    },
}


class MataKotaAPI(FastAPI):
    """FastAPI whose OpenAPI document describes every schema field, FastAPI's own ones too."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        document_security(schema, self.routes)
        components = schema.get("components", {}).get("schemas", {})
        for name, fields in _BUILTIN_FIELD_DESCRIPTIONS.items():
            properties = components.get(name, {}).get("properties", {})
            for field, description in fields.items():
                if field in properties:
                    properties[field].setdefault("description", description)
        return schema


def create_app(settings: Settings | None = None, config: AppConfig | None = None) -> FastAPI:
    """The API, with its own engine on ``settings.resolved_database_url``.

    ``config`` gives the agencies, routing rules and SLA targets; without it, their defaults apply.

    Migrations are not run here (see :func:`incidents.db.migrate`); startup only logs an error
    when the schema is missing or old.
    """
    settings = settings if settings is not None else Settings()
    engine = make_engine(settings.resolved_database_url)
    app = MataKotaAPI(
        title="Mata Kota",
        version=VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
        # Every route needs credentials but the public ones api.auth lists, routes added later too.
        dependencies=[Depends(authorize)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.evidence_store = EvidenceStore(settings.evidence_dir)
    app.state.workflow_rules = WorkflowRules.from_config(config) if config is not None else WorkflowRules()
    app.state.correlation = config.correlation if config is not None else CorrelationConfig()
    app.state.live_views = LiveViews(config.enabled_cameras if config is not None else [])
    install_error_handlers(app)
    for module in (health, agencies, cameras, counts, incidents, metrics, recordings, reports, snapshots):
        app.include_router(module.router)
    open311.install(app)  # its routes, and its tag's description
    citizen_reports.install(app)  # the operators' side of citizens' reports, and its tag
    auth_routes.install(app)  # login, users, API keys
    webhook_routes.install(app, config)  # subscriptions, deliveries; the dispatcher's settings
    feed_routes.install(app)  # the change feed: pages and the live stream
    app.include_router(cap_routes.router)  # incidents as CAP 1.2 alerts
    app.include_router(live_routes.router)  # the camera wall's live video (WebRTC, MJPEG) and zones
    geo_routes.install(app)  # the map's boundaries and base layer
    plan_routes.install(app)  # the CCTV blueprint planner's requests and reports
    install_web(app)  # the operators' web UI at /ui/
    app.add_api_route("/", _to_ui, include_in_schema=False)
    return app


async def _to_ui() -> RedirectResponse:
    return RedirectResponse("/ui/")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(_check_schema, app.state.engine)
    dispatcher = webhook_routes.start_dispatcher(app)  # sends webhook deliveries from this process
    yield
    await app.state.live_views.close()  # viewers' connections and the cameras' live streams
    if dispatcher is not None:
        await run_in_threadpool(dispatcher.stop)
    app.state.engine.dispose()


def _check_schema(engine: Engine) -> None:
    """Log an error, loudly and clearly, when the database is not migrated to this code's schema."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except SQLAlchemyError as err:
        logger.error("database %s cannot be read: %s", where, err)
        return
    head = head_revision()
    if current is None:
        logger.error("database %s has no schema: run the migrations first (incidents.db.migrate)", where)
    elif current != head:
        logger.error("database %s is at schema %s, this code needs %s: run the migrations", where, current, head)
