"""Listing incidents with many rows: p50 / p95 of the API's incident list, with and without the table's indexes.

    python -m bench.incident_list [--rows 100000] [--backend sqlite|postgresql|both] [--repeat 30]

A fresh, migrated database is filled with a year of realistic incidents (40 cameras, several kinds
and severities, mostly closed with a few thousand open, a snapshot and usually a clip each), with
core INSERTs in batches, and copied three times: one copy keeps today's indexes, one is taken back
to the indexes it had before migration 0008 (single-column ones), one keeps none on ``incidents``
but its primary key. Typical operator queries go through the API itself (``GET /api/incidents``
with an operator's API key, in FastAPI's test client: authentication, the filter model, the query
layer, the evidence loading, the JSON answer), taking turns on the three copies in a rotating
order, so each ratio compares two figures measured side by side in the same run:
``p50 with fewer indexes / p50 with today's``. Absolute figures are for orientation only.

SQLite lives in a temporary directory and is not ANALYZEd (the service never does it); PostgreSQL
is a throwaway server, started the way the tests start theirs, and VACUUM ANALYZEd after the fill,
as autovacuum soon would be. Without PostgreSQL's binaries, only SQLite is measured.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from sqlalchemy import insert, inspect, text

from api.app import create_app
from core.messages import Severity
from core.settings import Settings
from incidents.accounts import UserRole, create_api_key
from incidents.db import alembic_config, make_engine, make_session_factory, migrate, session_scope
from incidents.models import Camera, Evidence, EvidenceKind, EvidenceStatus, Incident, IncidentStatus

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ROWS = 100_000
BATCH = 5_000
CAMERAS = 40
AGENCIES = ("dishub", "bpbd", "satpol_pp", "polrestabes", "pupr")
KINDS = {  # kind: share of the incidents
    "congestion": 0.40,
    "illegal_parking": 0.20,
    "crowd": 0.10,
    "wrong_way": 0.10,
    "camera_health": 0.10,
    "flood": 0.05,
    "accident": 0.05,
}
SEVERITIES = {Severity.LOW: 0.45, Severity.MEDIUM: 0.35, Severity.HIGH: 0.15, Severity.CRITICAL: 0.05}
OPEN_SHARE = 0.028  # 2,800 open incidents in 100,000
OPEN = {  # open status: share of the open ones, how far back they started (days)
    IncidentStatus.NEW: (0.30, 3),
    IncidentStatus.ACKNOWLEDGED: (0.25, 14),
    IncidentStatus.DISPATCHED: (0.20, 30),
    IncidentStatus.IN_PROGRESS: (0.15, 30),
    IncidentStatus.ON_HOLD: (0.10, 30),
}
CLOSED = {
    IncidentStatus.CLOSED: 0.75,
    IncidentStatus.RESOLVED: 0.10,
    IncidentStatus.FALSE_POSITIVE: 0.12,
    IncidentStatus.DUPLICATE: 0.03,
}
INDEXED, BEFORE, NONE = "indexed", "before 0008", "no indexes"
VARIANTS = (INDEXED, BEFORE, NONE)
VARIANT_TITLES = {  # the copies compared with the indexed one
    BEFORE: "the indexes before migration 0008 (single-column)",
    NONE: "no index on incidents but its primary key",
}


def _progress(message: str) -> None:
    print(f"incident list bench: {message}", file=sys.stderr, flush=True)


# -- the data ---------------------------------------------------------------------------------------


@dataclass
class Data:
    """The rows a database is filled with, as dicts of column values, and the time they end at."""

    now: datetime
    cameras: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    evidence: list[dict[str, Any]]


def camera_id(index: int) -> str:
    """The id of camera ``index`` (0-based)."""
    return f"plg-cam-{index + 1:02d}"


def _pick(rng: random.Random, shares: dict[Any, float]) -> Any:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def make_data(rows: int, now: datetime, seed: int = 2026) -> Data:
    """``rows`` incidents over the year up to ``now``, ids in order of ``started_at``, and their evidence."""
    rng = random.Random(seed)
    cameras = [
        {
            "id": camera_id(i),
            "name": f"Simpang {i + 1}",
            "lat": -2.97 + i * 0.001,
            "lon": 104.77 + i * 0.001,
            "kecamatan": f"Kecamatan {i % 8 + 1}",
            "input_url": f"rtsp://10.0.0.{i + 1}/stream1",
            "created_at": now,
            "updated_at": now,
            "metrics": {},
        }
        for i in range(CAMERAS)
    ]
    opened = round(rows * OPEN_SHARE)
    statuses = [_pick(rng, {s: share for s, (share, _) in OPEN.items()}) for _ in range(opened)]
    statuses += [_pick(rng, CLOSED) for _ in range(rows - opened)]
    drafts = []
    for status in statuses:
        days = OPEN[status][1] if status in OPEN else 365
        drafts.append((now - timedelta(seconds=rng.uniform(60, days * 86400)), status))
    drafts.sort(key=lambda draft: draft[0])
    incidents = [_incident(rng, number, started_at, status) for number, (started_at, status) in enumerate(drafts, 1)]
    evidence = [row for incident in incidents for row in _evidence(rng, incident, now)]
    return Data(now, cameras, incidents, evidence)


def _incident(rng: random.Random, incident_id: int, started_at: datetime, status: IncidentStatus) -> dict[str, Any]:
    kind = _pick(rng, KINDS)
    camera = camera_id(min(int(rng.paretovariate(1.2)) - 1, CAMERAS - 1)) if rng.random() > 0.02 else None
    is_open = status in OPEN
    duration = timedelta(seconds=rng.uniform(30, 3600))
    acknowledged = status not in (IncidentStatus.NEW, IncidentStatus.FALSE_POSITIVE, IncidentStatus.DUPLICATE)
    dispatched = status in (IncidentStatus.DISPATCHED, IncidentStatus.IN_PROGRESS) or (
        status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED) and rng.random() < 0.6
    )
    dispatched_at = started_at + timedelta(minutes=rng.uniform(5, 60)) if dispatched else None
    resolved = status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)
    return {
        "id": incident_id,
        "camera_id": camera,
        "kind": kind,
        "zone": rng.choice(("jalur_utama", "bahu_jalan", None)),
        "status": status,
        "severity": _pick(rng, SEVERITIES),
        "title": f"{kind.replace('_', ' ')} at {camera}",
        "details": {"count": rng.randint(1, 60)},
        "started_at": started_at,
        "last_seen_at": started_at + duration,
        "ended_at": None if is_open else started_at + duration,
        "agency": rng.choice(AGENCIES) if dispatched else None,
        "acknowledged_at": started_at + timedelta(minutes=rng.uniform(1, 30)) if acknowledged else None,
        "dispatched_at": dispatched_at,
        "expected_by": dispatched_at + timedelta(hours=rng.choice((2, 4, 24))) if dispatched_at else None,
        "resolved_at": started_at + timedelta(hours=rng.uniform(1, 48)) if resolved else None,
        "merged_into_id": incident_id - 1 if status == IncidentStatus.DUPLICATE and incident_id > 1 else None,
        "created_at": started_at + timedelta(seconds=2),
        "updated_at": started_at + duration,
    }


def _evidence(rng: random.Random, incident: dict[str, Any], now: datetime) -> Iterator[dict[str, Any]]:
    at, number = incident["created_at"], incident["id"]
    expired = now - at > timedelta(days=90)  # retention removed the files, the rows stay
    yield _evidence_row(number, EvidenceKind.SNAPSHOT, EvidenceStatus.DELETED if expired else EvidenceStatus.READY, at)
    if incident["camera_id"] is not None and rng.random() < 0.8:
        status = EvidenceStatus.DELETED if expired else EvidenceStatus.READY
        yield _evidence_row(number, EvidenceKind.CLIP, EvidenceStatus.FAILED if rng.random() < 0.02 else status, at)


def _evidence_row(incident_id: int, kind: EvidenceKind, status: EvidenceStatus, at: datetime) -> dict[str, Any]:
    clip = kind == EvidenceKind.CLIP
    return {
        "incident_id": incident_id,
        "kind": kind,
        "status": status,
        "path": f"{at:%Y/%m/%d}/{incident_id}-{kind}.{'mp4' if clip else 'jpg'}",
        "content_type": "video/mp4" if clip else "image/jpeg",
        "size_bytes": 2_400_000 if clip else 180_000,
        "duration_s": 20.0 if clip else None,
        "start_at": at - timedelta(seconds=10) if clip else None,
        "error": "camera unreachable" if status == EvidenceStatus.FAILED else None,
        "request_id": None,
        "deadline_at": None,
        "created_at": at,
        "updated_at": at,
    }


# -- the databases ----------------------------------------------------------------------------------


def fill(url: str, data: Data, label: str) -> str:
    """Migrate the empty database at ``url``, insert ``data`` with core INSERTs in batches; returns an API key.

    Core inserts skip the ORM's session hooks (the change feed's events): right for a bulk fill.
    The key (an operator's) is made through the ORM, as the service makes them.
    """
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(insert(Camera), data.cameras)
        for table, rows in ((Incident, data.incidents), (Evidence, data.evidence)):
            for start in range(0, len(rows), BATCH):
                with engine.begin() as connection:
                    connection.execute(insert(table), rows[start : start + BATCH])
                done = min(start + BATCH, len(rows))
                if done == len(rows) or done % (BATCH * 4) == 0:
                    _progress(f"{label}: {done:,} / {len(rows):,} {table.__tablename__} rows")
        with session_scope(make_session_factory(engine)) as session:
            _, api_key = create_api_key("incident list bench", UserRole.OPERATOR, session=session, created_by="bench")
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:  # explicit ids leave the sequence behind
                connection.execute(
                    text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents")
                )
            with engine.connect() as connection:  # what autovacuum does soon after a bulk load
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return api_key


def before_0008(url: str) -> None:
    """Take the database at ``url`` back to the indexes it had before migration 0008."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
            # Marked current again, or the app would log at startup that the schema is old.
            command.stamp(config, "head")
            if engine.dialect.name == "postgresql":
                connection.execute(text("ANALYZE incidents"))
    finally:
        engine.dispose()


def without_indexes(url: str) -> None:
    """Drop every index of the ``incidents`` table at ``url`` but its primary key."""
    engine = make_engine(url)
    try:
        names = [str(index["name"]) for index in inspect(engine).get_indexes("incidents")]
        with engine.begin() as connection:
            for name in names:
                connection.execute(text(f'DROP INDEX "{name}"'))
            if engine.dialect.name == "postgresql":
                connection.execute(text("ANALYZE incidents"))
    finally:
        engine.dispose()


def sqlite_copies(url: str, directory: Path) -> dict[str, str]:
    """Three equally compact copies of the filled SQLite database at ``url``, by variant."""
    urls = {}
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            for variant in VARIANTS:
                copy = directory / f"{variant.replace(' ', '-')}.db"
                connection.exec_driver_sql(f"VACUUM INTO '{copy}'")
                urls[variant] = f"sqlite:///{copy}"
    finally:
        engine.dispose()
    return urls


def postgres_copies(server: Any, database: str) -> dict[str, str]:
    """Three copies of the filled PostgreSQL ``database`` on ``server``, by variant."""
    import psycopg

    urls = {}
    with psycopg.connect(server.url("postgres", driver="postgresql"), autocommit=True) as admin:
        for variant in VARIANTS:
            copy = f"{database}_{variant.replace(' ', '_').replace('-', '_')}"
            admin.execute(f"CREATE DATABASE {copy} TEMPLATE {database} STRATEGY file_copy")
            urls[variant] = server.url(copy)
    return urls


def prepare_variants(urls: dict[str, str]) -> None:
    """Take away the indexes each copy goes without."""
    before_0008(urls[BEFORE])
    without_indexes(urls[NONE])


# -- the queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """One typical operator query of ``GET /api/incidents``."""

    name: str
    params: dict[str, str | int]


def operator_queries(data: Data) -> list[ListQuery]:
    """The queries timed: the queue's first page, filters operators use, a page deep in the list, a count."""
    week_start = data.now - timedelta(days=37)
    week: dict[str, str | int] = {
        "started_after": week_start.isoformat(),
        "started_before": (week_start + timedelta(days=7)).isoformat(),
    }
    busy = camera_id(0)
    return [
        ListQuery("newest page", {}),
        ListQuery("new (unacknowledged)", {"status": "new"}),
        ListQuery("by kind (illegal_parking)", {"kind": "illegal_parking"}),
        ListQuery("by rare kind (flood)", {"kind": "flood"}),
        ListQuery(f"by camera ({camera_id(9)})", {"camera_id": camera_id(9)}),
        ListQuery("by status + kind (dispatched flood)", {"status": "dispatched", "kind": "flood"}),
        ListQuery("overdue", {"overdue": "true"}),
        ListQuery("one week, a month ago", week),
        ListQuery(f"camera {busy}, that week", {"camera_id": busy, **week}),
        ListQuery("deep page (offset: half the rows)", {"offset": len(data.incidents) // 2}),
        ListQuery("count only (limit 1)", {"limit": 1}),
    ]


@dataclass
class QueryResult:
    """What one query answered on the indexed database, and its timings in ms on each variant."""

    query: ListQuery
    total: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    ms: dict[str, list[float]] = field(default_factory=lambda: {variant: [] for variant in VARIANTS})

    def p(self, variant: str, percentile: int) -> float:
        """The ``percentile`` (50, 95) of this query's timings on ``variant``, ms."""
        times = sorted(self.ms[variant])
        return times[min(len(times) - 1, round(percentile / 100 * (len(times) - 1)))]


def _get(client: TestClient, query: ListQuery) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    response = client.get("/api/incidents", params=query.params)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{query.name}: HTTP {response.status_code}: {response.text[:500]}")
    answer: dict[str, Any] = response.json()
    return elapsed, answer


def measure(
    urls: dict[str, str], api_key: str, queries: list[ListQuery], repeat: int, data_dir: Path
) -> list[QueryResult]:
    """Every query ``repeat`` times on each variant, taking turns, after an untimed round that checks answers agree.

    The variant that goes first changes every round, so none gains from its place in the turn.
    """
    with warnings.catch_warnings():  # Starlette's note that its test client will move from httpx: not ours to act on
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    results = [QueryResult(query) for query in queries]
    with ExitStack() as stack:
        clients = {}
        for variant, url in urls.items():
            app = create_app(Settings(data_dir=data_dir / variant.replace(" ", "-"), database_url=url))
            clients[variant] = stack.enter_context(TestClient(app, headers={"Authorization": f"Bearer {api_key}"}))
        for result in results:  # warms the caches; fewer indexes must change no answer
            answers = {variant: _get(client, result.query)[1] for variant, client in clients.items()}
            result.total, result.items = answers[INDEXED]["total"], answers[INDEXED]["items"]
            for variant, answer in answers.items():
                if (answer["total"], _ids(answer["items"])) != (result.total, _ids(result.items)):
                    raise RuntimeError(f"{result.query.name}: {variant} answers differently from {INDEXED}")
        order = list(clients.items())
        for run in range(repeat):
            turn = order[run % len(order) :] + order[: run % len(order)]
            for result in results:
                for variant, client in turn:
                    result.ms[variant].append(_get(client, result.query)[0])
            if (run + 1) % 10 == 0 and run + 1 < repeat:
                _progress(f"{run + 1} / {repeat} rounds")
    return results


def _ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


# -- a whole backend --------------------------------------------------------------------------------


def bench_sqlite(data: Data, repeat: int, directory: Path) -> list[QueryResult]:
    """Fill a SQLite file in ``directory``, copy it, and time the queries on the three variants."""
    url = f"sqlite:///{directory / 'matakota.db'}"
    api_key = fill(url, data, "sqlite")
    urls = sqlite_copies(url, directory)
    prepare_variants(urls)
    _progress(f"sqlite: timing {repeat} rounds")
    return measure(urls, api_key, operator_queries(data), repeat, directory)


def bench_postgresql(server: Any, data: Data, repeat: int, directory: Path) -> list[QueryResult]:
    """Fill a new database on the running PostgreSQL ``server``, copy it, and time the queries."""
    database = server.create_database()
    urls: dict[str, str] = {}
    try:
        api_key = fill(server.url(database), data, "postgresql")
        urls = postgres_copies(server, database)
        prepare_variants(urls)
        _progress(f"postgresql: timing {repeat} rounds")
        return measure(urls, api_key, operator_queries(data), repeat, directory)
    finally:
        for name in [database, *(url.rsplit("/", 1)[1] for url in urls.values())]:
            server.drop_database(name)


def start_postgres(stack: ExitStack) -> Any:
    """A throwaway PostgreSQL server (the tests' own) stopped with ``stack``, or None when it cannot start."""
    import pytest

    from tests.fixtures.postgres import throwaway_server

    try:
        return stack.enter_context(throwaway_server())
    except pytest.fail.Exception as err:
        _progress(f"PostgreSQL is not available, measuring SQLite only: {err}")
        return None


def print_table(backend: str, data: Data, results: list[QueryResult], repeat: int) -> None:
    """One backend's table: rows returned, p50 / p95 with today's indexes, and the ratios with fewer."""
    print(
        f"\nincident list, {backend}: {len(data.incidents):,} incidents, {len(data.evidence):,} evidence rows, "
        f"GET /api/incidents (50 a page), {repeat} runs of each query per variant, ms"
    )
    for variant, title in VARIANT_TITLES.items():
        print(f"  ratio {variant!r}: p50 with {title} / p50 with today's indexes (same data, same run)")
    header = f"{'query':38} {'rows':>5} {'total':>7} {'p50':>8} {'p95':>8}"
    header += "".join(f" {variant + ' p50':>18} {'ratio':>7}" for variant in VARIANT_TITLES)
    print(header)
    for r in results:
        line = f"{r.query.name:38} {len(r.items):5d} {r.total:7d} {r.p(INDEXED, 50):8.2f} {r.p(INDEXED, 95):8.2f}"
        for variant in VARIANT_TITLES:
            line += f" {r.p(variant, 50):18.2f} {r.p(variant, 50) / r.p(INDEXED, 50):6.1f}x"
        print(line)
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rows", type=int, default=ROWS, help=f"incidents to fill the database with (default {ROWS:,})"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="database(s) to measure"
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each query on each variant (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated incidents")
    args = parser.parse_args(argv)
    if args.rows < 100 or args.repeat < 1:
        parser.error("--rows must be at least 100 and --repeat at least 1")

    _progress(f"generating {args.rows:,} incidents")
    data = make_data(args.rows, datetime.now(UTC), args.seed)
    with tempfile.TemporaryDirectory(prefix="matakota-bench-") as root, ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            directory = Path(root) / "sqlite"
            directory.mkdir()
            print_table("SQLite", data, bench_sqlite(data, args.repeat, directory), args.repeat)
        if args.backend in ("postgresql", "both"):
            server = start_postgres(stack)
            if server is not None:
                directory = Path(root) / "postgresql"
                directory.mkdir()
                print_table("PostgreSQL", data, bench_postgresql(server, data, args.repeat, directory), args.repeat)


if __name__ == "__main__":
    main()
