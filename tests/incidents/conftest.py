"""Fixtures of the incident store tests: a migrated database per test (SQLite and PostgreSQL), a store, a recorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from incidents.db import make_engine, make_session_factory, migrate
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import make_config


@pytest.fixture
def config() -> AppConfig:
    return make_config()


@pytest.fixture
def db_url(fresh_db_url: str) -> str:
    """A new, empty database: a SQLite file, or a database on the session's PostgreSQL server."""
    return fresh_db_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def recorder(session_factory: sessionmaker[Session], store: EvidenceStore, config: AppConfig) -> IncidentRecorder:
    return IncidentRecorder(session_factory, store, config)
