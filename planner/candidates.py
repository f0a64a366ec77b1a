"""Candidate camera sites: poles at road junctions, along roads, around points of interest, on a grid, or given.

How many candidates a spec makes (before deduplication), each pole times ``len(spec.models)``:

* junctions (``intersections``): one pole per node where three or more road segment ends meet,
  ``headings_per_pole`` headings (down each arm first);
* along roads: a pole every ``road_spacing_m`` (21 km of Helsinki at 50 m: about 420 poles),
  ``headings_per_pole`` headings (along the street both ways, then across, then diagonals);
* around points of interest (``around_points_m`` > 0): ``points_per_poi`` poles per point,
  ``around_points_m`` away, each with one heading that looks at the point;
* area grid (``area_grid_m``): one pole per grid node, ``headings_per_pole`` evenly spread
  headings (Palembang's 352 km² at 250 m: about 5,600 poles);
* user sites: one candidate per model with the site's ``heading``, or ``headings_per_pole``
  evenly spread headings when it has none.

Poles closer than :data:`SAME_POLE_M` are merged (their headings joined, repeated headings
dropped). With a planning area, poles farther than :data:`AREA_MARGIN_M` outside it are dropped.
Existing cameras are read by :mod:`planner.existing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import LineString, STRtree
from shapely.geometry.base import BaseGeometry

from core.settings import Settings
from planner.existing import concat_candidates, empty_candidates, load_existing
from planner.geo import LocalFrame
from planner.model import CameraModel, CandidateSet, DemandSet, FloatArray
from planner.sampling import grid_in_areas, road_junctions, sample_lines
from planner.sources import PlanInputError, load_features, source_name
from planner.spec import CameraModelSpec, PlanSpec

__all__ = [
    "build_candidates",
    "concat_candidates",
    "empty_candidates",
    "even_headings",
    "load_existing",
    "models_from_spec",
    "pole_headings",
]

SAME_POLE_M = 1.0  # poles closer than this are one pole
SAME_HEADING_DEG = 10.0  # junction arms closer than this in bearing get one camera heading
AREA_MARGIN_M = 30.0  # a pole just outside the area (across the boundary street) still watches it
# Along the street both ways, across both ways, then the diagonals, then the 22.5-degree steps.
HEADING_PATTERN: tuple[float, ...] = (0.0, 180.0, 90.0, 270.0, 45.0, 225.0, 135.0, 315.0)
HEADING_PATTERN += tuple(h + 22.5 for h in HEADING_PATTERN)


@dataclass
class _Poles:
    """Pole positions with their headings, before deduplication and models."""

    xy: list[tuple[float, float]]
    headings: list[list[float]]

    def add(self, x: float, y: float, headings: list[float]) -> None:
        self.xy.append((x, y))
        self.headings.append(headings)


def models_from_spec(specs: Sequence[CameraModelSpec]) -> list[CameraModel]:
    """The spec's camera models as the planner's :class:`CameraModel` containers, in order."""
    return [CameraModel(**spec.model_dump()) for spec in specs]


def pole_headings(arms: Sequence[float], count: int) -> list[float]:
    """``count`` headings: the street ``arms``' bearings first, then :data:`HEADING_PATTERN` from the first arm.

    Headings closer than :data:`SAME_HEADING_DEG` to one already taken are skipped.
    """
    base = arms[0] if arms else 0.0
    chosen: list[float] = []
    for heading in [*arms, *(base + step for step in HEADING_PATTERN)]:
        heading = float(np.mod(round(heading, 1), 360.0))
        if all(_angle_diff(heading, other) >= SAME_HEADING_DEG for other in chosen):
            chosen.append(heading)
        if len(chosen) == count:
            break
    return chosen


def even_headings(count: int, start: float = 0.0) -> list[float]:
    """``count`` headings evenly spread round the compass from ``start``."""
    return [float(np.mod(start + k * 360.0 / count, 360.0)) for k in range(count)]


def build_candidates(
    spec: PlanSpec,
    frame: LocalFrame,
    areas: Sequence[tuple[str, BaseGeometry]],
    roads: Sequence[LineString],
    demand: DemandSet,
    *,
    base_dir: Path | None = None,
    settings: Settings | None = None,
) -> CandidateSet:
    """Every candidate site the spec allows, times every camera model of the spec (module docstring: counts).

    Raises:
        PlanInputError: an area grid of poles without an area, or unreadable user sites.
    """
    options = spec.candidates
    poles = _Poles([], [])
    if options.intersections:
        for (x, y), arms in zip(*road_junctions(roads), strict=True):
            poles.add(float(x), float(y), pole_headings(arms, options.headings_per_pole))
    xy, _, bearing = sample_lines(list(roads), options.road_spacing_m)
    for (x, y), b in zip(xy, bearing, strict=True):
        poles.add(float(x), float(y), pole_headings([b, b + 180.0], options.headings_per_pole))
    _add_poi_poles(poles, spec, demand)
    if options.area_grid_m is not None:
        if not areas:
            raise PlanInputError("candidates.area_grid_m needs a planning 'area' to lay the grid over")
        grid, _ = grid_in_areas([g for _, g in areas], options.area_grid_m)
        for x, y in grid:
            poles.add(float(x), float(y), even_headings(options.headings_per_pole))
    if options.sites is not None:
        _add_sites(poles, spec, frame, base_dir, settings)
    return _to_candidates(poles, models_from_spec(spec.models), [g for _, g in areas])


def _add_poi_poles(poles: _Poles, spec: PlanSpec, demand: DemandSet) -> None:
    options = spec.candidates
    if options.around_points_m <= 0 or options.points_per_poi == 0 or not spec.demand.points:
        return
    poi_classes = {demand.class_names.index(p.demand_class) for p in spec.demand.points}
    is_poi = np.isin(demand.klass, list(poi_classes))
    for x, y in demand.xy[is_poi]:
        for angle in even_headings(options.points_per_poi):
            rad = np.radians(angle)
            px, py = x + options.around_points_m * np.sin(rad), y + options.around_points_m * np.cos(rad)
            poles.add(float(px), float(py), [float(np.mod(angle + 180.0, 360.0))])


def _add_sites(
    poles: _Poles, spec: PlanSpec, frame: LocalFrame, base_dir: Path | None, settings: Settings | None
) -> None:
    source = spec.candidates.sites
    assert source is not None  # checked by the caller
    name = source_name(source)
    for index, feature in enumerate(load_features(source, kind="points", base_dir=base_dir, settings=settings)):
        x, y = frame.to_xy(feature.geometry.x, feature.geometry.y)  # type: ignore[attr-defined]
        heading = feature.properties.get("heading")
        if heading is None:
            headings = even_headings(spec.candidates.headings_per_pole)
        elif isinstance(heading, int | float) and not isinstance(heading, bool):
            headings = [float(np.mod(heading, 360.0))]
        else:
            raise PlanInputError(f"{name}: feature {index}: 'heading' must be a number of degrees, got {heading!r}")
        poles.add(float(x), float(y), headings)


def _to_candidates(poles: _Poles, models: list[CameraModel], areas: list[BaseGeometry]) -> CandidateSet:
    if not poles.xy:
        return empty_candidates(models)
    xy = np.array(poles.xy, dtype=np.float64)
    keep = _near_areas(xy, areas) if areas else np.ones(len(xy), dtype=bool)
    owner = _merge_close(xy, keep)
    rows_xy: list[tuple[float, float]] = []
    rows_heading: list[float] = []
    rows_pole: list[int] = []
    merged: dict[int, list[float]] = {}
    for index in np.flatnonzero(keep):
        headings = merged.setdefault(int(owner[index]), [])
        for heading in poles.headings[index]:
            if all(_angle_diff(heading, h) >= 1.0 for h in headings):
                headings.append(heading)
    for pole, (owner_index, headings) in enumerate(merged.items()):
        for heading in headings:
            rows_xy.append(poles.xy[owner_index])
            rows_heading.append(heading)
            rows_pole.append(pole)
    count = len(models)
    return CandidateSet(
        xy=np.repeat(np.array(rows_xy, dtype=np.float64).reshape(-1, 2), count, axis=0),
        heading_deg=np.repeat(np.array(rows_heading, dtype=np.float64), count),
        model=np.tile(np.arange(count, dtype=np.int64), len(rows_xy)),
        models=list(models),
        pole=np.repeat(np.array(rows_pole, dtype=np.int64), count),
        existing=np.zeros(len(rows_xy) * count, dtype=bool),
    )


def _near_areas(xy: FloatArray, areas: list[BaseGeometry]) -> np.ndarray:
    tree = STRtree(areas)
    hits, _ = tree.query(shapely.points(xy), predicate="dwithin", distance=AREA_MARGIN_M)
    keep = np.zeros(len(xy), dtype=bool)
    keep[hits] = True
    return keep


def _merge_close(xy: FloatArray, keep: np.ndarray) -> np.ndarray:
    """Per pole, the index of the first kept pole within :data:`SAME_POLE_M` (itself when none came before)."""
    owner = np.arange(len(xy))
    tree = cKDTree(xy)
    for i, j in sorted(tree.query_pairs(SAME_POLE_M)):
        if keep[i] and keep[j] and owner[j] == j:
            owner[j] = owner[i]
    return owner


def _angle_diff(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)
