"""Authentication and roles over the whole API: login, tokens, cookies, API keys, who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Mount, Route

from api.auth import PUBLIC_PATHS, SESSION_COOKIE, effective_routes, is_public
from api.ratelimit import RateLimiter
from core.messages import EventPhase
from incidents.accounts import UserRole, create_user, issue_token
from incidents.db import session_scope
from incidents.recorder import IncidentRecorder
from incidents.types import utcnow
from tests.incidents.helpers import make_event

ClientAs = Callable[..., TestClient]
PASSWORD = "kopi-susu-42"
R = UserRole


def _user(session_factory: sessionmaker[Session], username: str, role: UserRole, *, active: bool = True) -> None:
    with session_scope(session_factory) as session:
        create_user(username, PASSWORD, role, session=session).active = active


def _login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _open(recorder: IncidentRecorder) -> None:
    assert recorder.handle_event(make_event(EventPhase.START, kind="dumping", zone="road")) is not None


def _move(client: TestClient, to: str, **body: Any) -> Any:
    return client.post("/api/incidents/1/status", json={"to": to, **body})


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --- login, tokens, cookies ---------------------------------------------------------------------


def test_login_gives_a_token_that_works_and_a_strict_httponly_cookie(
    anon_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _user(session_factory, "sari", R.SUPERVISOR)
    response = _login(anon_client, "sari")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == {"username": "sari", "role": "supervisor"}
    assert body["token"].startswith("mks_")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={body['token']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    me = anon_client.get("/api/auth/me", headers=_bearer(body["token"]))
    assert me.json() == {"name": "sari", "role": "supervisor", "kind": "user"}


def test_a_wrong_password_an_unknown_user_and_a_disabled_one_get_the_same_401(
    anon_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _user(session_factory, "sari", R.OPERATOR)
    _user(session_factory, "budi", R.OPERATOR, active=False)
    answers = [
        _login(anon_client, "sari", "not-her-password"),
        _login(anon_client, "nobody"),
        _login(anon_client, "budi"),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.json()["detail"] for a in answers}) == 1
    assert all(a.headers["www-authenticate"] == "Bearer" for a in answers)


def test_logins_are_rate_limited_per_client(app: FastAPI, anon_client: TestClient) -> None:
    app.state.login_limiter = RateLimiter(capacity=2)
    assert [_login(anon_client, "nobody").status_code for _ in range(3)] == [401, 401, 429]


def test_the_session_cookie_authenticates_until_logout_revokes_it(
    anon_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _user(session_factory, "sari", R.OPERATOR)
    token = _login(anon_client, "sari").json()["token"]
    assert anon_client.get("/api/cameras").status_code == 200  # the cookie alone
    logout = anon_client.post("/api/auth/logout")
    assert logout.status_code == 204
    assert f'{SESSION_COOKIE}=""' in logout.headers["set-cookie"]
    assert anon_client.get("/api/cameras").status_code == 401
    revoked = anon_client.get("/api/cameras", headers=_bearer(token))
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]


def test_an_expired_token_is_refused(anon_client: TestClient, session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        user = create_user("sari", PASSWORD, R.OPERATOR, session=session)
        token = issue_token(user, session=session, ttl=timedelta(hours=12), now=utcnow() - timedelta(hours=12))
    response = anon_client.get("/api/cameras", headers=_bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_bad_authorization_header_does_not_fall_back_to_the_cookie(
    anon_client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _user(session_factory, "sari", R.OPERATOR)
    _login(anon_client, "sari")
    assert anon_client.get("/api/cameras", headers={"Authorization": "Basic c2FyaTp4"}).status_code == 401


# --- API keys and users --------------------------------------------------------------------------


def test_an_admin_creates_an_api_key_that_works_is_listed_without_its_secret_and_can_be_revoked(
    client: TestClient, anon_client: TestClient
) -> None:
    created = client.post("/api/api-keys", json={"name": "prometheus", "role": "integration"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith("mk_") and key["prefix"] == key["key"][:8]
    assert key["created_by"] == "rina"
    assert anon_client.get("/metrics", headers=_bearer(key["key"])).status_code == 200
    listed = client.get("/api/api-keys").json()
    assert [k["name"] for k in listed] == ["prometheus"]
    assert "key" not in listed[0] and key["key"] not in str(listed)
    assert listed[0]["last_used_at"] is not None
    assert client.delete(f"/api/api-keys/{key['id']}").status_code == 204
    assert anon_client.get("/metrics", headers=_bearer(key["key"])).status_code == 401
    assert client.get("/api/api-keys").json()[0]["revoked_at"] is not None
    assert client.delete("/api/api-keys/999").status_code == 404


def test_an_expired_api_key_is_refused(client: TestClient, anon_client: TestClient) -> None:
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    key = client.post("/api/api-keys", json={"name": "old", "role": "operator", "expires_at": past}).json()["key"]
    assert anon_client.get("/api/cameras", headers=_bearer(key)).status_code == 401


def test_an_admin_creates_users_who_can_log_in(client: TestClient, anon_client: TestClient) -> None:
    created = client.post("/api/users", json={"username": "sari", "password": PASSWORD, "role": "operator"})
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "operator" and "password" not in str(created.json())
    assert _login(anon_client, "sari").status_code == 200
    again = client.post("/api/users", json={"username": "sari", "password": PASSWORD, "role": "operator"})
    assert again.status_code == 409
    short = client.post("/api/users", json={"username": "budi", "password": "short", "role": "operator"})
    assert short.status_code == 422
    assert {u["username"] for u in client.get("/api/users").json()} >= {"rina", "sari"}


# --- roles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "read", "write", "admin"),
    [
        (R.OPERATOR, 200, 200, 403),
        (R.SUPERVISOR, 200, 200, 403),
        (R.ADMIN, 200, 200, 200),
        (R.INTEGRATION, 200, 403, 403),
    ],
)
def test_each_role_may_read_write_and_administer_as_the_role_model_says(
    client_as: ClientAs, recorder: IncidentRecorder, role: UserRole, read: int, write: int, admin: int
) -> None:
    _open(recorder)
    client = client_as(role)
    assert client.get("/api/incidents").status_code == read
    assert _move(client, "acknowledged").status_code == write
    answer = client.get("/api/users")
    assert answer.status_code == admin
    if admin == 403:
        assert "needs the admin role" in answer.json()["detail"]


def test_integration_cannot_change_an_incidents_status(client_as: ClientAs, recorder: IncidentRecorder) -> None:
    _open(recorder)
    response = _move(client_as(R.INTEGRATION), "acknowledged")
    assert response.status_code == 403
    assert "operator" in response.json()["detail"]


def test_closing_and_reopening_need_a_supervisor(client_as: ClientAs, recorder: IncidentRecorder) -> None:
    _open(recorder)
    operator, supervisor = client_as(R.OPERATOR), client_as(R.SUPERVISOR)
    assert _move(operator, "acknowledged").status_code == 200
    assert _move(operator, "resolved").status_code == 200
    reopen = _move(operator, "in_progress")
    assert reopen.status_code == 403 and "supervisor" in reopen.json()["detail"]
    assert _move(supervisor, "in_progress").status_code == 200
    assert _move(operator, "resolved").status_code == 200
    close = _move(operator, "closed")
    assert close.status_code == 403 and "supervisor" in close.json()["detail"]
    assert _move(supervisor, "closed").status_code == 200


def test_the_audit_names_the_authenticated_caller_and_keeps_a_differing_by_as_stated_by(
    client: TestClient, client_as: ClientAs, recorder: IncidentRecorder
) -> None:
    _open(recorder)
    assert _move(client_as(R.OPERATOR, "budi"), "acknowledged").status_code == 200
    assert _move(client, "resolved", by="someone-else").status_code == 200
    trail = client.get("/api/incidents/1/audit").json()
    assert [(row["by"], row["details"].get("stated_by")) for row in trail] == [
        ("budi", None),
        ("rina", "someone-else"),
    ]
    review = client_as(R.OPERATOR, "budi").post("/api/incidents/1/review", json={"verdict": "confirmed", "by": "x"})
    assert review.json()["by"] == "budi"


# --- every route ------------------------------------------------------------------------------------


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_the_public_ones_answers_401_without_or_with_wrong_credentials(
    app: FastAPI, anon_client: TestClient
) -> None:
    checked = []
    for route in effective_routes(app.routes):  # what is served, routers included lazily or not
        if isinstance(getattr(route, "original_route", route), Mount):
            assert is_public(route.path), f"mounted {route.path}: protect it or list it as public in api.auth"
            continue
        assert isinstance(getattr(route, "original_route", route), APIRoute | Route), f"unknown route {route!r}"
        if is_public(route.path_format):
            continue
        for method in route.methods or ():
            for headers in ({}, _bearer("mk_wrong"), _bearer("mks_wrong"), _bearer("")):
                response = anon_client.request(method, _concrete(route.path_format), headers=headers)
                assert response.status_code == 401, f"{method} {route.path_format} {headers}: {response.status_code}"
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["detail"]
            checked.append(f"{method} {route.path_format}")
    assert {"GET /api/cameras", "POST /api/incidents/{incident_id}/status", "GET /metrics"} <= set(checked)
    assert {"POST /api/api-keys", "GET /api/users", "GET /api/auth/me"} <= set(checked)


def test_the_public_routes_answer_without_credentials(anon_client: TestClient) -> None:
    assert {"/api/health", "/api/auth/login", "/openapi.json", "/docs"} <= PUBLIC_PATHS
    for path in ("/api/health", "/openapi.json", "/docs", "/redoc", "/open311/v2/services.json"):
        assert anon_client.get(path).status_code == 200, path


def test_the_openapi_document_declares_bearer_auth_on_protected_routes_only(anon_client: TestClient) -> None:
    document = anon_client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    paths = document["paths"]
    assert paths["/api/cameras"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    assert "401" in paths["/api/cameras"]["get"]["responses"]
    assert "admin" in paths["/api/users"]["get"]["responses"]["403"]["description"]
    assert "security" not in paths["/api/health"]["get"]
    assert "security" not in paths["/api/auth/login"]["post"]
    assert "security" not in paths["/open311/v2/services.json"]["get"]
