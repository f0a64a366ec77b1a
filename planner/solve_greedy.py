"""Instance reduction and the lazy greedy: the fast first answer every plan starts from.

The covering problem is stated on a (candidates x demand) 0/1 matrix ``A``, demand weights ``w``
and candidate costs ``c``. Target mode: the cheapest set whose covered weight reaches a share of
the TOTAL weight; budget mode: the most covered weight for new cameras costing at most the budget.
Existing cameras are always chosen and cost nothing (they are paid for); ``Solution.cost`` is the
cost of the new cameras only.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from planner.model import BoolArray, FloatArray, IntArray, Solution, covered_columns

EPS = 1e-9  # relative slack on weights and costs


@dataclass
class Reduced:
    """A demand side with identical columns merged and uncoverable columns dropped.

    ``column[i]`` is the reduced column of original demand point ``i``, or -1 when no candidate sees it.
    """

    matrix: sparse.csr_matrix  # (candidates, k)
    weight: FloatArray  # (k,)
    column: IntArray  # (n,)


def reduce_instance(matrix: sparse.spmatrix, weights: FloatArray, seed: int = 0) -> Reduced:
    """Merge demand columns seen by exactly the same candidates (summing their weights) and drop unseen ones.

    Columns are grouped by two random 64-bit hashes of their candidate sets and their lengths, so
    two different sets share a group with probability about 2**-128.
    """
    csc = sparse.csc_matrix(matrix, copy=True)
    csc.sort_indices()
    m, n = csc.shape
    lengths = np.diff(csc.indptr)
    seen = np.flatnonzero(lengths > 0)
    column = np.full(n, -1, dtype=np.int64)
    if len(seen) == 0:
        return Reduced(sparse.csr_matrix((m, 0), dtype=np.uint8), np.zeros(0, dtype=np.float64), column)
    rng = np.random.default_rng(seed)
    keys = [lengths[seen].astype(np.uint64)]
    for _ in range(2):
        salt = rng.integers(0, np.iinfo(np.uint64).max, m, dtype=np.uint64, endpoint=True)
        keys.append(np.add.reduceat(salt[csc.indices], csc.indptr[seen]))
    _, first, inverse = np.unique(np.stack(keys, axis=1), axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    column[seen] = inverse
    reduced = sparse.csr_matrix(csc[:, seen[first]], dtype=np.uint8)
    weight = np.bincount(inverse, weights=weights[seen], minlength=len(first)).astype(np.float64)
    return Reduced(reduced, weight, column)


def capped_target(
    matrix: sparse.csr_matrix, weights: FloatArray, target: float, total: float
) -> tuple[float, list[str]]:
    """The weight to reach for ``target`` (a share of ``total``), capped at what all candidates together see."""
    wanted = target * total
    coverable = float(weights[covered_columns(matrix, np.arange(matrix.shape[0]))].sum())
    if wanted <= coverable * (1 + EPS):
        return min(wanted, coverable), []
    share = coverable / total if total > 0 else 0.0
    note = (
        f"target {target:.1%} capped at {share:.1%}: all candidates together see only {share:.1%} of the "
        "weighted demand; the plan covers everything coverable"
    )
    return coverable, [note]


def make_solution(
    solver: str,
    matrix: sparse.csr_matrix,
    weights: FloatArray,
    costs: FloatArray,
    existing: BoolArray,
    chosen: IntArray,
    total: float,
    started: float,
) -> Solution:
    """A :class:`Solution` with its covered weight and new-camera cost worked out from ``chosen``."""
    chosen = np.unique(np.concatenate([np.asarray(chosen, dtype=np.int64), np.flatnonzero(existing)]))
    return Solution(
        solver=solver,
        chosen=chosen,
        covered_weight=float(weights[covered_columns(matrix, chosen)].sum()),
        total_weight=total,
        cost=float(costs[chosen][~existing[chosen]].sum()),
        seconds=time.perf_counter() - started,
    )


def _gain(matrix: sparse.csr_matrix, weights: FloatArray, covered: BoolArray, j: int) -> tuple[float, IntArray]:
    cols = matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]]
    fresh = cols[~covered[cols]]
    return float(weights[fresh].sum()), fresh


def greedy(
    coverage_matrix: sparse.spmatrix,
    weights: FloatArray,
    costs: FloatArray,
    existing_mask: BoolArray,
    *,
    target: float | None = None,
    budget: float | None = None,
    total_weight: float | None = None,
) -> Solution:
    """Lazy greedy by newly covered weight per cost, after the existing cameras.

    Args:
        coverage_matrix: (candidates x demand) 0/1 matrix.
        weights: Demand weights.
        costs: Candidate costs.
        existing_mask: Cameras already installed: always chosen, at no cost.
        target: Share of the total weight to reach (target mode).
        budget: Most new cost to spend (budget mode).
        total_weight: The weight ``target`` is a share of (default: ``weights.sum()``; pass the
            original total when the matrix is a reduced instance).

    Returns:
        The choice; a note says so when the target was above what all candidates can see.
    """
    if (target is None) == (budget is None):
        raise ValueError("give exactly one of target or budget")
    started = time.perf_counter()
    matrix = sparse.csr_matrix(coverage_matrix)
    total = float(weights.sum()) if total_weight is None else total_weight
    notes: list[str] = []
    goal = np.inf
    if target is not None:
        goal, notes = capped_target(matrix, weights, target, total)
    covered = covered_columns(matrix, np.flatnonzero(existing_mask))
    weight_now = float(weights[covered].sum())
    left = np.inf if budget is None else budget
    chosen = np.array(_lazy(matrix, weights, costs, existing_mask, covered, weight_now, goal, left), dtype=np.int64)
    solution = make_solution("greedy", matrix, weights, costs, existing_mask, chosen, total, started)
    if budget is not None:
        solution = _best_single(matrix, weights, costs, existing_mask, budget, total, solution, started)
    solution.notes = notes
    return solution


def _lazy(
    matrix: sparse.csr_matrix,
    weights: FloatArray,
    costs: FloatArray,
    existing: BoolArray,
    covered: BoolArray,
    weight_now: float,
    goal: float,
    left: float,
) -> list[int]:
    """The lazy greedy loop: pop the best stale ratio, refresh it, take it when it still leads."""
    slack = EPS * max(float(weights.sum()), 1.0)
    row_weight = np.asarray(matrix @ weights).ravel()
    heap = [(-row_weight[j] / costs[j], int(j)) for j in np.flatnonzero(~existing & (row_weight > 0))]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and weight_now < goal - slack:
        _, j = heapq.heappop(heap)
        if costs[j] > left * (1 + EPS):
            continue  # the budget only shrinks: it will never fit
        gain, fresh = _gain(matrix, weights, covered, j)
        if gain <= slack:
            continue
        if heap and gain / costs[j] < -heap[0][0] * (1 - EPS):
            heapq.heappush(heap, (-gain / costs[j], j))
            continue
        chosen.append(int(j))
        covered[fresh] = True
        weight_now += gain
        left -= costs[j]
    return chosen


def _best_single(
    matrix: sparse.csr_matrix,
    weights: FloatArray,
    costs: FloatArray,
    existing: BoolArray,
    budget: float,
    total: float,
    solution: Solution,
    started: float,
) -> Solution:
    """The greedy answer, or the one affordable camera that alone covers more (the classic ratio fix)."""
    fresh = ~covered_columns(matrix, np.flatnonzero(existing))
    gains = np.asarray(matrix[:, np.flatnonzero(fresh)] @ weights[fresh]).ravel()
    gains[existing | (costs > budget * (1 + EPS))] = -1.0
    best = int(np.argmax(gains)) if len(gains) else -1
    if best < 0 or float(weights[~fresh].sum()) + gains[best] <= solution.covered_weight * (1 + EPS):
        return solution
    return make_solution("greedy", matrix, weights, costs, existing, np.array([best]), total, started)
