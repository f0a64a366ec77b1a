"""Which candidate camera sees which demand point: view sector, pixel-density range and building occlusion.

A demand point is seen by a candidate when it lies inside the candidate's view sector (compass
bearings, 0 = north = +y, 90 = east = +x; a 360-degree lens sees every direction), no farther than
the ground range at which the candidate's model still gives the point's required pixel density
(:mod:`planner.optics`), and the straight sight line crosses no building. Sight lines are shortened
by :data:`SIGHT_MARGIN_M` at both ends, and a building that contains the camera or the point is
ignored for that pair, so a camera on a wall and a point of interest inside its own footprint
(a market hall, a school) are not hidden by their own building.

Everything is vectorised: an STRtree over the demand points finds the points within each
candidate's longest range, numpy does the bearings and distances, and an STRtree over the
buildings tests all surviving sight lines of a chunk of candidates at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from shapely import Polygon, STRtree

from planner.model import BoolArray, CandidateSet, Coverage, DemandSet, FloatArray, IntArray
from planner.optics import ground_ranges_for_ppm

SIGHT_MARGIN_M = 2.0  # sight lines lose this much at both ends before the building test
CHUNK = 1024  # candidates per chunk (one progress call each)
EDGE_EPS_DEG = 1e-9  # a point exactly on the sector's edge is inside

ProgressFn = Callable[[int, int], None]


@dataclass
class _Ranges:
    """Ground range per (model, distinct required density), and each demand point's density index."""

    table: FloatArray  # (models, densities)
    density_index: IntArray  # (n,)
    longest: FloatArray  # (models,)


def _ranges(demand: DemandSet, candidates: CandidateSet, target_height_m: float) -> _Ranges:
    densities, index = np.unique(demand.required_ppm, return_inverse=True)
    table = np.zeros((len(candidates.models), len(densities)))
    for m, model in enumerate(candidates.models):
        table[m] = ground_ranges_for_ppm(model, densities, target_height_m)
    longest = table.max(axis=1) if len(densities) else np.zeros(len(candidates.models))
    return _Ranges(table, index.astype(np.int64).ravel(), longest)


def _points(xy: FloatArray) -> npt.NDArray[np.object_]:
    return np.asarray(shapely.points(xy), dtype=object)


def _in_sector(dx: FloatArray, dy: FloatArray, heading: FloatArray, hfov: FloatArray) -> BoolArray:
    bearing = np.degrees(np.arctan2(dx, dy))
    off = np.abs((bearing - heading + 180.0) % 360.0 - 180.0)
    at_pole = (dx == 0) & (dy == 0)
    return np.asarray((off <= hfov / 2.0 + EDGE_EPS_DEG) | (hfov >= 360.0) | at_pole)


class _Occlusion:
    """The buildings' STRtree and which building holds which demand point and which candidate."""

    def __init__(self, buildings: Sequence[Polygon], demand: DemandSet, candidates: CandidateSet) -> None:
        self.tree = STRtree(list(buildings))
        self.count = len(buildings)
        self.point_inside = self._inside(demand.xy)
        self.camera_inside = self._inside(candidates.xy)

    def _inside(self, xy: FloatArray) -> IntArray:
        if len(xy) == 0:
            return np.zeros(0, dtype=np.int64)
        hits = self.tree.query(_points(xy), predicate="intersects")
        return np.sort(hits[0].astype(np.int64) * self.count + hits[1])

    def blocked(self, cams: IntArray, points: IntArray, start: FloatArray, end: FloatArray) -> BoolArray:
        """Which sight lines ``start -> end`` (camera ``cams``, point ``points``) cross a building."""
        delta = end - start
        length = np.hypot(delta[:, 0], delta[:, 1])
        long_enough = np.flatnonzero(length > 2 * SIGHT_MARGIN_M)
        unit = delta[long_enough] / length[long_enough, None]
        a = start[long_enough] + unit * SIGHT_MARGIN_M
        b = end[long_enough] - unit * SIGHT_MARGIN_M
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        line_idx, building = self.tree.query(lines, predicate="intersects")
        pair = long_enough[line_idx]
        own = _member(points[pair] * self.count + building, self.point_inside)
        own |= _member(cams[pair] * self.count + building, self.camera_inside)
        out = np.zeros(len(cams), dtype=bool)
        out[pair[~own]] = True
        return out


def _member(keys: IntArray, sorted_keys: IntArray) -> BoolArray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
    return np.asarray(sorted_keys[at] == keys)


def _chunk_pairs(
    chunk: IntArray, demand: DemandSet, candidates: CandidateSet, tree: STRtree, ranges: _Ranges
) -> tuple[IntArray, IntArray, int]:
    """Candidate and point indices of the pairs in sector and range (buildings ignored), and pairs tested."""
    model = candidates.model[chunk]
    reach = ranges.longest[model]
    cam_pos, point = tree.query(_points(candidates.xy[chunk]), predicate="dwithin", distance=reach)
    cam = chunk[cam_pos]
    dx = demand.xy[point, 0] - candidates.xy[cam, 0]
    dy = demand.xy[point, 1] - candidates.xy[cam, 1]
    hfov = np.array([m.hfov_deg for m in candidates.models])[candidates.model[cam]]
    limit = ranges.table[candidates.model[cam], ranges.density_index[point]]
    keep = (np.hypot(dx, dy) <= limit) & _in_sector(dx, dy, candidates.heading_deg[cam], hfov)
    return cam[keep].astype(np.int64), point[keep].astype(np.int64), len(cam)


def compute_coverage(
    demand: DemandSet,
    candidates: CandidateSet,
    buildings: Sequence[Polygon] | None = None,
    *,
    target_height_m: float = 1.0,
    progress: ProgressFn | None = None,
) -> Coverage:
    """Build the (candidates x demand) visibility matrix.

    Args:
        demand: The points to watch, with the density each needs.
        candidates: The possible camera sites, headings and models.
        buildings: Footprints that block sight lines (metres, the same frame); None or empty for none.
        target_height_m: Height of the watched target above the ground (a person's or a car's middle).
        progress: Called as ``progress(done, total)`` in candidates after each chunk.

    Returns:
        The CSR matrix (uint8, 1 where the candidate sees the point), the number of candidate-point
        pairs examined after the spatial index, the pairs hidden by buildings, and the points inside
        some candidate's sector and range when buildings are ignored.
    """
    n, m = len(demand), len(candidates)
    ranges = _ranges(demand, candidates, target_height_m)
    tree = STRtree(_points(demand.xy)) if n else None
    occlusion = _Occlusion(buildings, demand, candidates) if buildings is not None and len(buildings) else None
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    in_reach = np.zeros(n, dtype=bool)
    tested = blocked = 0
    for start in range(0, m, CHUNK):
        chunk = np.arange(start, min(start + CHUNK, m), dtype=np.int64)
        if tree is not None:
            cam, point, count = _chunk_pairs(chunk, demand, candidates, tree, ranges)
            tested += count
            in_reach[point] = True
            if occlusion is not None and len(cam):
                hidden = occlusion.blocked(cam, point, candidates.xy[cam], demand.xy[point])
                blocked += int(hidden.sum())
                cam, point = cam[~hidden], point[~hidden]
            rows.append(cam)
            cols.append(point)
        if progress is not None:
            progress(int(chunk[-1]) + 1, m)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    matrix = sparse.csr_matrix((np.ones(len(r), dtype=np.uint8), (r, c)), shape=(m, n))
    matrix.sum_duplicates()
    return Coverage(matrix=matrix, pairs_tested=tested, blocked=blocked, in_reach=in_reach)
