"""Who may call the API: credentials from a bearer header or the session cookie, and the role each route needs.

Every route needs credentials unless :data:`PUBLIC_PATHS` or :data:`PUBLIC_PREFIXES` list it:
``create_app`` installs :func:`authorize` as a dependency of the whole app, so a route added later
is protected without doing anything. Credentials are an API key or a login token, sent as
``Authorization: Bearer <secret>``, or the ``matakota_session`` cookie that login sets (for the web
UI and the browser's EventSource, which cannot send headers).

Roles: operator < supervisor < admin, each may do what the ones before it may; integration (another
city application) stands apart and only reads. By default a route that reads (GET, HEAD) is open to
every role and one that writes needs operator. A route that needs another role says so with
:func:`require`, which then replaces the default::

    from api.auth import AdminOnly

    @router.post("", dependencies=[AdminOnly])  # e.g. webhook subscriptions, users, API keys
    def create(...): ...

A handler that must know who acts takes ``principal: PrincipalDep`` (or the principal that
``Depends(require(...))`` returns), and checks finer rules with :func:`ensure`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, HTTPException
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from incidents.accounts import Principal, UserRole, resolve_bearer
from incidents.db import session_scope
from incidents.types import utcnow

logger = logging.getLogger(__name__)

SESSION_COOKIE = "matakota_session"
TOKEN_TTL = timedelta(hours=12)  # a login lasts a shift

# Open to anyone: liveness, the docs, login, Open311 (public by the GeoReport spec, rate-limited), and
# the web UI's static files (they hold no data: the UI reads everything from the authenticated API).
PUBLIC_PATHS: frozenset[str] = frozenset(
    {"/", "/api/health", "/api/auth/login", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/ui"}
)
PUBLIC_PREFIXES: tuple[str, ...] = ("/open311/v2/", "/ui/")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RANK = {UserRole.OPERATOR: 1, UserRole.SUPERVISOR: 2, UserRole.ADMIN: 3}  # integration is not ranked


def is_public(path: str) -> bool:
    """Whether the route with this path template is open without credentials."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def allows(role: UserRole, needed: Iterable[UserRole]) -> bool:
    """Whether ``role`` may do what needs one of ``needed``: admin may do all, and a higher rank what a lower may."""
    if role == UserRole.ADMIN:
        return True
    return any(role == n or (role in _RANK and n in _RANK and _RANK[role] >= _RANK[n]) for n in needed)


def unauthorized(reason: str) -> HTTPException:
    """A 401 that tells the client how to authenticate."""
    return HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})


def credentials(conn: HTTPConnection) -> str | None:
    """The secret the client sent: the bearer header's, else the session cookie's; None when neither.

    A malformed ``Authorization`` header gives ``""``, which matches nothing: no quiet fallback to the cookie.
    """
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        return secret.strip() if scheme.lower() == "bearer" else ""
    return conn.cookies.get(SESSION_COOKIE)


def _resolve(conn: HTTPConnection) -> Principal:
    secret = credentials(conn)
    if secret is None:
        raise unauthorized(
            "not authenticated: send `Authorization: Bearer <API key or token>`, or log in at POST /api/auth/login"
        )
    factory: sessionmaker[Session] = conn.app.state.session_factory
    with session_scope(factory) as session:
        principal = resolve_bearer(secret, session=session, now=utcnow()) if secret else None
    if principal is None:
        raise unauthorized("invalid credentials: the API key or token is unknown, revoked or expired")
    return principal


def current_principal(conn: HTTPConnection) -> Principal:
    """Who sends the request (found once per request, by :func:`authorize`).

    Raises:
        HTTPException: 401 without valid credentials.
    """
    principal: Principal | None = getattr(conn.state, "principal", None)
    if principal is None:
        principal = conn.state.principal = _resolve(conn)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


