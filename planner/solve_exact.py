"""The exact covering integer program (HiGHS), and the split-by-area solve for instances too big for one.

Variables: ``x_j`` binary per candidate (existing cameras fixed to 1, at no cost), ``y_i`` in [0, 1]
per (reduced) demand column, with ``y_i <= sum of x_j over the candidates j that see i``.
Target mode minimises ``sum c_j x_j`` subject to ``sum w_i y_i >= T``; budget mode maximises
``sum w_i y_i`` subject to ``sum c_j x_j <= B``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from planner.model import BoolArray, FloatArray, IntArray, Solution
from planner.solve_greedy import EPS, capped_target, greedy, make_solution, reduce_instance
from planner.solve_local import drop_redundant

MIP_REL_GAP = 1e-6  # HiGHS stops at this relative gap; "optimal" means proven within it


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for a moment: the banner would break the progress bar."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass
class _Run:
    """What HiGHS returned: the x values, its status words, and its objective bound."""

    x: FloatArray | None
    status: str
    optimal: bool
    bound: float | None


def _highs(
    matrix: sparse.csr_matrix,
    weights: FloatArray,
    costs: FloatArray,
    existing: BoolArray,
    goal: float | None,
    budget: float | None,
    time_limit_s: float,
    seed: IntArray | None,
    relax: bool = False,
) -> _Run:
    m, k = matrix.shape
    new_cost = np.where(existing, 0.0, costs)
    point_rows = sparse.hstack([-sparse.csr_matrix(matrix, dtype=np.float64).T, sparse.identity(k)])
    last = np.concatenate([np.zeros(m), weights]) if goal is not None else np.concatenate([new_cost, np.zeros(k)])
    a = sparse.vstack([point_rows, sparse.csr_matrix(last[None, :])]).tocsc()
    a.sort_indices()
    lower = np.concatenate([existing.astype(np.float64), np.zeros(k)])
    row_lower = np.concatenate([np.full(k, -highspy.kHighsInf), [goal if goal is not None else -highspy.kHighsInf]])
    row_upper = np.concatenate([np.zeros(k), [budget if budget is not None else highspy.kHighsInf]])
    target_mode = goal is not None
    cost = np.concatenate([new_cost, np.zeros(k)]) if target_mode else np.concatenate([np.zeros(m), weights])
    integrality = np.concatenate([np.full(m, 0 if relax else 1), np.zeros(k)]).astype(np.int32)
    with _stdout_silenced():  # HiGHS prints a copyright banner from C++ on its first instance
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.1)))
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    h.passModel(
        m + k, k + 1, a.nnz, 1, 1 if target_mode else -1, 0.0,
        cost, lower, np.ones(m + k), row_lower, row_upper,
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(np.float64), integrality,
    )  # fmt: skip
    if seed is not None and not relax:
        values = np.zeros(m + k)
        values[seed] = 1.0
        values[m:] = np.minimum(1.0, np.asarray(matrix[seed].sum(axis=0)).ravel())
        h.setSolution(m + k, np.arange(m + k, dtype=np.int32), values)
    h.run()
    return _read(h, m, relax)


def _read(h: highspy.Highs, m: int, relax: bool) -> _Run:
    model_status = h.getModelStatus()
    info = h.getInfo()
    optimal = model_status == highspy.HighsModelStatus.kOptimal
    feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value[:m], dtype=np.float64) if feasible else None
    if relax:
        bound = float(info.objective_function_value) if optimal else None
    else:
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    return _Run(x, h.modelStatusToString(model_status), optimal, bound)


def exact(
    coverage_matrix: sparse.spmatrix,
    weights: FloatArray,
    costs: FloatArray,
    existing_mask: BoolArray,
    *,
    target: float | None = None,
    budget: float | None = None,
    total_weight: float | None = None,
    time_limit_s: float = 120.0,
    seed: Solution | None = None,
) -> Solution:
    """Solve the covering integer program with HiGHS, started from ``seed`` (default: the greedy answer).

    Returns:
        The best solution found within ``time_limit_s``, with ``bound`` (HiGHS' dual bound: least
        new cost in target mode, most covered weight in budget mode), ``gap`` (0 when proven
        optimal) and HiGHS' ``status``. Never worse than the seed.
    """
    if (target is None) == (budget is None):
        raise ValueError("give exactly one of target or budget")
    started = time.perf_counter()
    matrix = sparse.csr_matrix(coverage_matrix)
    total = float(weights.sum()) if total_weight is None else total_weight
    if seed is None:
        seed = greedy(matrix, weights, costs, existing_mask, target=target, budget=budget, total_weight=total)
    goal, notes = capped_target(matrix, weights, target, total) if target is not None else (None, [])
    goal_for_model = None if goal is None else goal * (1 - EPS)
    run = _highs(matrix, weights, costs, existing_mask, goal_for_model, budget, time_limit_s, seed.chosen)
    chosen = np.flatnonzero(run.x > 0.5) if run.x is not None else seed.chosen
    solution = make_solution("exact", matrix, weights, costs, existing_mask, chosen, total, started)
    if _worse(solution, seed, target is not None):
        solution = make_solution("exact", matrix, weights, costs, existing_mask, seed.chosen, total, started)
    solution.optimal, solution.status, solution.notes = run.optimal, run.status, notes
    solution.bound = solution.cost if run.optimal and target is not None else _rounded(run.bound, costs, target)
    if run.optimal and target is None:
        solution.bound = solution.covered_weight
    solution.gap = 0.0 if run.optimal else _gap(solution, target is not None)
    return solution


def _rounded(bound: float | None, costs: FloatArray, target: float | None) -> float | None:
    """A lower bound on cost rounded up to a whole number when every cost is one (a camera count)."""
    if bound is None or target is None or not np.all(costs == np.round(costs)):
        return bound
    return float(math.ceil(bound - 1e-6))


def _worse(a: Solution, b: Solution, target_mode: bool) -> bool:
    if target_mode:
        return a.cost > b.cost * (1 + EPS)
    return a.covered_weight < b.covered_weight * (1 - EPS)


def _gap(solution: Solution, target_mode: bool) -> float | None:
    if solution.bound is None:
        return None
    if target_mode:
        return max(0.0, (solution.cost - solution.bound) / solution.cost) if solution.cost > 0 else 0.0
    return max(0.0, (solution.bound - solution.covered_weight) / solution.bound) if solution.bound > 0 else 0.0


def solve_split(
    coverage_matrix: sparse.spmatrix,
    weights: FloatArray,
    area: IntArray,
    costs: FloatArray,
    existing_mask: BoolArray,
    *,
    target: float,
    total_weight: float | None = None,
    time_limit_s: float = 120.0,
) -> Solution:
    """Solve each area's own target exactly, take the union, top it up if needed and drop redundant cameras.

    Each area reaching ``target`` of its own weight makes the whole reach it; a camera seeing two
    areas may be chosen for both, which the redundancy pass then removes. The parts' bounds do
    not add up to a global bound, so ``bound`` is the LP relaxation of the whole (when it solves in
    the time left) and a note says so.
    """
    started = time.perf_counter()
    deadline = started + time_limit_s
    matrix = sparse.csr_matrix(coverage_matrix)
    total = float(weights.sum()) if total_weight is None else total_weight
    goal, notes = capped_target(matrix, weights, target, total)
    csc = matrix.tocsc()
    union = existing_mask.copy()
    areas = np.unique(area)
    for a in areas:
        union[
            _solve_area(
                csc, weights, costs, existing_mask, np.flatnonzero(area == a), target, 0.8 * time_limit_s / len(areas)
            )
        ] = True
    chosen = greedy(matrix, weights, costs, union, target=goal / total if total > 0 else 1.0, total_weight=total).chosen
    chosen = drop_redundant(matrix, weights, costs, existing_mask, chosen, goal)
    solution = make_solution("exact-split", matrix, weights, costs, existing_mask, chosen, total, started)
    reduced = reduce_instance(matrix, weights)
    left = max(deadline - time.perf_counter(), 1.0)
    lp = _highs(reduced.matrix, reduced.weight, costs, existing_mask, goal * (1 - EPS), None, left, None, relax=True)
    solution.bound = _rounded(lp.bound, costs, target)
    solution.gap = _gap(solution, target_mode=True)
    solution.status = f"split into {len(areas)} area(s)"
    solution.notes = [
        *notes,
        f"solved as {len(areas)} separate area(s) and stitched: the parts' bounds do not add up to a global one; "
        + ("the bound is the LP relaxation of the whole" if lp.bound is not None else "no global bound in the time"),
    ]
    solution.seconds = time.perf_counter() - started
    return solution


def _solve_area(
    csc: sparse.csc_matrix,
    weights: FloatArray,
    costs: FloatArray,
    existing: BoolArray,
    cols: IntArray,
    target: float,
    time_limit_s: float,
) -> IntArray:
    """The candidates an exact solve picks for one area's columns and its own target share."""
    sub = sparse.csr_matrix(csc[:, cols])
    cands = np.flatnonzero(np.diff(sub.indptr) > 0)
    if len(cands) == 0:
        return np.zeros(0, dtype=np.int64)
    reduced = reduce_instance(sub[cands], weights[cols])
    area_total = float(weights[cols].sum())
    part = exact(
        reduced.matrix, reduced.weight, costs[cands], existing[cands],
        target=target, total_weight=area_total, time_limit_s=max(time_limit_s, 1.0),
    )  # fmt: skip
    return np.asarray(cands[part.chosen], dtype=np.int64)
