"""Fixtures of the API tests: a migrated database (SQLite and PostgreSQL), synced cameras, the app and a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.config import AppConfig
from core.settings import Settings
from incidents.accounts import User, UserRole, issue_token
from incidents.cameras import sync_cameras
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import make_config


@pytest.fixture
def api_settings(tmp_path: Path, fresh_db_url: str) -> Settings:
    # An explicit URL: a MATAKOTA_DATABASE_URL in the environment must not redirect these tests.
    return Settings(data_dir=tmp_path / "data", database_url=fresh_db_url)


@pytest.fixture
def config() -> AppConfig:
    return make_config()


@pytest.fixture
def engine(api_settings: Settings) -> Iterator[Engine]:
    migrate(api_settings.resolved_database_url)
    engine = make_engine(api_settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine, config: AppConfig) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        sync_cameras(config, session=session)
    return factory


@pytest.fixture
def store(api_settings: Settings) -> EvidenceStore:
    return EvidenceStore(api_settings.evidence_dir)


@pytest.fixture
def recorder(session_factory: sessionmaker[Session], store: EvidenceStore, config: AppConfig) -> IncidentRecorder:
    """The real recorder, writing where the app reads."""
    return IncidentRecorder(session_factory, store, config)


@pytest.fixture
def app(api_settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(api_settings)


AuthHeaders = Callable[..., dict[str, str]]  # (role, name=None) -> headers
ClientAs = Callable[..., TestClient]  # (role, name=None) -> an authenticated client


@pytest.fixture
def auth_headers(session_factory: sessionmaker[Session]) -> AuthHeaders:
    """``auth_headers(role, name=None)``: bearer headers of a user of ``role`` (named ``name``, else the role)."""
    tokens: dict[str, str] = {}

    def headers(role: UserRole, name: str | None = None) -> dict[str, str]:
        username = name or str(role)
        if username not in tokens:
            with session_scope(session_factory) as session:
                # An unusable password hash: these users cannot log in, their token is all a test needs.
                user = User(username=username, password_hash="!", role=role)
                session.add(user)
                session.flush()
                tokens[username] = issue_token(user, session=session, ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {tokens[username]}"}

    return headers


@pytest.fixture
def client_as(app: FastAPI, auth_headers: AuthHeaders) -> Iterator[ClientAs]:
    """``client_as(role, name=None)``: a client authenticated as a user of ``role``."""
    with ExitStack() as stack:

        def make(role: UserRole, name: str | None = None) -> TestClient:
            client = stack.enter_context(TestClient(app))
            client.headers.update(auth_headers(role, name))
            return client

        yield make


@pytest.fixture
def client(client_as: ClientAs) -> TestClient:
    """A client authenticated as ``rina``, an admin: she may do everything."""
    return client_as(UserRole.ADMIN, "rina")


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    """A client without credentials."""
    with TestClient(app) as client:
        yield client
