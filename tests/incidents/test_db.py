"""Engine, sessions and migrations on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from core.messages import Severity
from incidents.db import alembic_config, current_revision, head_revision, make_engine, migrate, session_scope
from incidents.models import Base, Camera, Incident

ROOT = Path(__file__).resolve().parents[2]
WIB = timezone(timedelta(hours=7))


def _camera(camera_id: str = "cam") -> Camera:
    return Camera(id=camera_id, name="Cam", lat=0.0, lon=0.0, input_url="rtsp://cam/1")


def test_migrations_match_the_models_exactly(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrate_leaves_the_database_at_head_and_a_second_run_is_a_no_op(db_url: str, engine: Engine) -> None:
    migrate(db_url)  # the fixture already migrated once
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_migrate_does_not_depend_on_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


def test_several_processes_migrating_one_new_database_at_once_all_succeed(db_url: str) -> None:
    """SQLite serializes them with a lock file, PostgreSQL with an advisory lock."""
    url = db_url
    code = f"from incidents.db import migrate; migrate({url!r})"
    processes = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    engine = make_engine(url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


@pytest.mark.sqlite_only
def test_sqlite_connections_use_wal_and_enforce_foreign_keys(engine: Engine) -> None:
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 1}


def test_make_engine_creates_the_directory_of_a_sqlite_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}")
    with engine.connect():
        pass
    engine.dispose()
    assert (tmp_path / "a" / "b" / "x.db").is_file()


def test_foreign_keys_refuse_an_incident_of_an_unknown_camera(session_factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), session_scope(session_factory) as session:
        session.add(
            Incident(camera_id="nope", kind="k", severity=Severity.LOW, title="t", started_at=now, last_seen_at=now)
        )


def test_session_scope_commits_on_success_and_rolls_back_on_error(
    session_factory: sessionmaker[Session],
) -> None:
    with session_scope(session_factory) as session:
        session.add(_camera("kept"))
    with pytest.raises(RuntimeError), session_scope(session_factory) as session:
        session.add(_camera("dropped"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(session_factory) as session:
        assert list(session.scalars(select(Camera.id))) == ["kept"]


def test_datetimes_come_back_as_the_same_instant_in_utc(session_factory: sessionmaker[Session]) -> None:
    local = datetime(2025, 6, 16, 7, 30, tzinfo=WIB)
    with session_scope(session_factory) as session:
        camera = _camera()
        camera.status_at = local
        session.add(camera)
    with session_scope(session_factory) as session:
        stored = session.get(Camera, "cam")
        assert stored is not None
        assert stored.status_at == local
        assert stored.status_at is not None and stored.status_at.tzinfo == UTC
        assert stored.created_at.tzinfo == UTC


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope(session_factory) as session:
        camera = _camera()
        camera.status_at = datetime(2025, 6, 16, 7, 30)  # naive: the point of the test
        session.add(camera)


def test_upgrading_gives_camera_health_incidents_stored_without_a_zone_the_zone_camera(db_url: str) -> None:
    """Health incidents pass through the recorder, which matches them by zone; older ones had none."""
    url = db_url
    engine = make_engine(url)
    with engine.begin() as connection:
        _upgrade_to(connection, "0003")
        connection.execute(
            text(
                "INSERT INTO incidents (kind, zone, status, severity, title, details, started_at, last_seen_at, "
                "created_at, updated_at) VALUES (:kind, NULL, 'new', 'high', 't', '{}', :at, :at, :at, :at)"
            ),
            [{"kind": "camera_health", "at": "2026-11-01 00:00:00"}, {"kind": "congestion", "at": "2026-11-01"}],
        )
    migrate(url)
    with engine.connect() as connection:
        zones = dict(connection.execute(text("SELECT kind, zone FROM incidents")).all())
    engine.dispose()
    assert zones == {"camera_health": "camera", "congestion": None}


def test_a_database_with_rows_from_the_first_release_upgrades_and_keeps_them(tmp_path: Path) -> None:
    """Migration 0002 rebuilds the cameras table; with foreign keys on, SQLite refused to drop it."""
    url = f"sqlite:///{tmp_path / 'first.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        _upgrade_to(connection, "0001")
        connection.execute(
            text(
                "INSERT INTO cameras (id, name, lat, lon, heading, input_url, enabled, state, fps_in, fps_out, "
                "frames_dropped, reconnects, created_at, updated_at) VALUES ('cam', 'Cam', 0, 0, 0, 'rtsp://x', 1, "
                "'online', 0, 0, 0, 0, '2026-01-01', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO incidents (camera_id, kind, status, severity, title, details, started_at, last_seen_at, "
                "created_at, updated_at) VALUES ('cam', 'congestion', 'new', 'high', 't', '{}', '2026-01-01', "
                "'2026-01-01', '2026-01-01', '2026-01-01')"
            )
        )
    migrate(url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert connection.execute(text("SELECT camera_id FROM incidents")).scalars().all() == ["cam"]
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again for the service
    engine.dispose()


def _upgrade_to(connection: Connection, revision: str) -> None:
    """Migrate only up to ``revision``, as an older release left the database."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
