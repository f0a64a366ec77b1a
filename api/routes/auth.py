"""Login and logout, who am I, and (for admins) users and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response

from api.auth import SESSION_COOKIE, TOKEN_TTL, AdminOnly, AnyRole, PrincipalDep, credentials
from api.auth_schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    LoginOut,
    LoginUserOut,
    PrincipalOut,
    UserIn,
    UserOut,
)
from api.deps import SessionDep, id_path
from api.ratelimit import RateLimiter
from api.schemas import ErrorOut
from incidents.accounts import (
    TOKEN_PREFIX,
    authenticate,
    create_api_key,
    create_user,
    issue_token,
    list_api_keys,
    list_users,
    revoke_api_key,
    revoke_token,
)
from incidents.types import utcnow

router = APIRouter(tags=["auth"])

_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Wrong username or password, or a disabled user (one message for all)."},
    429: {"model": ErrorOut, "description": "Too many logins from this client; see Retry-After."},
}


def rate_limit(request: Request) -> None:
    """Refuse a client (by IP address) that tried to log in too often."""
    limiter: RateLimiter = request.app.state.login_limiter
    limiter.check(request.client.host if request.client else "unknown")


@router.post("/api/auth/login", responses=_LOGIN_ERRORS, dependencies=[Depends(rate_limit)])
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> LoginOut:
    """Log in with a username and password: a token for the bearer header, also set as an HttpOnly cookie."""
    user = authenticate(body.username, body.password, session=session)
    now = utcnow()
    token = issue_token(user, session=session, ttl=TOKEN_TTL, now=now)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(TOKEN_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return LoginOut(token=token, expires_at=now + TOKEN_TTL, user=LoginUserOut(username=user.username, role=user.role))


@router.post("/api/auth/logout", status_code=204, dependencies=[AnyRole])
def logout(request: Request, session: SessionDep) -> Response:
    """Log out: the login token stops working and the cookie is cleared (an API key is left alone)."""
    secret = credentials(request)
    if secret and secret.startswith(TOKEN_PREFIX):
        revoke_token(secret, session=session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/api/auth/me")
def me(principal: PrincipalDep) -> PrincipalOut:
    """Who the credentials of this request belong to, and their role."""
    return PrincipalOut.from_principal(principal)


@router.get("/api/users", dependencies=[AdminOnly])
def users(session: SessionDep) -> list[UserOut]:
    """Every user, by username (admin)."""
    return [UserOut.from_model(user) for user in list_users(session=session)]


@router.post(
    "/api/users",
    status_code=201,
    dependencies=[AdminOnly],
    responses={409: {"model": ErrorOut, "description": "The username is taken."}},
)
def add_user(body: UserIn, session: SessionDep) -> UserOut:
    """Create a user who logs in with a password (admin)."""
    user = create_user(body.username, body.password, body.role, session=session, display_name=body.display_name)
    return UserOut.from_model(user)


@router.get("/api/api-keys", dependencies=[AdminOnly])
def api_keys(session: SessionDep) -> list[ApiKeyOut]:
    """Every API key, revoked ones too, without their secrets (admin)."""
    return [ApiKeyOut.from_model(key) for key in list_api_keys(session=session)]


@router.post("/api/api-keys", status_code=201, dependencies=[AdminOnly])
def add_api_key(body: ApiKeyIn, principal: PrincipalDep, session: SessionDep) -> ApiKeyCreatedOut:
    """Create an API key for a machine (admin); the answer holds the key, shown this once."""
    key, secret = create_api_key(
        body.name, body.role, session=session, created_by=principal.name, expires_at=body.expires_at
    )
    return ApiKeyCreatedOut(**ApiKeyOut.from_model(key).model_dump(), key=secret)


@router.delete(
    "/api/api-keys/{key_id}",
    status_code=204,
    dependencies=[AdminOnly],
    responses={404: {"model": ErrorOut, "description": "No such API key."}},
)
def delete_api_key(key_id: Annotated[int, id_path("API key id.")], session: SessionDep) -> Response:
    """Revoke an API key for good (admin); it stays listed, with when it was revoked."""
    revoke_api_key(key_id, session=session)
    return Response(status_code=204)


TAG: dict[str, Any] = {
    "name": "auth",
    "description": (
        "Logging in (a token for `Authorization: Bearer`, also set as an HttpOnly cookie), and for admins the "
        "users and API keys. Every other route but health and Open311 needs credentials. Roles: operator (reads, "
        "works incidents), supervisor (also closes and reopens them), admin (everything), integration (reads only)."
    ),
}


def install(app: FastAPI) -> None:
    """Add the login, user and API key routes, their tag's description and the login rate limiter to ``app``."""
    app.state.login_limiter = RateLimiter()  # 10 logins a minute per client address
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
