"""From a plan spec to the planner's containers in metres: areas, roads, buildings and the demand points.

Candidate sites are built in :mod:`planner.candidates`; this module re-exports its functions so a
plan needs one import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from core.settings import Settings
from planner.candidates import (
    build_candidates,
    concat_candidates,
    empty_candidates,
    load_existing,
    models_from_spec,
)
from planner.geo import LocalFrame
from planner.model import PIXELS_PER_METRE, DemandSet, FloatArray, IntArray
from planner.sampling import area_index, grid_in_areas, sample_lines
from planner.sources import PlanInputError, load_features, require_property, source_name
from planner.spec import AreaSpec, PlanSpec, PointDemand, RoadDemand, SourceRef

__all__ = [
    "Area",
    "build_candidates",
    "build_demand",
    "concat_candidates",
    "empty_candidates",
    "load_areas",
    "load_buildings",
    "load_existing",
    "load_roads",
    "models_from_spec",
]

Area = tuple[str, Polygon | MultiPolygon]
DEFAULT_NAME_PROPERTY = "NAMOBJ"  # BIG's name field; a request that names another property needs it present


def load_areas(
    area: AreaSpec | None, frame: LocalFrame, *, base_dir: Path | None = None, settings: Settings | None = None
) -> list[Area]:
    """The planning area's named polygons in metres (one per feature, kept in file order).

    Raises:
        PlanInputError: the source is not polygons, lacks ``name_property``, or ``only`` names
            polygons it does not hold.
    """
    if area is None:
        return []
    name = source_name(area.source)
    features = load_features(area.source, kind="polygons", base_dir=base_dir, settings=settings)
    if any(f.properties for f in features):  # bare geometries have no names: they are numbered
        require_property(features, area.name_property, name)
    named = [(str(f.properties.get(area.name_property) or f"#{i + 1}"), f.geometry) for i, f in enumerate(features)]
    if area.only is not None:
        known = {n for n, _ in named}
        unknown = [n for n in area.only if n not in known]
        if unknown:
            raise PlanInputError(
                f"{name}: 'only' names polygons it does not hold: {', '.join(unknown)} "
                f"(known {area.name_property} values include {', '.join(sorted(known)[:10])})"
            )
        wanted = set(area.only)
        named = [(n, g) for n, g in named if n in wanted]
    result: list[Area] = []
    for label, geom in named:
        metric = frame.geometry_to_xy(geom)
        if not metric.is_valid:
            metric = shapely.make_valid(metric)  # boundary files often carry tiny self-intersections
        result.append((label, metric if isinstance(metric, Polygon | MultiPolygon) else _polygonal(metric)))
    return result


def load_roads(
    roads: RoadDemand | None, frame: LocalFrame, *, base_dir: Path | None = None, settings: Settings | None = None
) -> list[LineString]:
    """The road network's lines in metres (``.pbf``: the ``network`` type's ways; GeoJSON: its lines)."""
    if roads is None:
        return []
    features = load_features(roads.source, kind="lines", base_dir=base_dir, network=roads.network, settings=settings)
    return [frame.geometry_to_xy(f.geometry) for f in features if isinstance(f.geometry, LineString)]


def load_buildings(
    source: SourceRef | None, frame: LocalFrame, *, base_dir: Path | None = None, settings: Settings | None = None
) -> list[Polygon]:
    """Building footprints in metres, multi-polygons split into their parts."""
    if source is None:
        return []
    features = load_features(source, kind="polygons", base_dir=base_dir, settings=settings)
    result: list[Polygon] = []
    for feature in features:
        for part in shapely.get_parts(frame.geometry_to_xy(feature.geometry)):
            if isinstance(part, Polygon) and not part.is_empty:
                result.append(part)
    return result


@dataclass
class _Layer:
    """Demand points of one layer before they are joined."""

    xy: FloatArray
    klass: str
    weight: float
    ppm: float
    label: list[str] = field(default_factory=list)


def build_demand(
    spec: PlanSpec,
    frame: LocalFrame,
    areas: Sequence[tuple[str, BaseGeometry]],
    roads: list[LineString],
    *,
    base_dir: Path | None = None,
    settings: Settings | None = None,
) -> DemandSet:
    """The points to watch: road samples, points of interest and an area grid, as the spec asks.

    With an area, road samples and points of interest outside every area polygon are dropped; each
    point's ``area`` is the first polygon holding it. Classes are ``road``, each point layer's
    ``class`` and ``area``, in that order.

    Raises:
        PlanInputError: a point layer lacks its ``name_property``, or an area grid is asked for
            without an area. A point layer with no point inside the area is left out with a note.
    """
    layers: list[_Layer] = []
    demand = spec.demand
    if demand.roads is not None and roads:
        xy, _, _ = sample_lines(roads, demand.roads.spacing_m)
        layers.append(_Layer(xy, "road", demand.roads.weight_per_point, PIXELS_PER_METRE[demand.roads.density]))
    notes: list[str] = []
    for layer in demand.points:
        built = _point_layer(layer, frame, areas, base_dir, settings)
        if len(built.xy) == 0:  # a market layer over a kelurahan without a market: say so, plan the rest
            notes.append(f"{source_name(layer.source)} ({layer.demand_class}): none of its points lies inside the area")
        layers.append(built)
    if demand.area_grid is not None:
        if not areas:
            raise PlanInputError("demand.area_grid needs a planning 'area' to lay the grid over")
        xy, _ = grid_in_areas([g for _, g in areas], demand.area_grid.spacing_m)
        grid = demand.area_grid
        layers.append(_Layer(xy, "area", grid.weight_per_point, PIXELS_PER_METRE[grid.density]))
    joined = _join(layers, areas)
    joined.notes = notes
    return joined


def _point_layer(
    layer: PointDemand,
    frame: LocalFrame,
    areas: Sequence[tuple[str, BaseGeometry]],
    base_dir: Path | None,
    settings: Settings | None,
) -> _Layer:
    name = source_name(layer.source)
    features = load_features(layer.source, kind="points", base_dir=base_dir, settings=settings)
    if layer.name_property != DEFAULT_NAME_PROPERTY:  # BIG's NAMOBJ may simply be absent from a user's file
        require_property(features, layer.name_property, name)
    lon = np.array([f.geometry.x for f in features])  # type: ignore[attr-defined]
    lat = np.array([f.geometry.y for f in features])  # type: ignore[attr-defined]
    x, y = frame.to_xy(lon, lat)
    xy = np.column_stack([x, y])
    labels = [str(f.properties.get(layer.name_property) or "").strip() for f in features]
    if areas:
        inside = area_index(xy, [g for _, g in areas]) >= 0
        xy, labels = xy[inside], [label for label, keep in zip(labels, inside, strict=True) if keep]
    return _Layer(xy, layer.demand_class, layer.weight, PIXELS_PER_METRE[layer.density], labels)


def _join(layers: list[_Layer], areas: Sequence[tuple[str, BaseGeometry]]) -> DemandSet:
    class_names = list(dict.fromkeys(layer.klass for layer in layers))
    xy = np.concatenate([layer.xy for layer in layers]) if layers else np.zeros((0, 2))
    counts = [len(layer.xy) for layer in layers]
    klass = np.repeat(np.array([class_names.index(la.klass) for la in layers], dtype=np.int64), counts)
    weight = np.repeat(np.array([la.weight for la in layers], dtype=np.float64), counts)
    ppm = np.repeat(np.array([la.ppm for la in layers], dtype=np.float64), counts)
    area: IntArray = area_index(xy, [g for _, g in areas]) if areas else np.full(len(xy), -1, dtype=np.int64)
    keep = area >= 0 if areas else np.ones(len(xy), dtype=bool)  # road samples outside the area are dropped
    labels = [lab for la in layers for lab in (la.label or [""] * len(la.xy))]
    has_labels = any(labels)
    return DemandSet(
        xy=xy[keep].astype(np.float64).reshape(-1, 2),
        weight=weight[keep],
        klass=klass[keep],
        class_names=class_names,
        required_ppm=ppm[keep],
        area=area[keep],
        area_names=[n for n, _ in areas],
        label=[lab for lab, k in zip(labels, keep, strict=True) if k] if has_labels else [],
    )


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    parts = [q for p in shapely.get_parts(geom) for q in shapely.get_parts(p) if isinstance(q, Polygon)]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)
