"""Engines, sessions and migrations for the incident store (SQLite by default, PostgreSQL alike)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# One key for pg_advisory_xact_lock, so processes that start together migrate one at a time.
_PG_MIGRATION_LOCK_KEY = 0x4D4B_4D49

_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first: switching to WAL may have to wait for other connections
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory created and WAL-mode pragmas.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database_file = _sqlite_file(parsed)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config() -> Config:
    """An Alembic config pointing at this package's migrations, independent of the current directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest migration; a no-op when it is already there.

    Safe when several processes start at once: SQLite migrations are serialized by a lock file
    next to the database, PostgreSQL ones by a transaction-scoped advisory lock.
    """
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with _migration_file_lock(engine.url), engine.connect() as connection:
            if sqlite:
                # A migration that rebuilds a table (SQLite's batch mode) drops the old one, which with
                # foreign keys on would refuse, or cascade into the rows that point at it. The switch
                # only works outside a transaction; the keys are checked once every step is done.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    _upgrade(connection, engine)
                    if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                        raise RuntimeError(f"migration left {len(broken)} broken foreign key(s), e.g. {broken[0]}")
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    finally:
        engine.dispose()


def _upgrade(connection: Connection, engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK_KEY})
    current, head = current_revision(connection), head_revision()
    if current == head:
        logger.debug("database already at migration %s", head)
        return
    logger.info("migrating %s from %s to %s", engine.url.render_as_string(hide_password=True), current, head)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def _migration_file_lock(url: URL) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrate.lock`` for SQLite files; nothing otherwise."""
    database_file = _sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if database_file is None:
        yield
        return
    lock_path = database_file.with_name(database_file.name + ".migrate.lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
