"""One plan from request to answer: load the sources, build demand and candidates, compute coverage, solve, size.

The CLI (``matakota plan``) and the planner process behind ``POST /api/plans`` both call
:func:`run_plan`, then :func:`planner.report.write_report`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from shapely.geometry.base import BaseGeometry

from core.settings import Settings
from planner.build import (
    build_candidates,
    build_demand,
    concat_candidates,
    load_areas,
    load_buildings,
    load_existing,
    load_roads,
    models_from_spec,
)
from planner.coverage import compute_coverage
from planner.geo import LocalFrame
from planner.result import PlanResult
from planner.sizing import detector_throughput, size_plan
from planner.solve import solve
from planner.sources import PlanInputError, load_features
from planner.spec import PlanSpec, SourceRef

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, float], None]

# Share of the whole run each stage takes, for one progress figure from 0 to 1.
_STAGES = {"loading": (0.0, 0.1), "coverage": (0.1, 0.35), "solving": (0.35, 0.95), "sizing": (0.95, 1.0)}


def run_plan(
    spec: PlanSpec,
    *,
    base_dir: Path | None,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> PlanResult:
    """Answer ``spec``: the chosen sites, their coverage and the infrastructure they need.

    Args:
        spec: the request.
        base_dir: folder that relative paths in ``spec`` are read from (the spec file's); None
            refuses relative paths (requests from the API).
        settings: where the assets directory and the benchmark's figures are.
        progress: called with the stage's name and the share of the whole run done (0-1).

    Raises:
        PlanInputError: a source is missing or unusable; the message names it.
    """
    settings = settings if settings is not None else Settings()
    report: ProgressFn = progress if progress is not None else (lambda _stage, _fraction: None)
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[Callable[[float], None]]:
        low, high = _STAGES[name]
        report(name, low)
        started = time.perf_counter()
        yield lambda fraction: report(name, low + (high - low) * min(1.0, max(0.0, fraction)))
        seconds[name] = time.perf_counter() - started
        report(name, high)

    with stage("loading"):
        frame = frame_for(spec, base_dir=base_dir, settings=settings)
        areas = load_areas(spec.area, frame, base_dir=base_dir, settings=settings)
        roads = load_roads(spec.demand.roads, frame, base_dir=base_dir, settings=settings)
        buildings = load_buildings(spec.buildings, frame, base_dir=base_dir, settings=settings)
        demand = build_demand(spec, frame, areas, roads, base_dir=base_dir, settings=settings)
        candidates = build_candidates(spec, frame, areas, roads, demand, base_dir=base_dir, settings=settings)
        models = models_from_spec(spec.models)
        if spec.existing is not None:
            existing = load_existing(spec.existing, frame, models, base_dir=base_dir, settings=settings)
            candidates = concat_candidates(existing, candidates)
    logger.info(
        "plan %s: %d demand points, %d candidates (%d existing), %d buildings",
        spec.name,
        len(demand),
        len(candidates),
        int(candidates.existing.sum()),
        len(buildings),
    )
    if len(demand) == 0:
        why = f": {'; '.join(demand.notes)}" if demand.notes else ""
        raise PlanInputError(f"plan {spec.name!r}: no demand point lies inside the area{why}")

    with stage("coverage") as step:
        coverage = compute_coverage(
            demand, candidates, buildings, progress=lambda done, total: step(done / max(total, 1))
        )

    with stage("solving") as step:
        best, alternatives = solve(
            coverage, demand, candidates, spec.solver, spec.objective, progress=lambda _s, fraction: step(fraction)
        )

    with stage("sizing"):
        chosen_models = [candidates.models[int(index)] for index in candidates.model[best.chosen]]
        fps, source = (
            (spec.sizing.detector_fps, "given in the plan request")
            if spec.sizing.detector_fps is not None
            else detector_throughput(settings)
        )
        sizing = size_plan(chosen_models, spec.sizing, fps, source)

    objective = (
        f"target {spec.objective.target:.0%} of weighted demand"
        if spec.objective.target is not None
        else f"budget {spec.objective.budget:g}"
    )
    return PlanResult(
        name=spec.name,
        frame=frame,
        demand=demand,
        candidates=candidates,
        coverage=coverage,
        solution=best,
        alternatives=alternatives,
        areas=list(areas),
        sizing=sizing,
        objective=objective,
        seconds=seconds,
        notes=[*demand.notes, *best.notes],
        roads=list[BaseGeometry](roads),
        buildings=list[BaseGeometry](buildings),
    )


def frame_for(spec: PlanSpec, *, base_dir: Path | None, settings: Settings) -> LocalFrame:
    """The metric frame: the spec's CRS, or the UTM zone of the first source's centre (area, roads, points)."""
    if spec.crs is not None:
        return LocalFrame(spec.crs)
    first: SourceRef | None = None
    kind: Literal["points", "lines", "polygons"] = "points"
    if spec.area is not None:
        first, kind = spec.area.source, "polygons"
    elif spec.demand.roads is not None:
        first, kind = spec.demand.roads.source, "lines"
    elif spec.demand.points:
        first = spec.demand.points[0].source
    if first is None:
        raise PlanInputError("the plan needs an area, roads or points of interest to know where it is")
    features = load_features(first, kind=kind, base_dir=base_dir, settings=settings)
    return LocalFrame.for_geometries([f.geometry for f in features])
