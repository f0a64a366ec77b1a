"""Webhook subscriptions over HTTP: admins manage them, test them, and work the dead-letter list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.config import AppConfig
from core.messages import EventPhase
from core.settings import Settings
from incidents.accounts import UserRole
from incidents.recorder import IncidentRecorder
from incidents.types import utcnow
from incidents.webhook_dispatch import deliver_due, verify_signature
from tests.api.conftest import AuthHeaders, ClientAs
from tests.incidents.helpers import CONFIG_YAML, make_config, make_event
from tests.incidents.webhook_receiver import ERROR, Receiver

QUIET = make_config(CONFIG_YAML + "webhooks: {enabled: false, max_attempts: 2}\n")  # tests send themselves
LIVE = make_config(CONFIG_YAML + "webhooks: {poll_interval_s: 0.05, timeout_s: 2}\n")


@pytest.fixture
def app(api_settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(api_settings, QUIET)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    one = Receiver([ERROR, ERROR])
    yield one
    one.close()


def _subscribe(client: TestClient, url: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/webhooks", json={"name": "sipp-dlh", "url": url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _send(session_factory: sessionmaker[Session], config: AppConfig, hours: int = 0) -> int:
    with httpx.Client() as http:
        now = utcnow() + timedelta(hours=hours)
        return deliver_due(session_factory=session_factory, http=http, now=now, config=config.webhooks)


def test_a_subscription_shows_its_secret_once_and_is_listed_changed_and_removed(client: TestClient) -> None:
    created = _subscribe(client, "https://sipp.palembang.go.id/hooks/mata-kota", kinds=["trash"])
    assert len(created["secret"]) >= 32
    assert (created["created_by"], created["active"], created["event_types"]) == ("rina", True, [])
    webhook_id = created["id"]

    shown = client.get(f"/api/webhooks/{webhook_id}").json()
    assert "secret" not in shown
    assert [w["id"] for w in client.get("/api/webhooks").json()] == [webhook_id]
    changed = client.patch(f"/api/webhooks/{webhook_id}", json={"active": False, "event_types": ["incident.created"]})
    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["event_types"], changed.json()["kinds"]) == (
        False,
        ["incident.created"],
        ["trash"],
    )
    assert client.delete(f"/api/webhooks/{webhook_id}").status_code == 204
    assert client.get(f"/api/webhooks/{webhook_id}").json() == {"detail": f"webhook {webhook_id} not found"}


def test_a_given_secret_is_kept(client: TestClient) -> None:
    assert _subscribe(client, "http://10.1.2.3/hook", secret="s" * 24)["secret"] == "s" * 24


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"url": "ftp://files.palembang.go.id/in"}, "http:// or https://"),
        ({"url": "javascript:alert(1)"}, "http:// or https://"),
        ({"url": "sipp.palembang.go.id/hook"}, "http:// or https://"),
        ({"url": "http:///no-host"}, "host name"),
        ({"url": "https://ok.example/hook", "event_types": ["incident.deleted"]}, "unknown event type"),
        ({"url": "https://ok.example/hook", "secret": "short"}, "at least 16"),
        ({"url": "https://ok.example/hook", "colour": "red"}, "Extra inputs"),
    ],
)
def test_a_bad_subscription_is_refused_with_the_reason(client: TestClient, body: dict[str, Any], reason: str) -> None:
    response = client.post("/api/webhooks", json={"name": "x", **body})
    assert response.status_code == 422
    assert reason in response.text


def test_a_bad_change_is_refused_and_unknown_ids_are_404(client: TestClient) -> None:
    webhook_id = _subscribe(client, "https://ok.example/hook")["id"]
    assert client.patch(f"/api/webhooks/{webhook_id}", json={"url": "gopher://x"}).status_code == 422
    for method, path in [
        ("GET", "/api/webhooks/99"),
        ("PATCH", "/api/webhooks/99"),
        ("DELETE", "/api/webhooks/99"),
        ("GET", "/api/webhooks/99/deliveries"),
        ("POST", "/api/webhooks/99/test"),
        ("POST", "/api/webhooks/deliveries/99/redeliver"),
    ]:
        response = client.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)


def test_only_admins_manage_webhooks(client_as: ClientAs, anon_client: TestClient) -> None:
    for role in (UserRole.OPERATOR, UserRole.SUPERVISOR, UserRole.INTEGRATION):
        client = client_as(role)
        assert client.get("/api/webhooks").status_code == 403
        assert client.post("/api/webhooks", json={"name": "x", "url": "https://ok.example/"}).status_code == 403
        assert client.get("/api/webhooks/dead-letter").status_code == 403
    assert anon_client.get("/api/webhooks").status_code == 401


def test_a_ping_that_keeps_failing_is_dead_listed_and_redelivered(
    client: TestClient, session_factory: sessionmaker[Session], receiver: Receiver
) -> None:
    created = _subscribe(client, receiver.url)
    webhook_id = created["id"]
    queued = client.post(f"/api/webhooks/{webhook_id}/test")
    assert queued.status_code == 202
    ping = queued.json()
    assert (ping["event_type"], ping["status"], ping["attempts"]) == ("webhook.ping", "pending", 0)

    assert _send(session_factory, QUIET) == 1
    assert _send(session_factory, QUIET, hours=2) == 1  # the second and last attempt (max_attempts: 2)
    dead = client.get("/api/webhooks/dead-letter").json()
    assert dead["total"] == 1
    (row,) = dead["items"]
    assert (row["id"], row["status"], row["attempts"], row["last_status_code"]) == (ping["id"], "dead", 2, 500)
    assert [h["error"] for h in row["history"]] == ["HTTP 500", "HTTP 500"]
    assert client.get(f"/api/webhooks/{webhook_id}/deliveries", params={"status": "dead"}).json()["total"] == 1

    again = client.post(f"/api/webhooks/deliveries/{ping['id']}/redeliver").json()
    assert (again["status"], again["attempts"]) == ("pending", 0)
    assert _send(session_factory, QUIET) == 1
    delivered = client.get(f"/api/webhooks/{webhook_id}/deliveries", params={"status": "delivered"}).json()
    assert [d["id"] for d in delivered["items"]] == [ping["id"]]
    assert client.get("/api/webhooks/dead-letter").json()["total"] == 0
    last = receiver.requests[-1]
    assert json.loads(last.body)["data"] == {"webhook_id": webhook_id}
    timestamp, signature = last.headers["X-MataKota-Timestamp"], last.headers["X-MataKota-Signature"]
    assert verify_signature(created["secret"], timestamp, last.body, signature, now_ts=utcnow().timestamp())


def test_the_running_service_sends_a_status_change_made_through_the_api(
    api_settings: Settings,
    session_factory: sessionmaker[Session],
    recorder: IncidentRecorder,
    auth_headers: AuthHeaders,
) -> None:
    receiver = Receiver()
    try:
        with TestClient(create_app(api_settings, LIVE), headers=auth_headers(UserRole.ADMIN, "rina")) as client:
            recorder.handle_event(make_event(EventPhase.START, kind="dumping"))
            created = _subscribe(client, receiver.url, event_types=["incident.updated"], kinds=["dumping"])
            moved = client.post("/api/incidents/1/status", json={"to": "acknowledged", "by": "rina"})
            assert moved.status_code == 200, moved.text
            (request,) = receiver.wait_for(1, timeout_s=10)
    finally:
        receiver.close()

    document = json.loads(request.body)
    assert (document["type"], document["subject_id"], document["kind"]) == ("incident.updated", 1, "dumping")
    assert (document["data"]["status"], document["data"]["changed"]) == ("acknowledged", ["status"])
    signature = request.headers["X-MataKota-Signature"]
    timestamp = request.headers["X-MataKota-Timestamp"]
    assert verify_signature(created["secret"], timestamp, request.body, signature, now_ts=utcnow().timestamp())
