"""Geometry sampling in metres: points along lines, square grids inside polygons, road junctions, area lookup."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import LineString, STRtree
from shapely.geometry.base import BaseGeometry

from planner.geo import bearing_deg
from planner.model import FloatArray, IntArray

NODE_SNAP_M = 0.1  # road vertices closer than this are one node (OSM ways share exact nodes)
TANGENT_M = 1.0  # half the chord used to measure a line's bearing at a point


def sample_lines(lines: Sequence[LineString], spacing_m: float) -> tuple[FloatArray, IntArray, FloatArray]:
    """Points exactly ``spacing_m`` apart along each line, centred on it; a short line gets its midpoint.

    A line of length ``L`` gets ``round(L / spacing_m)`` points (at least one), so the first and last
    lie about half a spacing from the ends: two lines meeting at a junction do not both sample it.

    Returns:
        ``(xy, line, bearing)``: the points (k, 2), the index of the line each lies on, and the
        line's compass bearing there (degrees, in the line's drawing direction).
    """
    if not lines or spacing_m <= 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0)
    geoms = np.asarray(lines, dtype=object)
    lengths = shapely.length(geoms)
    counts = np.maximum(1, np.floor(lengths / spacing_m + 0.5)).astype(np.int64)
    counts[lengths <= 0] = 0
    line = np.repeat(np.arange(len(geoms), dtype=np.int64), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    step = np.arange(len(line)) - first
    # Centre the samples on each line so both ends keep the same margin.
    margin = (lengths[line] - (counts[line] - 1) * spacing_m) / 2.0
    dist = np.clip(margin + step * spacing_m, 0.0, lengths[line])
    points = shapely.line_interpolate_point(geoms[line], dist)
    xy = shapely.get_coordinates(points)[:, :2] if len(line) else np.zeros((0, 2))
    ahead = shapely.line_interpolate_point(geoms[line], np.minimum(dist + TANGENT_M, lengths[line]))
    behind = shapely.line_interpolate_point(geoms[line], np.maximum(dist - TANGENT_M, 0.0))
    delta = shapely.get_coordinates(ahead)[:, :2] - shapely.get_coordinates(behind)[:, :2]
    return xy, line, bearing_deg(delta[:, 0], delta[:, 1])


def grid_in_areas(areas: Sequence[BaseGeometry], spacing_m: float) -> tuple[FloatArray, IntArray]:
    """Points of one square grid (aligned on multiples of ``spacing_m``) inside each area.

    A point on a boundary shared by two areas is kept once, in the first.

    Returns:
        ``(xy, area)``: the points (k, 2) and the index of the area holding each.
    """
    chunks: list[FloatArray] = []
    owners: list[IntArray] = []
    taken: set[tuple[int, int]] = set()
    for index, area in enumerate(areas):
        if area.is_empty:
            continue
        west, south, east, north = area.bounds
        xs = np.arange(np.ceil(west / spacing_m), np.floor(east / spacing_m) + 1) * spacing_m
        ys = np.arange(np.ceil(south / spacing_m), np.floor(north / spacing_m) + 1) * spacing_m
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, gx, gy)
        ix, iy = np.rint(gx / spacing_m).astype(int).tolist(), np.rint(gy / spacing_m).astype(int).tolist()
        keys = list(zip(ix, iy, strict=True))
        fresh = np.array([ok and key not in taken for ok, key in zip(inside, keys, strict=True)], dtype=bool)
        taken.update(key for key, new in zip(keys, fresh, strict=True) if new)
        chunks.append(np.column_stack([gx[fresh], gy[fresh]]))
        owners.append(np.full(int(fresh.sum()), index, dtype=np.int64))
    if not chunks:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    return np.concatenate(chunks), np.concatenate(owners)


def area_index(xy: FloatArray, areas: Sequence[BaseGeometry]) -> IntArray:
    """Index of the first area containing (or touching) each point; -1 where none does."""
    result = np.full(len(xy), -1, dtype=np.int64)
    if len(xy) == 0 or not areas:
        return result
    tree = STRtree(list(areas))
    point_idx, area_idx = tree.query(shapely.points(xy), predicate="intersects")
    order = np.lexsort((area_idx, point_idx))  # per point, the lowest area index wins
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.ones(len(point_idx), dtype=bool)
    first[1:] = point_idx[1:] != point_idx[:-1]
    result[point_idx[first]] = area_idx[first]
    return result


def road_junctions(lines: Sequence[LineString]) -> tuple[FloatArray, list[list[float]]]:
    """Nodes where three or more road segment ends meet, with the bearing of each arm leaving them.

    Each line contributes one segment end at either end point and two at every interior vertex,
    so junctions are found both in networks split at every crossing and in OpenStreetMap ways
    that run through a junction (a T where one way ends on another's interior node).

    Returns:
        ``(xy, arms)``: the junctions (k, 2) and, per junction, the compass bearings of its arms.
    """
    arms: defaultdict[tuple[int, int], list[float]] = defaultdict(list)
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for line in lines:
        coords = shapely.get_coordinates(line)
        if len(coords) < 2:
            continue
        keys = [(round(x / NODE_SNAP_M), round(y / NODE_SNAP_M)) for x, y in coords]
        deltas_out = coords[1:] - coords[:-1]  # from vertex i towards i + 1
        for i, key in enumerate(keys):
            where.setdefault(key, (float(coords[i, 0]), float(coords[i, 1])))
            if i + 1 < len(coords):
                arms[key].append(float(bearing_deg(deltas_out[i, 0], deltas_out[i, 1])))
            if i > 0:
                arms[key].append(float(bearing_deg(-deltas_out[i - 1, 0], -deltas_out[i - 1, 1])))
    junctions = [key for key, bearings in arms.items() if len(bearings) >= 3]
    if not junctions:
        return np.zeros((0, 2)), []
    return np.array([where[key] for key in junctions]), [arms[key] for key in junctions]
