"""The solvers against brute force on small instances, and their promises: existing kept, targets capped, bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from planner.model import CameraModel, CandidateSet, Coverage, DemandSet
from planner.solve import exact, greedy, reduce_instance, solve, solve_split, swap_improve
from planner.spec import ObjectiveSpec, SolverSpec


def _instance(seed: int, m: int = 9, n: int = 18) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = sparse.csr_matrix((rng.random((m, n)) < 0.25).astype(np.uint8))
    return matrix, rng.integers(1, 10, n).astype(float), rng.choice([1.0, 2.0], m)


def _brute_force(
    matrix: sparse.csr_matrix,
    w: np.ndarray,
    c: np.ndarray,
    existing: np.ndarray,
    target: float | None,
    budget: float | None,
) -> float:
    """Least new cost reaching the (capped) target, or most weight within the budget, over every subset."""
    dense = matrix.toarray() > 0
    coverable = w[dense.any(axis=0)].sum()
    goal = min(target * w.sum(), coverable) if target is not None else None
    best = np.inf if target is not None else -np.inf
    free = [j for j in range(len(c)) if not existing[j]]
    for r in range(len(free) + 1):
        for subset in itertools.combinations(free, r):
            pick = list(subset) + list(np.flatnonzero(existing))
            weight = w[dense[pick].any(axis=0)].sum() if pick else 0.0
            cost = c[list(subset)].sum()
            if goal is not None and weight >= goal - 1e-9:
                best = min(best, cost)
            if budget is not None and cost <= budget + 1e-9:
                best = max(best, weight)
    return float(best)


OBJECTIVES = [(0.5, None), (0.8, None), (1.0, None), (None, 2.0), (None, 4.0)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("target", "budget"), OBJECTIVES)
def test_exact_matches_brute_force_and_the_heuristics_never_beat_it(
    seed: int, target: float | None, budget: float | None
) -> None:
    matrix, w, c = _instance(seed)
    existing = np.zeros(len(c), dtype=bool)
    best = _brute_force(matrix, w, c, existing, target, budget)
    first = greedy(matrix, w, c, existing, target=target, budget=budget)
    improved = swap_improve(matrix, w, c, existing, first, target=target, budget=budget)
    answer = exact(matrix, w, c, existing, target=target, budget=budget, time_limit_s=10)
    assert answer.optimal and answer.gap == 0.0
    if target is not None:
        assert answer.cost == pytest.approx(best)
        assert first.cost >= improved.cost >= answer.cost
        assert min(first.covered_weight, improved.covered_weight) >= min(target * w.sum(), answer.covered_weight) - 1e-9
    else:
        assert answer.covered_weight == pytest.approx(best)
        assert first.covered_weight <= improved.covered_weight <= answer.covered_weight + 1e-9
        assert budget is not None and max(first.cost, improved.cost, answer.cost) <= budget


@pytest.mark.parametrize(("target", "budget"), OBJECTIVES)
def test_existing_cameras_are_always_chosen_and_cost_nothing(target: float | None, budget: float | None) -> None:
    matrix, w, c = _instance(11)
    existing = np.zeros(len(c), dtype=bool)
    existing[[0, 3]] = True
    best = _brute_force(matrix, w, c, existing, target, budget)
    first = greedy(matrix, w, c, existing, target=target, budget=budget)
    answers = [first, swap_improve(matrix, w, c, existing, first, target=target, budget=budget)]
    answers.append(exact(matrix, w, c, existing, target=target, budget=budget))
    for answer in answers:
        assert {0, 3} <= set(answer.chosen.tolist())
        assert answer.cost == pytest.approx(c[answer.chosen].sum() - c[[0, 3]].sum())
    assert (answers[-1].cost if target is not None else answers[-1].covered_weight) == pytest.approx(best)


def test_a_target_above_what_all_candidates_see_is_capped_with_a_note() -> None:
    matrix = sparse.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0]], dtype=np.uint8))
    w = np.array([1.0, 1.0, 1.0, 3.0])  # the last point, half the weight, is seen by no one
    for answer in (
        greedy(matrix, w, np.ones(2), np.zeros(2, dtype=bool), target=0.9),
        exact(matrix, w, np.ones(2), np.zeros(2, dtype=bool), target=0.9),
    ):
        assert sorted(answer.chosen.tolist()) == [0, 1]
        assert answer.coverage == pytest.approx(0.5)
        assert any("target 90.0% capped at 50.0%" in note for note in answer.notes)


def test_swaps_drop_a_redundant_camera_and_trade_one_for_a_better_one() -> None:
    # c0 sees points 0-3, c1 sees 0, 1, 4, c2 sees 2, 3, 5: greedy takes c0 first, yet c1 + c2 see everything
    rows = [[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]]
    matrix, w, c, none = sparse.csr_matrix(np.array(rows, dtype=np.uint8)), np.ones(6), np.ones(3), np.zeros(3, bool)
    first = greedy(matrix, w, c, none, target=1.0)
    assert first.cost == 3
    assert sorted(swap_improve(matrix, w, c, none, first, target=1.0).chosen.tolist()) == [1, 2]
    first = greedy(matrix, w, c, none, budget=2)
    assert first.covered_weight == 5
    improved = swap_improve(matrix, w, c, none, first, budget=2)
    assert (sorted(improved.chosen.tolist()), improved.covered_weight) == ([1, 2], 6)


def test_reduction_merges_identical_columns_drops_unseen_ones_and_keeps_the_optimum() -> None:
    matrix = sparse.csr_matrix(np.array([[1, 0, 1, 0, 1], [0, 1, 0, 0, 1], [1, 1, 1, 0, 0]], dtype=np.uint8))
    reduced = reduce_instance(matrix, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert reduced.column[3] == -1 and reduced.column[0] == reduced.column[2]
    assert len({*reduced.column.tolist()} - {-1}) == reduced.matrix.shape[1] == 3
    assert reduced.weight[reduced.column[0]] == 4.0  # 1 + 3
    for seed in range(4):
        matrix, w, c = _instance(seed, m=12, n=60)
        small = reduce_instance(matrix, w)
        assert small.matrix.shape[1] < 60
        none = np.zeros(12, dtype=bool)
        whole = exact(matrix, w, c, none, target=0.9)
        part = exact(small.matrix, small.weight, c, none, target=0.9, total_weight=w.sum())
        assert part.cost == whole.cost and part.coverage >= 0.9 - 1e-9


def _areas_instance() -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Three areas along a line, candidates seeing nearby points (some across an area's edge)."""
    rng = np.random.default_rng(5)
    points, cams = np.sort(rng.uniform(0, 300, 240)), rng.uniform(0, 300, 120)
    dense = (np.abs(cams[:, None] - points[None, :]) < rng.uniform(5, 25, (120, 1))) & (rng.random((120, 240)) < 0.8)
    return (
        sparse.csr_matrix(dense.astype(np.uint8)),
        rng.uniform(1, 3, 240),
        (points // 100).astype(np.int64),
        np.ones(120),
    )


def test_the_split_solve_reaches_the_target_and_its_bound_is_below_its_cost() -> None:
    matrix, w, area, c = _areas_instance()
    none = np.zeros(len(c), dtype=bool)
    split = solve_split(matrix, w, area, c, none, target=0.8, time_limit_s=20)
    whole = exact(matrix, w, c, none, target=0.8)
    assert split.coverage >= 0.8 - 1e-9
    assert split.bound is not None and split.bound <= whole.cost + 1e-6 <= split.cost + 1e-6
    assert any("3 separate area(s) and stitched" in note for note in split.notes)


def _plan_inputs() -> tuple[Coverage, DemandSet, CandidateSet]:
    matrix, w, area, _ = _areas_instance()
    m, n = matrix.shape
    demand = DemandSet(
        np.zeros((n, 2)), w, np.zeros(n, dtype=np.int64), ["road"], np.full(n, 25.0), area, ["a", "b", "c"]
    )
    model = CameraModel("bullet", 1920, 1080, 90.0, 6.0, bitrate_kbps=4096.0)
    candidates = CandidateSet(
        np.zeros((m, 2)), np.zeros(m), np.zeros(m, dtype=np.int64), [model], np.arange(m), np.zeros(m, dtype=bool)
    )
    return Coverage(matrix, matrix.nnz, 0, np.ones(n, dtype=bool)), demand, candidates


@pytest.mark.parametrize(
    ("method", "split_above", "solvers"),
    [
        ("greedy", 400_000, ["greedy+swap", "greedy"]),
        ("exact", 1000, ["exact", "greedy", "greedy+swap"]),  # exact never splits
        ("auto", 400_000, ["exact", "greedy", "greedy+swap"]),
        ("auto", 1000, ["exact-split", "greedy", "greedy+swap"]),  # the reduced matrix has well over 1,000 pairs
    ],
)
def test_solve_runs_the_solvers_the_method_asks_for(method: str, split_above: int, solvers: list[str]) -> None:
    stages: list[str] = []
    best, others = solve(
        *_plan_inputs(),
        SolverSpec(method=method, split_above=split_above, time_limit_s=20),  # type: ignore[arg-type]
        ObjectiveSpec(target=0.8),
        progress=lambda stage, _fraction: stages.append(stage),
    )
    assert {best.solver, *(s.solver for s in others)} == set(solvers)
    assert best.coverage >= 0.8 - 1e-9 and all(best.cost <= s.cost for s in others)
    assert stages[0] == "reduce" and stages[-1] == "done"


def test_solve_with_a_budget_spends_at_most_the_budget() -> None:
    best, others = solve(*_plan_inputs(), SolverSpec(time_limit_s=20), ObjectiveSpec(budget=5))
    assert best.solver == "exact" and best.cost <= 5 and best.optimal
    assert all(s.covered_weight <= best.covered_weight + 1e-9 for s in others)
