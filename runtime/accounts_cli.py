"""``matakota apikey`` and ``matakota user``: API keys and users, written straight to the database.

Each command migrates the database first, so it works on a fresh install before the service ever ran.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from core.errors import MataKotaError
from core.logging import setup_logging
from core.settings import Settings
from incidents.accounts import (
    ApiKey,
    UserRole,
    create_api_key,
    create_user,
    list_api_keys,
    list_users,
    revoke_api_key,
)
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.types import utcnow

apikey_app = typer.Typer(
    help="API keys for machines: other city applications, Prometheus, scripts.", no_args_is_help=True
)
user_app = typer.Typer(help="Users who log in to the API and the web UI with a password.", no_args_is_help=True)

CREATED_BY = "cli"  # who API keys made here are recorded as created by
RoleOption = Annotated[
    UserRole,
    typer.Option(
        help="operator (works incidents), supervisor (also closes them), admin (everything), integration (reads)."
    ),
]


@contextmanager
def database_session(settings: Settings | None = None) -> Iterator[Session]:
    """A unit of work on the migrated database of ``settings``; a domain error ends the command with code 2.

    Logs go to stderr, so a command's stdout stays clean for scripts.
    """
    settings = settings if settings is not None else Settings()
    setup_logging(settings.log_level, fmt=settings.log_format)
    url = settings.resolved_database_url
    try:
        migrate(url)
        engine = make_engine(url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                yield session
        finally:
            engine.dispose()
    except MataKotaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


@apikey_app.command("create")
def apikey_create(
    role: RoleOption,
    name: Annotated[str, typer.Option(help="What uses the key, e.g. prometheus or dishub-app.")],
    expires_in_days: Annotated[
        int | None, typer.Option(help="Days until it stops working; default: never.", min=1)
    ] = None,
) -> None:
    """Create an API key and print it, alone on stdout, for scripts to capture: it is not shown again."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    with database_session() as session:
        _, secret = create_api_key(name, role, session=session, created_by=CREATED_BY, expires_at=expires_at)
    typer.echo(secret)


@apikey_app.command("list")
def apikey_list() -> None:
    """List the API keys (never their secrets): id, prefix, name, role, state, last use."""
    with database_session() as session:
        keys = list_api_keys(session=session)
        lines = [_key_line(key) for key in keys]
    for line in lines:
        typer.echo(line)


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id, as `matakota apikey list` shows.")],
) -> None:
    """Revoke an API key for good."""
    with database_session() as session:
        key = revoke_api_key(key_id, session=session)
        typer.echo(f"revoked API key {key.id} ({key.name}, {key.prefix}...)", err=True)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Letters, digits, '.', '_', '@' or '-'.")],
    role: RoleOption,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="The person's name, for display.")] = None,
) -> None:
    """Create a user who logs in with a password (asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database_session() as session:
        user = create_user(username, password, role, session=session, display_name=display_name)
        typer.echo(f"created user {user.username} ({user.role})", err=True)


@user_app.command("list")
def user_list() -> None:
    """List the users: username, role, whether active, last login."""
    with database_session() as session:
        users = list_users(session=session)
        lines = [
            f"{u.username:24} {u.role!s:12} {'active' if u.active else 'disabled':9} "
            f"last login {u.last_login_at.isoformat() if u.last_login_at else 'never'}"
            for u in users
        ]
    for line in lines:
        typer.echo(line)


def _key_line(key: ApiKey) -> str:
    now = utcnow()
    if key.revoked_at is not None:
        state = f"revoked {key.revoked_at:%Y-%m-%d}"
    elif key.expires_at is not None and key.expires_at <= now:
        state = f"expired {key.expires_at:%Y-%m-%d}"
    else:
        state = f"expires {key.expires_at:%Y-%m-%d}" if key.expires_at is not None else "active"
    used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
    return f"{key.id:4} {key.prefix}... {key.name:24} {key.role!s:12} {state:18} last used {used}"
