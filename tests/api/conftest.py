"""Fixtures of the API tests: a migrated database (SQLite and PostgreSQL), synced cameras, the app and a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from core.config import AppConfig
from core.settings import Settings
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


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
