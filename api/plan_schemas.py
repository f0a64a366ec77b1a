"""Response models of coverage plans (the request is :class:`planner.spec.PlanSpec`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas import Out
from incidents.plan_jobs import PlanJob, PlanStatus

PLAN_FILES = {
    "report.html": "text/html; charset=utf-8",
    "map.png": "image/png",
    "plan.geojson": "application/geo+json",
    "cameras.yaml": "application/yaml",
    "coverage.csv": "text/csv; charset=utf-8",
    "summary.json": "application/json",
}


class PlanOut(Out):
    """A coverage plan: queued, running (with its stage and progress), done (with its figures) or failed."""

    id: int = Field(description="Plan id.")
    name: str = Field(description="The plan's name, from its request.")
    status: PlanStatus = Field(description="`queued`, `running`, `done` or `failed` (see `error`).")
    stage: str | None = Field(description="What the planner is doing now: loading, coverage, solving, report.")
    progress: float = Field(description="Share of the work done, 0-1.")
    error: str | None = Field(description="Why the plan failed.")
    requested_by: str = Field(description="Who asked for it.")
    created_at: datetime = Field(description="When it was asked for.")
    started_at: datetime | None = Field(description="When the planner took it up (the last attempt).")
    finished_at: datetime | None = Field(description="When it was done or failed.")
    summary: dict[str, Any] | None = Field(
        description="The plan's key figures once done: cameras, coverage, solver bound and gap, sizing."
    )
    files: dict[str, str] = Field(description="Links to the report's files once done: HTML, map, GeoJSON, ...")

    @classmethod
    def of(cls, job: PlanJob) -> PlanOut:
        done = job.status == PlanStatus.DONE
        return cls(
            id=job.id,
            name=job.name,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            error=job.error,
            requested_by=job.requested_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            summary=job.summary if done else None,
            files={name: f"/api/plans/{job.id}/files/{name}" for name in PLAN_FILES} if done else {},
        )
