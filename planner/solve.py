"""Choosing cameras: greedy and local search first, then the exact integer program (whole, or split by area).

The functions live in :mod:`planner.solve_greedy` (reduction, greedy), :mod:`planner.solve_local`
(local search) and :mod:`planner.solve_exact` (HiGHS); :func:`solve` runs them as the plan asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from planner.model import CandidateSet, Coverage, DemandSet, FloatArray, Solution
from planner.solve_exact import exact, solve_split
from planner.solve_greedy import Reduced, greedy, reduce_instance
from planner.solve_local import drop_redundant, swap_improve
from planner.spec import ObjectiveSpec, SolverSpec

__all__ = [
    "Reduced",
    "drop_redundant",
    "exact",
    "greedy",
    "reduce_instance",
    "solve",
    "solve_split",
    "swap_improve",
]

SolveProgress = Callable[[str, float], None]
SWAP_SHARE = 0.1  # of the time limit given to the local search
SWAP_MOST_S = 30.0


def candidate_costs(candidates: CandidateSet) -> FloatArray:
    """Each candidate's cost, from its camera model."""
    per_model = np.array([model.cost for model in candidates.models], dtype=np.float64)
    return np.asarray(per_model[candidates.model], dtype=np.float64)


def solve(
    coverage: Coverage,
    demand: DemandSet,
    candidates: CandidateSet,
    solver_spec: SolverSpec,
    objective: ObjectiveSpec,
    *,
    progress: SolveProgress | None = None,
) -> tuple[Solution, list[Solution]]:
    """Answer the plan's question on its coverage matrix.

    ``greedy`` runs the greedy (and the local search when ``swap``); ``exact`` also solves the
    integer program on the whole reduced instance; ``auto`` does the same but splits by area when
    the reduced matrix has more than ``split_above`` nonzeros (candidate-point pairs; target mode only).

    Returns:
        The best answer and the others (greedy, greedy+swap), each with its figures.
    """
    report = progress or (lambda _stage, _fraction: None)
    started = time.perf_counter()
    target, budget = objective.target, objective.budget
    costs, existing = candidate_costs(candidates), candidates.existing
    total = float(demand.weight.sum())
    report("reduce", 0.0)
    reduced = reduce_instance(coverage.matrix, demand.weight)
    args = (reduced.matrix, reduced.weight, costs, existing)
    report("greedy", 0.05)
    answers = [greedy(*args, target=target, budget=budget, total_weight=total)]
    if solver_spec.swap:
        report("swap", 0.15)
        limit = min(SWAP_SHARE * solver_spec.time_limit_s, SWAP_MOST_S)
        answers.append(
            swap_improve(*args, answers[0], target=target, budget=budget, total_weight=total, time_limit_s=limit)
        )
    if solver_spec.method != "greedy":
        left = max(solver_spec.time_limit_s - (time.perf_counter() - started), 1.0)
        seed = _best(answers, target is not None)
        if solver_spec.method == "auto" and target is not None and reduced.matrix.nnz > solver_spec.split_above:
            report("split", 0.3)
            answers.append(
                solve_split(
                    coverage.matrix, demand.weight, demand.area, costs, existing,
                    target=target, total_weight=total, time_limit_s=left,
                )
            )  # fmt: skip
        else:
            report("exact", 0.3)
            answers.append(exact(*args, target=target, budget=budget, total_weight=total, time_limit_s=left, seed=seed))
    report("done", 1.0)
    best = _best(answers, target is not None)
    return best, [s for s in answers if s is not best]


def _best(answers: list[Solution], target_mode: bool) -> Solution:
    """The cheapest answer (target mode) or the most covering one (budget mode); later solvers win ties."""
    if target_mode:
        return min(reversed(answers), key=lambda s: (s.cost, -s.covered_weight))
    return max(reversed(answers), key=lambda s: (s.covered_weight, -s.cost))
