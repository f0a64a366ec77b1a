"""Coverage planner speed and answer quality on synthetic cities of growing size.

    python -m bench.planner [--sizes 2k,20k] [--time-limit 120] [--target 0.95] [--seed 2026]

A city is a street grid of square blocks (120 m, rotated 20 degrees off north), each block built
up with four footprints behind a 6 m half-street. Demand: points along every street centre line
every 2 m (``detect``, 25 px/m, weight 1) and one point of interest per block, 3 m inside a
footprint's street face, in the alley between footprints or deep in the block (``observe``,
62.5 px/m, weight 10). Candidates: a pole every 40 m along the streets (the crossings and twice
between, each moved up to 10 m along the street) with four headings each (along the street both
ways and across it, turned up to 15 degrees), one 2560 px 90-degree camera on a 6 m pole. Sizes ``2k`` and ``20k`` are
about 2,000 candidates x 10,000 points and 20,000 x 100,000; ``small`` (about 400 x 2,400) is the
test's. The demand is split into kelurahan tiles of about four blocks a side.

For each size: the coverage matrix (seconds, candidate-point pairs examined per second, pairs
hidden by buildings), then the solvers on the same reduced instance: greedy, greedy with local
search, the HiGHS integer program within the time limit (seeded with the better heuristic
answer), and the split solve (each kelurahan's integer program on its own, stitched, redundant
cameras dropped; its gap is against the whole's LP relaxation), all for the same target share
of weighted demand. Each answer's camera count is printed as a ratio to the integer program's
proven lower bound from the same run (the baseline, 1.00x): a ratio of 1.05x is at most 5% above
the optimum. Seconds are for orientation only.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from shapely import Polygon, box
from shapely.affinity import rotate

from planner.coverage import compute_coverage
from planner.model import CameraModel, CandidateSet, Coverage, DemandSet, Solution
from planner.solve import exact, greedy, reduce_instance, solve_split, swap_improve

BLOCK_M = 120.0
HALF_STREET_M = 6.0
POLE_EVERY_M = 40.0
DEMAND_EVERY_M = 2.0
ROTATION_DEG = 20.0
POI_WEIGHT = 10.0
POLE_JITTER_M = 10.0  # along the street
HEADING_JITTER_DEG = 15.0
SIZES = {"small": 4, "2k": 9, "20k": 28}  # blocks along each side
CAMERA = CameraModel("bullet-4mp", 2560, 1440, 90.0, 6.0, bitrate_kbps=4096.0)


def _progress(message: str) -> None:
    print(f"planner bench: {message}", file=sys.stderr, flush=True)


@dataclass
class City:
    blocks: int
    demand: DemandSet
    candidates: CandidateSet
    buildings: list[Polygon]


def _rotate(xy: np.ndarray) -> np.ndarray:
    """Points turned clockwise by ``ROTATION_DEG`` about the origin (compass sense, like the headings)."""
    a = math.radians(ROTATION_DEG)
    x, y = xy[:, 0], xy[:, 1]
    return np.stack([x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)], axis=1)


def _streets(blocks: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` metres along the grid's centre lines, and whether each lies on a north-south street."""
    side = blocks * BLOCK_M
    along = np.arange(0.0, side + 1e-9, step)
    lines = np.arange(blocks + 1) * BLOCK_M
    ns = np.stack(np.meshgrid(lines, along), axis=-1).reshape(-1, 2)
    ew = np.stack(np.meshgrid(along, lines), axis=-1).reshape(-1, 2)
    ew = ew[~np.isin(ew[:, 0], lines)]  # crossings once, as north-south points
    return np.concatenate([ns, ew]), np.concatenate([np.ones(len(ns), bool), np.zeros(len(ew), bool)])


