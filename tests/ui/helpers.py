"""What the browser tests share besides fixtures: the cameras and users of the test service, the UI's strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page
from sqlalchemy import insert

from core.messages import Severity
from incidents.db import make_engine
from incidents.models import Incident, IncidentStatus
from tests.fixtures.service import ROOT, Service

STATIC = ROOT / "api" / "web" / "static"

CAMERA, OTHER_CAMERA = "sudirman_charitas", "ampera"
CAMERA_NAME, OTHER_CAMERA_NAME = "Simpang Charitas", "Jembatan Ampera"
OPERATOR = ("ui-operator", "Palembang-operator-2026")
SUPERVISOR = ("ui-supervisor", "Palembang-supervisor-2026")


_STRINGS: dict[str, str] = {}


def text(key: str, **variables: str) -> str:
    """The UI's string for ``key`` in its first language (Bahasa Indonesia), as the shell's ``t()`` gives it."""
    if not _STRINGS:
        for path in sorted((STATIC / "i18n" / "en").glob("*.json")) + sorted((STATIC / "i18n" / "id").glob("*.json")):
            _STRINGS.update(json.loads(path.read_text()))
    value = _STRINGS.get(key, key)
    for name, replacement in variables.items():
        value = value.replace(f"{{{name}}}", replacement)
    return value


def label(group: str, value: str) -> str:
    """A kind's, status's or severity's name as the UI shows it (``core.{group}.{value}``, else the value)."""
    key = f"core.{group}.{value}"
    shown = text(key)
    return value.replace("_", " ") if shown == key else shown


def log_in(page: Page, username: str, password: str) -> None:
    """Fill the login form by its labels and submit it."""
    page.goto("/ui/#/login")
    page.get_by_label(text("core.login.username")).fill(username)
    page.get_by_label(text("core.login.password")).fill(password)
    page.get_by_role("button", name=text("core.login.submit"), exact=True).click()


def incidents(service: Service, **params: Any) -> list[dict[str, Any]]:
    """The service's incidents of the live camera, newest first (one page of 100)."""
    body = service.get("/api/incidents", params={"camera_id": CAMERA, "limit": 100, **params}).json()
    return list(body["items"])


def wait_for_incident(service: Service, *, clip_ready: bool = False, timeout_s: float = 150) -> dict[str, Any]:
    """The live camera's newest incident (with its clip ready, if asked), once there is one."""

    def found() -> dict[str, Any] | None:
        ready = [i for i in incidents(service) if not clip_ready or i["clip_status"] == "ready"]
        return ready[0] if ready else None

    what = "an incident with its clip ready" if clip_ready else "an incident"
    incident: dict[str, Any] = service.wait_for(found, timeout_s, what)
    return incident


KINDS = ["illegal_parking", "crowd", "wrong_way", "flood", "accident"]
OPEN_STATUSES = [IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.DISPATCHED, IncidentStatus.IN_PROGRESS]
DISPATCHED = (IncidentStatus.DISPATCHED, IncidentStatus.IN_PROGRESS)
SEVERITIES = list(Severity)


def seed_incidents(service: Service, count: int) -> list[int]:
    """Write ``count`` open incidents straight into the running service's SQLite database; their ids.

    Core INSERTs, on the camera without rules, so the recorder never merges the camera's own events
    into them; they are not on the live feed, so a page shows them once it loads them.
    """
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        started = now - timedelta(minutes=5 + n * 7)
        status = OPEN_STATUSES[n % len(OPEN_STATUSES)]
        rows.append(
            {
                "camera_id": OTHER_CAMERA,
                "kind": KINDS[n % len(KINDS)],
                "zone": None,
                "status": status,
                "severity": SEVERITIES[n % len(SEVERITIES)],
                "title": f"Insiden uji {n + 1}",
                "details": {},
                "started_at": started,
                "last_seen_at": started + timedelta(minutes=2),
                "ended_at": None,
                "agency": "dishub" if status in DISPATCHED else None,
                "acknowledged_at": None if status == IncidentStatus.NEW else started + timedelta(minutes=3),
                "dispatched_at": started + timedelta(minutes=4) if status in DISPATCHED else None,
                "created_at": started,
                "updated_at": started,
            }
        )
    engine = make_engine(service.database_url)
    try:
        with engine.begin() as connection:
            ids = connection.execute(insert(Incident).returning(Incident.id), rows).scalars().all()
    finally:
        engine.dispose()
    return list(ids)