class RoleRequirement:
    """A dependency that lets through principals with one of ``roles`` (or a higher one) and returns them."""

    def __init__(self, *roles: UserRole) -> None:
        if not roles:
            raise ValueError("name at least one role")
        self.roles = frozenset(roles)

    def describe(self) -> str:
        """The roles, in words."""
        if self.roles == frozenset(UserRole):
            return "any role"
        if len(self.roles) == 1:
            return f"the {next(iter(self.roles))} role"
        return "one of the roles " + ", ".join(sorted(self.roles))

    def check(self, principal: Principal, action: str = "this") -> None:
        """Nothing when ``principal`` may; a 403 naming the needed role otherwise."""
        if not allows(principal.role, self.roles):
            raise HTTPException(
                403, f"{principal.name} ({principal.role}) may not do {action}: it needs {self.describe()}"
            )

    def __call__(self, principal: PrincipalDep) -> Principal:
        self.check(principal)
        return principal


def require(*roles: UserRole) -> RoleRequirement:
    """A dependency that needs one of ``roles`` (a higher-ranked role passes too; admin always does)."""
    return RoleRequirement(*roles)


def ensure(principal: Principal, role: UserRole, action: str) -> None:
    """Nothing when ``principal`` has ``role`` or a higher one; a 403 saying who may do ``action`` otherwise."""
    RoleRequirement(role).check(principal, action)


ANY_ROLE = require(*UserRole)
OPERATOR = require(UserRole.OPERATOR)
AnyRole = Depends(ANY_ROLE)  # overrides the default for a route that writes but any role may call (logout)
SupervisorOnly = Depends(require(UserRole.SUPERVISOR))
AdminOnly = Depends(require(UserRole.ADMIN))  # users, API keys, webhook subscriptions


def effective_routes(routes: Iterable[BaseRoute]) -> list[Any]:
    """The routes as they are served, with their full paths and dependencies (newer FastAPI includes
    routers lazily: ``app.routes`` then holds the included routers, not their routes)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(flatten(list(routes))) if flatten is not None else list(routes)


def _own_requirement(route: Any) -> RoleRequirement | None:
    """The :func:`require` among the dependencies of a route (an ``APIRoute`` or its served form), if any."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, RoleRequirement):
            return dependency.call
    return None


def route_requirement(route: Any) -> RoleRequirement:
    """The roles a route needs: its own :func:`require`, else any role to read and operator to write."""
    own = _own_requirement(route)
    if own is not None:
        return own
    return ANY_ROLE if route.methods and route.methods <= _READ_METHODS else OPERATOR


def authorize(conn: HTTPConnection) -> None:
    """The app-wide dependency: a 401 without valid credentials, a 403 for a role the route does not allow.

    Public routes pass untouched. A route with a :func:`require` of its own is checked by it instead
    of by the read/write default.
    """
    route = conn.scope.get("route")
    path = route.path_format if isinstance(route, APIRoute) else conn.url.path
    if is_public(path):
        return
    principal = current_principal(conn)
    if isinstance(route, APIRoute) and _own_requirement(route) is None:  # an own one checks when it runs
        route_requirement(route).check(principal)


def document_security(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Declare the bearer and cookie schemes in the OpenAPI document, with the 401 and 403 of each protected route."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(
        {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`mk_...`, see `matakota apikey create`) or a login token (`mks_...`).",
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": SESSION_COOKIE,
                "description": "The login token, as the cookie POST /api/auth/login sets.",
            },
        }
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    has_error_schema = "ErrorOut" in components.get("schemas", {})
    for route in effective_routes(routes):
        if getattr(route, "dependant", None) is None or not route.include_in_schema or is_public(route.path_format):
            continue
        requirement = route_requirement(route)
        for method in route.methods or ():
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["security"] = [{"bearer": []}, {"session": []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "No credentials, or unknown, revoked or expired ones."})
            if requirement is not ANY_ROLE:
                needs = f"The caller's role may not: it needs {requirement.describe()}."
                responses.setdefault("403", {"description": needs})
            for code in ("401", "403"):
                if code in responses and has_error_schema:
                    responses[code].setdefault("content", error)
