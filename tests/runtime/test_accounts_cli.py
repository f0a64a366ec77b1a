"""``matakota apikey`` and ``matakota user`` on a real SQLite file, and the demo's logins: what they make works."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from runtime.demo import demo_logins

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'data' / 'matakota.db'}")


def _cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MATAKOTA_DATA_DIR": str(settings.data_dir), "MATAKOTA_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "runtime", *args],
        cwd=ROOT,
        env={k: v for k, v in env.items() if v is not None},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_key_from_the_cli_is_printed_alone_works_against_the_api_and_stops_when_revoked(settings: Settings) -> None:
    created = _cli(settings, "apikey", "create", "--role", "admin", "--name", "deploy-script")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"mk_[A-Za-z0-9_-]{32,}", key), created.stdout  # nothing but the key on stdout
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"})
        assert me.json() == {"name": "key:deploy-script", "role": "admin", "kind": "apikey"}

    listed = _cli(settings, "apikey", "list")
    assert listed.returncode == 0, listed.stderr
    assert "deploy-script" in listed.stdout and key[:8] in listed.stdout and key not in listed.stdout

    assert _cli(settings, "apikey", "revoke", "1").returncode == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/cameras", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert _cli(settings, "apikey", "revoke", "7").returncode == 2


def test_a_user_from_the_cli_logs_in_with_the_password_from_stdin(settings: Settings) -> None:
    created = _cli(
        settings, "user", "create", "sari", "--role", "supervisor", "--password-stdin", stdin="pempek-ikan\n"
    )
    assert created.returncode == 0, created.stderr
    with TestClient(create_app(settings)) as client:
        login = client.post("/api/auth/login", json={"username": "sari", "password": "pempek-ikan"})
        assert login.status_code == 200, login.text
        assert login.json()["user"] == {"username": "sari", "role": "supervisor"}
    short = _cli(settings, "user", "create", "budi", "--role", "operator", "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert "too short" in short.stderr


def test_the_demo_makes_its_users_once_and_keeps_their_passwords_for_the_owner_only(settings: Settings) -> None:
    first = demo_logins(settings)
    assert [(login.username, login.role) for login in first] == [("operator", "operator"), ("admin", "admin")]
    assert demo_logins(settings) == first  # the same passwords at the next start
    for login in first:
        file = settings.data_dir / f"demo-{login.username}.password"
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert login.password is not None and login.password in login.line("127.0.0.1", 8000)
    line = first[0].line("127.0.0.1", 8000)
    assert line.startswith("Operator login: http://127.0.0.1:8000/ui/  user: operator  password: ")
    with TestClient(create_app(settings)) as client:
        login = client.post("/api/auth/login", json={"username": "operator", "password": first[0].password})
        assert login.status_code == 200, login.text
