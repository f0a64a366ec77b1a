"""A finished plan: everything the report, the GeoJSON and the API answer are written from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

from planner.model import CandidateSet, Coverage, DemandSet, Solution

if TYPE_CHECKING:
    from planner.geo import LocalFrame
    from planner.sizing import Sizing


@dataclass
class PlanResult:
    name: str
    frame: LocalFrame
    demand: DemandSet
    candidates: CandidateSet
    coverage: Coverage
    solution: Solution  # the answer the plan gives
    alternatives: list[Solution]  # the other solvers' answers, shown beside it (greedy beside exact)
    areas: list[tuple[str, BaseGeometry]]  # reporting polygons in metres, named (kelurahan)
    sizing: Sizing
    objective: str  # "target 95%" or "budget 40 cameras", for the report
    seconds: dict[str, float] = field(default_factory=dict)  # stage timings: load, coverage, solve, report
    notes: list[str] = field(default_factory=list)
    roads: list[BaseGeometry] = field(default_factory=list)  # in metres; drawn on the map when given
    buildings: list[BaseGeometry] = field(default_factory=list)  # in metres; drawn on the map when given
