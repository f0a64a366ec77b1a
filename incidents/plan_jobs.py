"""Coverage plans asked for through the API: queued, run by the planner process, their figures kept.

The request and the answer's key figures live in the database; the report's files (map, HTML,
GeoJSON, camera entries) in ``<data_dir>/plans/<id>/``. A plan whose process died while it ran
(no heartbeat for :data:`STALE_AFTER_S`) is queued again, so a crash loses no request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Index, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import PlanNotFound
from incidents.models import Base
from incidents.types import StrEnumType, clip, utcnow

STALE_AFTER_S = 30.0  # the running process beats every 2 s, even while a solver holds its thread
MAX_ATTEMPTS = 3  # a plan that keeps killing its process is failed, not retried forever


class PlanStatus(StrEnum):
    """Where a plan is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanJob(Base):
    """One plan request and, once done, its key figures (``summary``)."""

    __tablename__ = "plan_jobs"
    __table_args__ = (Index("ix_plan_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[PlanStatus] = mapped_column(StrEnumType(PlanStatus), default=PlanStatus.QUEUED)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stage: Mapped[str | None] = mapped_column(String(100))
    progress: Mapped[float] = mapped_column(default=0.0)  # 0-1
    summary: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"PlanJob(id={self.id!r}, status={self.status!s}, progress={self.progress:.2f})"


def plan_dir(data_dir: Path, plan_id: int) -> Path:
    """Where plan ``plan_id``'s report files are written."""
    return data_dir / "plans" / str(plan_id)


def create_plan(spec: dict[str, Any], *, session: Session, name: str, requested_by: str) -> PlanJob:
    """Queue a plan; the planner process picks it up."""
    job = PlanJob(name=clip(name, 200) or "plan", spec=spec, requested_by=requested_by)
    session.add(job)
    session.flush()
    return job


def get_plan(plan_id: int, *, session: Session) -> PlanJob:
    job = session.get(PlanJob, plan_id)
    if job is None:
        raise PlanNotFound(f"plan {plan_id} not found")
    return job


def list_plans(*, session: Session, limit: int = 50, offset: int = 0) -> list[PlanJob]:
    """Newest first."""
    return list(session.scalars(select(PlanJob).order_by(PlanJob.id.desc()).limit(limit).offset(offset)))


def claim_next(*, session: Session, now: datetime | None = None) -> PlanJob | None:
    """Take the oldest queued plan for this process, or None.

    The claim is a conditional update (status still ``queued``), so two planner processes never
    run one plan twice.
    """
    now = now or utcnow()
    for job_id in session.scalars(
        select(PlanJob.id).where(PlanJob.status == PlanStatus.QUEUED).order_by(PlanJob.id).limit(5)
    ):
        claimed = session.execute(
            update(PlanJob)
            .where(PlanJob.id == job_id, PlanJob.status == PlanStatus.QUEUED)
            .values(status=PlanStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=PlanJob.attempts + 1)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            session.flush()
            return session.get(PlanJob, job_id, populate_existing=True)
    return None


def report_progress(
    plan_id: int, stage: str, fraction: float, *, session: Session, now: datetime | None = None
) -> None:
    """Record the stage and the share done, which also counts as the running process's heartbeat."""
    session.execute(
        update(PlanJob)
        .where(PlanJob.id == plan_id, PlanJob.status == PlanStatus.RUNNING)
        .values(stage=clip(stage, 100), progress=max(0.0, min(1.0, fraction)), heartbeat_at=now or utcnow())
    )


def finish_plan(plan_id: int, summary: dict[str, Any], *, session: Session, now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(
        update(PlanJob)
        .where(PlanJob.id == plan_id)
        .values(status=PlanStatus.DONE, summary=summary, progress=1.0, stage="done", finished_at=now, heartbeat_at=now)
    )


def fail_plan(plan_id: int, error: str, *, session: Session, now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(
        update(PlanJob)
        .where(PlanJob.id == plan_id)
        .values(status=PlanStatus.FAILED, error=clip(error, 4000), finished_at=now, heartbeat_at=now)
    )


def requeue_stale(*, session: Session, now: datetime | None = None, stale_after_s: float = STALE_AFTER_S) -> int:
    """Queue again the plans whose process stopped beating; fail those that already had :data:`MAX_ATTEMPTS`."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    stale = PlanJob.status == PlanStatus.RUNNING, PlanJob.heartbeat_at < cutoff
    failed = session.execute(
        update(PlanJob)
        .where(*stale, PlanJob.attempts >= MAX_ATTEMPTS)
        .values(
            status=PlanStatus.FAILED,
            finished_at=now,
            error=f"the planner process stopped during each of {MAX_ATTEMPTS} attempts",
        )
    )
    requeued = session.execute(
        update(PlanJob).where(*stale).values(status=PlanStatus.QUEUED, stage="queued again after a restart")
    )
    return int(requeued.rowcount) + int(failed.rowcount)  # type: ignore[attr-defined]
