"""Local search after the greedy: drop redundant cameras, swap two for one, or one for a better one."""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from planner.model import BoolArray, FloatArray, IntArray, Solution
from planner.solve_greedy import EPS, capped_target, make_solution


class _State:
    """The chosen set and how many chosen cameras see each demand column."""

    def __init__(self, matrix: sparse.csr_matrix, weights: FloatArray, chosen: IntArray) -> None:
        self.matrix = matrix
        self.csc = matrix.tocsc()
        self.weights = weights
        self.on = np.zeros(matrix.shape[0], dtype=bool)
        self.on[chosen] = True
        self.count = np.bincount(matrix[chosen].indices, minlength=matrix.shape[1]).astype(np.int64)
        self.weight = float(weights[self.count > 0].sum())

    def cols(self, j: int) -> IntArray:
        return np.asarray(self.matrix.indices[self.matrix.indptr[j] : self.matrix.indptr[j + 1]])

    def loss(self, drop: list[int]) -> tuple[float, IntArray]:
        """Weight lost, and the columns that go unseen, when the cameras ``drop`` are removed."""
        cols = np.concatenate([self.cols(j) for j in drop])
        uniq, times = np.unique(cols, return_counts=True)
        lost = uniq[self.count[uniq] == times]
        return float(self.weights[lost].sum()), lost

    def toggle(self, j: int, on: bool) -> None:
        cols = self.cols(j)
        self.count[cols] += 1 if on else -1
        self.on[j] = on
        self.weight = float(self.weights[self.count > 0].sum())


def swap_improve(
    coverage_matrix: sparse.spmatrix,
    weights: FloatArray,
    costs: FloatArray,
    existing_mask: BoolArray,
    start: Solution,
    *,
    target: float | None = None,
    budget: float | None = None,
    total_weight: float | None = None,
    time_limit_s: float = 10.0,
) -> Solution:
    """Improve ``start`` by local moves within ``time_limit_s``.

    Target mode: remove cameras the target does not need (the dearest first), then replace pairs
    of neighbouring cameras by one cheaper camera while the target still holds. Budget mode:
    one-for-one swaps that raise the covered weight and fit the budget, then fill what budget is left.

    Returns:
        A new solution named ``greedy+swap`` (the start's notes kept); never worse than ``start``.
    """
    if (target is None) == (budget is None):
        raise ValueError("give exactly one of target or budget")
    started = time.perf_counter()
    deadline = started + time_limit_s
    matrix = sparse.csr_matrix(coverage_matrix)
    total = float(weights.sum()) if total_weight is None else total_weight
    state = _State(matrix, weights, start.chosen)
    if target is not None:
        goal, _ = capped_target(matrix, weights, target, total)
        slack = EPS * max(total, 1.0)
        _drop_redundant(state, costs, existing_mask, goal - slack)
        while time.perf_counter() < deadline and _two_for_one(state, costs, existing_mask, goal - slack, deadline):
            _drop_redundant(state, costs, existing_mask, goal - slack)
    else:
        assert budget is not None
        while time.perf_counter() < deadline and _one_for_one(state, costs, existing_mask, budget, deadline):
            pass
        _fill(state, costs, existing_mask, budget)
    solution = make_solution(
        "greedy+swap", matrix, weights, costs, existing_mask, np.flatnonzero(state.on), total, started
    )
    solution.notes = list(start.notes)
    return solution


def drop_redundant(
    coverage_matrix: sparse.spmatrix,
    weights: FloatArray,
    costs: FloatArray,
    existing_mask: BoolArray,
    chosen: IntArray,
    goal: float,
) -> IntArray:
    """``chosen`` less the new cameras that covered weight ``goal`` does not need, dearest first."""
    state = _State(sparse.csr_matrix(coverage_matrix), weights, chosen)
    _drop_redundant(state, costs, existing_mask, goal * (1 - EPS))
    return np.flatnonzero(state.on)


def _drop_redundant(state: _State, costs: FloatArray, existing: BoolArray, goal: float) -> None:
    """Remove chosen new cameras, dearest and least useful first, while the goal still holds."""
    removable = np.flatnonzero(state.on & ~existing)
    order = sorted(removable, key=lambda j: (-costs[j], state.loss([int(j)])[0]))
    for j in order:
        loss, _ = state.loss([int(j)])
        if state.weight - loss >= goal:
            state.toggle(int(j), on=False)


def _neighbour_pairs(state: _State, existing: BoolArray) -> list[tuple[int, int]]:
    """Pairs of chosen new cameras that some single candidate could both stand in for (it sees points of each)."""
    chosen = np.flatnonzero(state.on & ~existing)
    ones = state.matrix.astype(np.int32)
    sees = ((ones[chosen] @ ones.T) > 0).astype(np.int32)  # chosen x candidates
    near = (sees @ sees.T).tocoo()
    return [(int(chosen[a]), int(chosen[b])) for a, b in zip(near.row, near.col, strict=True) if a < b]


def _two_for_one(state: _State, costs: FloatArray, existing: BoolArray, goal: float, deadline: float) -> bool:
    """Apply the first pair-for-one replacement that saves cost and keeps the goal; False when none is found."""
    for a, b in _neighbour_pairs(state, existing):
        if time.perf_counter() > deadline:
            return False
        loss, lost = state.loss([a, b])
        if len(lost) == 0:
            continue
        gains = np.asarray(state.csc[:, lost] @ state.weights[lost]).ravel()
        fits = (~state.on) & (costs < (costs[a] + costs[b]) * (1 - EPS)) & (state.weight - loss + gains >= goal)
        if fits.any():
            options = np.flatnonzero(fits)
            c = int(options[np.argmin(costs[options] - gains[options] * EPS)])
            state.toggle(a, on=False)
            state.toggle(b, on=False)
            state.toggle(c, on=True)
            return True
    return False


def _one_for_one(state: _State, costs: FloatArray, existing: BoolArray, budget: float, deadline: float) -> bool:
    """Apply the first one-for-one swap that raises the covered weight within the budget."""
    spent = float(costs[state.on & ~existing].sum())
    unseen = state.count == 0
    base = np.asarray(state.csc[:, np.flatnonzero(unseen)] @ state.weights[unseen]).ravel()
    for a in np.flatnonzero(state.on & ~existing):
        if time.perf_counter() > deadline:
            return False
        loss, lost = state.loss([int(a)])
        gains = base + np.asarray(state.csc[:, lost] @ state.weights[lost]).ravel()
        fits = (~state.on) & (costs <= (budget - spent + costs[a]) * (1 + EPS)) & ~existing
        gains[~fits] = -np.inf
        c = int(np.argmax(gains))
        if gains[c] - loss > EPS * max(state.weight, 1.0):
            state.toggle(int(a), on=False)
            state.toggle(c, on=True)
            return True
    return False


def _fill(state: _State, costs: FloatArray, existing: BoolArray, budget: float) -> None:
    """Add the best affordable camera while any adds weight (a swap to a cheaper camera may leave money)."""
    while len(costs):
        left = budget - float(costs[state.on & ~existing].sum())
        unseen = state.count == 0
        gains = np.asarray(state.csc[:, np.flatnonzero(unseen)] @ state.weights[unseen]).ravel()
        gains[state.on | (costs > left * (1 + EPS))] = 0.0
        c = int(np.argmax(gains / costs))
        if gains[c] <= EPS * max(state.weight, 1.0):
            return
        state.toggle(c, on=True)
