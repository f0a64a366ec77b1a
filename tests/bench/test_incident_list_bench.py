"""The incident list benchmark, small: every query answers what the data says, on both databases; speed is not judged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.incident_list import (
    VARIANTS,
    Data,
    QueryResult,
    bench_postgresql,
    bench_sqlite,
    main,
    make_data,
    print_table,
)
from core.incident_config import SlaConfig
from incidents.models import Incident, IncidentStatus
from incidents.routing import sla_status

ROWS = 2_000
REPEAT = 2


def _matching(data: Data, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The incidents ``params`` select (all but ``overdue``), newest first, worked out in Python."""
    rows = data.incidents
    if "camera_id" in params:
        rows = [r for r in rows if r["camera_id"] == params["camera_id"]]
    if "kind" in params:
        rows = [r for r in rows if r["kind"] == params["kind"]]
    if "status" in params:
        rows = [r for r in rows if r["status"] == params["status"]]
    if "started_after" in params:
        rows = [r for r in rows if r["started_at"] >= datetime.fromisoformat(str(params["started_after"]))]
    if "started_before" in params:
        rows = [r for r in rows if r["started_at"] < datetime.fromisoformat(str(params["started_before"]))]
    return sorted(rows, key=lambda r: (r["started_at"], r["id"]), reverse=True)


def _overdue_count(data: Data, now: datetime) -> int:
    return sum(sla_status(Incident(**row), SlaConfig(), now).overdue for row in data.incidents)


@pytest.fixture
def measured(
    db_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Data, list[QueryResult], int, int]:
    """The benchmark run on ``db_backend``, with the overdue counts just before and just after it."""
    data = make_data(ROWS, datetime.now(UTC))
    overdue_before = _overdue_count(data, datetime.now(UTC))
    if db_backend == "postgresql":
        results = bench_postgresql(request.getfixturevalue("postgres_server"), data, REPEAT, tmp_path)
    else:
        results = bench_sqlite(data, REPEAT, tmp_path)
    return data, results, overdue_before, _overdue_count(data, datetime.now(UTC))


def test_every_query_answers_what_the_inserted_data_says_and_the_table_prints(
    db_backend: str, measured: tuple[Data, list[QueryResult], int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    data, results, overdue_before, overdue_after = measured
    assert len(data.incidents) == ROWS
    assert sum(r["status"] == IncidentStatus.NEW for r in data.incidents) > 0  # some are open
    used = {key for result in results for key in result.query.params}
    assert used == {"camera_id", "kind", "status", "started_after", "started_before", "overdue", "offset", "limit"}
    for result in results:
        params = result.query.params
        limit, offset = int(params.get("limit", 50)), int(params.get("offset", 0))
        ids = [item["id"] for item in result.items]
        assert all(len(result.ms[variant]) == REPEAT for variant in VARIANTS)
        if "overdue" in params:
            assert 0 < overdue_before <= result.total <= overdue_after, result.query.name
            assert all(item["overdue"] for item in result.items)
            started = [item["started_at"] for item in result.items]
            assert started == sorted(started, reverse=True)
            assert len(ids) == min(limit, result.total)
            continue
        expected = _matching(data, params)
        assert result.total == len(expected), result.query.name
        assert ids == [r["id"] for r in expected[offset : offset + limit]], result.query.name

    print_table(db_backend, data, results, REPEAT)
    out = capsys.readouterr().out
    assert f"{ROWS:,} incidents" in out and "p50" in out and "p95" in out
    for result in results:
        line = next(line for line in out.splitlines() if line.startswith(result.query.name))
        assert line.count("x") >= 2, line  # the two ratios


def test_the_command_line_runs_a_small_sqlite_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rows", "300", "--backend", "sqlite", "--repeat", "1"])
    captured = capsys.readouterr()
    assert "incident list, SQLite: 300 incidents" in captured.out
    assert "newest page" in captured.out and "deep page" in captured.out
    assert "300 / 300 incidents rows" in captured.err  # progress goes to stderr
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "--backend {sqlite,postgresql,both}" in capsys.readouterr().out
