"""The plan queue on a real database: claiming once, progress as heartbeat, requeueing after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.errors import PlanNotFound
from incidents.db import session_scope
from incidents.plan_jobs import (
    MAX_ATTEMPTS,
    PlanStatus,
    claim_next,
    create_plan,
    fail_plan,
    finish_plan,
    get_plan,
    list_plans,
    report_progress,
    requeue_stale,
)
from incidents.types import utcnow


def _queue(factory: sessionmaker[Session], count: int = 1) -> list[int]:
    with session_scope(factory) as session:
        return [create_plan({"n": i}, session=session, name=f"p{i}", requested_by="rina").id for i in range(count)]


def test_plans_are_claimed_oldest_first_and_each_only_once(session_factory: sessionmaker[Session]) -> None:
    first, second = _queue(session_factory, 2)
    with session_scope(session_factory) as a:
        job_a = claim_next(session=a)
        assert job_a is not None and job_a.id == first and job_a.status == PlanStatus.RUNNING
    with session_scope(session_factory) as b:
        job_b = claim_next(session=b)
        assert job_b is not None and job_b.id == second and job_b.attempts == 1
    with session_scope(session_factory) as c:
        assert claim_next(session=c) is None


def test_progress_finish_and_failure_are_stored(session_factory: sessionmaker[Session]) -> None:
    done, failed = _queue(session_factory, 2)
    with session_scope(session_factory) as session:
        claim_next(session=session)
        claim_next(session=session)
        report_progress(done, "solving", 1.7, session=session)
    with session_scope(session_factory) as session:
        job = get_plan(done, session=session)
        assert (job.stage, job.progress) == ("solving", 1.0)  # clamped to 0-1
        finish_plan(done, {"cameras": 12}, session=session)
        fail_plan(failed, "PlanInputError: assets:geo/x.geojson not found", session=session)
    with session_scope(session_factory) as session:
        assert get_plan(done, session=session).summary == {"cameras": 12}
        assert get_plan(failed, session=session).status == PlanStatus.FAILED
        assert [job.id for job in list_plans(session=session)] == [failed, done]  # newest first


def test_a_plan_whose_process_stopped_beating_is_queued_again_then_failed_after_its_attempts(
    session_factory: sessionmaker[Session],
) -> None:
    (plan_id,) = _queue(session_factory)
    start = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with session_scope(session_factory) as session:
            job = claim_next(session=session, now=start)
            assert job is not None and job.attempts == attempt
        with session_scope(session_factory) as session:  # a live heartbeat keeps it running
            assert requeue_stale(session=session, now=start + timedelta(seconds=10)) == 0
        with session_scope(session_factory) as session:
            assert requeue_stale(session=session, now=start + timedelta(seconds=600)) == 1
            expected = PlanStatus.QUEUED if attempt < MAX_ATTEMPTS else PlanStatus.FAILED
            assert get_plan(plan_id, session=session).status == expected
    with session_scope(session_factory) as session:
        assert "each of 3 attempts" in (get_plan(plan_id, session=session).error or "")


def test_an_unknown_plan_is_named_in_the_error(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session, pytest.raises(PlanNotFound, match="plan 999"):
        get_plan(999, session=session)