def _buildings(blocks: int) -> list[Polygon]:
    half, lot = HALF_STREET_M, (BLOCK_M - 2 * HALF_STREET_M - 4.0) / 2
    out = []
    for i in range(blocks):
        for j in range(blocks):
            x0, y0 = i * BLOCK_M + half, j * BLOCK_M + half
            for dx in (0.0, lot + 4.0):
                for dy in (0.0, lot + 4.0):
                    out.append(
                        rotate(box(x0 + dx, y0 + dy, x0 + dx + lot, y0 + dy + lot), -ROTATION_DEG, origin=(0, 0))
                    )
    return out


def _pois(blocks: int, rng: np.random.Generator) -> np.ndarray:
    """One point of interest per block: on a footprint's street face, in an alley, or deep inside."""
    count = blocks * blocks
    corner = np.stack([np.arange(count) // blocks, np.arange(count) % blocks], axis=1) * BLOCK_M
    offset = rng.uniform(HALF_STREET_M + 3.0, BLOCK_M - HALF_STREET_M - 3.0, (count, 2))
    kind = rng.choice(3, count, p=[0.5, 0.4, 0.1])
    offset[kind == 0, 0] = HALF_STREET_M + 3.0  # 3 m behind a street face
    offset[kind == 1, 0] = BLOCK_M / 2  # in the alley between the footprints
    return corner + offset


def make_city(blocks: int, seed: int = 2026) -> City:
    """A ``blocks`` x ``blocks`` street grid with its demand, candidates and building footprints."""
    rng = np.random.default_rng(seed)
    road, _ = _streets(blocks, DEMAND_EVERY_M)
    pois = _pois(blocks, rng)
    xy = _rotate(np.concatenate([road, pois]))
    n, poi = len(xy), np.arange(len(xy)) >= len(road)
    tiles = max(1, blocks // 4)  # kelurahan: tiles of about four blocks a side
    cell = np.clip((np.concatenate([road, pois]) // (BLOCK_M * blocks / tiles)).astype(np.int64), 0, tiles - 1)
    demand = DemandSet(
        xy=xy,
        weight=np.where(poi, POI_WEIGHT, 1.0),
        klass=poi.astype(np.int64),
        class_names=["road", "poi"],
        required_ppm=np.where(poi, 62.5, 25.0),
        area=cell[:, 0] * tiles + cell[:, 1],
        area_names=[f"kelurahan {k + 1}" for k in range(tiles * tiles)],
    )
    poles, north_south = _streets(blocks, POLE_EVERY_M)
    shift = rng.uniform(-POLE_JITTER_M, POLE_JITTER_M, len(poles))  # sites are where a pole can stand
    poles = poles + np.where(north_south[:, None], [[0.0, 1.0]], [[1.0, 0.0]]) * shift[:, None]
    base = (
        np.where(north_south, 0.0, 90.0)
        + ROTATION_DEG
        + rng.uniform(-HEADING_JITTER_DEG, HEADING_JITTER_DEG, len(poles))
    )
    headings = (base[:, None] + np.array([0.0, 180.0, 90.0, 270.0])[None, :]) % 360.0
    m = len(poles) * 4
    candidates = CandidateSet(
        xy=np.repeat(_rotate(poles), 4, axis=0),
        heading_deg=headings.ravel(),
        model=np.zeros(m, dtype=np.int64),
        models=[CAMERA],
        pole=np.repeat(np.arange(len(poles)), 4),
        existing=np.zeros(m, dtype=bool),
    )
    assert n == len(demand)
    return City(blocks, demand, candidates, _buildings(blocks))


@dataclass
class SizeResult:
    name: str
    city: City
    coverage: Coverage
    coverage_s: float
    columns: int
    target: float
    time_limit_s: float
    answers: list[Solution] = field(default_factory=list)

    @property
    def bound(self) -> float | None:
        return next((s.bound for s in self.answers if s.solver == "exact"), None)


def bench_size(name: str, blocks: int, target: float, time_limit_s: float, seed: int = 2026) -> SizeResult:
    """Build one city, compute its coverage and run the three solvers on it."""
    _progress(f"{name}: building a {blocks} x {blocks} block city")
    city = make_city(blocks, seed)
    _progress(f"{name}: coverage of {len(city.candidates):,} candidates x {len(city.demand):,} points")
    started = time.perf_counter()
    coverage = compute_coverage(city.demand, city.candidates, city.buildings)
    coverage_s = time.perf_counter() - started
    reduced = reduce_instance(coverage.matrix, city.demand.weight)
    args = (reduced.matrix, reduced.weight, np.ones(len(city.candidates)), city.candidates.existing)
    total = float(city.demand.weight.sum())
    result = SizeResult(name, city, coverage, coverage_s, reduced.matrix.shape[1], target, time_limit_s)
    _progress(f"{name}: greedy and local search on {reduced.matrix.shape[1]:,} reduced columns")
    first = greedy(*args, target=target, total_weight=total)
    swapped = swap_improve(*args, first, target=target, total_weight=total, time_limit_s=min(30.0, time_limit_s / 4))
    _progress(f"{name}: integer program, at most {time_limit_s:g} s")
    seed_answer = min(first, swapped, key=lambda s: s.cost)
    whole = exact(*args, target=target, total_weight=total, time_limit_s=time_limit_s, seed=seed_answer)
    _progress(f"{name}: split by kelurahan, at most {time_limit_s:g} s")
    demand = city.demand
    split = solve_split(
        coverage.matrix, demand.weight, demand.area, args[2], args[3], target=target, time_limit_s=time_limit_s
    )
    result.answers = [first, swapped, whole, split]
    return result


def _coverable(result: SizeResult) -> float:
    seen = np.asarray(result.coverage.matrix.sum(axis=0)).ravel() > 0
    weight = result.city.demand.weight
    return float(weight[seen].sum() / weight.sum())


def print_table(result: SizeResult) -> None:
    """One size's figures: the coverage computation, then each solver's cameras against the bound."""
    cov, city = result.coverage, result.city
    print(
        f"\nplanner, {result.name}: {city.blocks} x {city.blocks} blocks, {len(city.candidates):,} candidates x "
        f"{len(city.demand):,} demand points ({result.columns:,} after reduction), {len(city.buildings):,} buildings, "
        f"target {result.target:.0%}"
    )
    print(
        f"coverage: {result.coverage_s:.2f} s, {cov.pairs_tested:,} pairs tested, "
        f"{cov.pairs_tested / max(result.coverage_s, 1e-9) / 1e6:.2f} M pairs/s, {cov.matrix.nnz:,} seen, "
        f"{cov.blocked:,} blocked by buildings; all candidates together see {_coverable(result):.1%} of the weight"
    )
    print("  ratio: cameras / the integer program's lower bound (same run; 1.00x is proven optimal)")
    print(f"{'solver':14} {'cameras':>8} {'seconds':>8} {'coverage':>9} {'gap':>7} {'vs bound':>9}  status")
    bound = result.bound
    for s in result.answers:
        ratio = f"{s.cost / bound:8.3f}x" if bound else "       -"
        gap = f"{s.gap:7.2%}" if s.gap is not None else "      -"
        print(f"{s.solver:14} {s.cost:8.0f} {s.seconds:8.2f} {s.coverage:9.2%} {gap} {ratio}  {s.status}")
    for note in sorted({note for s in result.answers for note in s.notes}):
        print(f"  note: {note}")
    if bound is not None:
        print(f"{'bound':14} {bound:8.1f} {'':>8} {'':>9} {'':>7} {1.0:8.3f}x  baseline")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="2k,20k", help=f"comma-separated sizes among {', '.join(SIZES)} (default 2k,20k)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="seconds for the integer program per size (default 120)"
    )
    parser.add_argument("--target", type=float, default=0.95, help="share of weighted demand to cover (default 0.95)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the points of interest")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not sizes:
        parser.error(f"unknown size(s) {unknown}: choose among {', '.join(SIZES)}")
    if not 0 < args.target <= 1 or args.time_limit <= 0:
        parser.error("--target must be in (0, 1] and --time-limit positive")
    for name in sizes:
        print_table(bench_size(name, SIZES[name], args.target, args.time_limit, args.seed))


if __name__ == "__main__":
    main()
