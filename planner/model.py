"""The planner's typed containers: demand points, candidate sites, camera models and the coverage matrix.

Every geometry here is in metres, in one local projected frame (``planner.geo.LocalFrame``); the
frame converts to and from WGS84 only at the edges (loading sources, writing GeoJSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class DensityLevel(StrEnum):
    """EN 62676-4 pixel density levels (pixels per metre at the target)."""

    monitor = "monitor"
    detect = "detect"
    observe = "observe"
    recognise = "recognise"
    identify = "identify"


PIXELS_PER_METRE: dict[DensityLevel, float] = {
    DensityLevel.monitor: 12.5,
    DensityLevel.detect: 25.0,
    DensityLevel.observe: 62.5,
    DensityLevel.recognise: 125.0,
    DensityLevel.identify: 250.0,
}


@dataclass(frozen=True)
class CameraModel:
    """One camera product a plan may place."""

    name: str
    sensor_px_w: int  # horizontal pixels of the recorded stream
    sensor_px_h: int
    hfov_deg: float  # horizontal field of view of the lens as installed
    mount_height_m: float
    bitrate_kbps: float  # main (recording) stream
    fps: float = 15.0
    cost: float = 1.0  # in the plan's currency unit; 1.0 makes "budget" a camera count
    substream_kbps: float = 0.0  # a detect / live sub-stream, if the site sends one too


@dataclass
class DemandSet:
    """Points that must be watched, each with a weight, a class and the density it needs.

    ``area`` indexes ``area_names`` (the kelurahan or polygon a point lies in; -1 outside all).
    ``klass`` indexes ``class_names`` (``road``, ``market``, ``school``, ``area``...).
    """

    xy: FloatArray  # (n, 2) metres
    weight: FloatArray  # (n,)
    klass: IntArray  # (n,)
    class_names: list[str]
    required_ppm: FloatArray  # (n,) pixels per metre this point needs
    area: IntArray  # (n,)
    area_names: list[str]
    label: list[str] = field(default_factory=list)  # optional per-point name (a POI's NAMOBJ), or empty
    notes: list[str] = field(default_factory=list)  # what was left out while building it (an empty layer)

    def __len__(self) -> int:
        return int(self.xy.shape[0])


@dataclass
class CandidateSet:
    """Possible camera sites: a pole position, a heading and a camera model.

    Several candidates share one ``pole`` (the same position with other headings or models).
    ``existing`` marks cameras already installed: a plan always keeps them.
    """

    xy: FloatArray  # (m, 2) metres
    heading_deg: FloatArray  # (m,) compass bearing the camera looks along, 0 = north, 90 = east
    model: IntArray  # (m,) index into ``models``
    models: list[CameraModel]
    pole: IntArray  # (m,)
    existing: BoolArray  # (m,)
    name: list[str] = field(default_factory=list)  # existing cameras' ids; empty for new sites

    def __len__(self) -> int:
        return int(self.xy.shape[0])


@dataclass
class Coverage:
    """Which candidate sees which demand point: a sparse (candidates x demand) 0/1 matrix in CSR."""

    matrix: sparse.csr_matrix
    pairs_tested: int  # candidate-point pairs examined after the spatial index (for throughput figures)
    blocked: int  # pairs inside sector and range but hidden by a building
    in_reach: BoolArray  # (n,) demand points inside some candidate's sector and range, buildings ignored

    def covered_by(self, chosen: IntArray) -> BoolArray:
        """Demand points seen by at least one chosen candidate."""
        return covered_columns(self.matrix, chosen)


def covered_columns(matrix: sparse.csr_matrix, chosen: IntArray) -> BoolArray:
    """Columns (demand points) of a (candidates x demand) CSR matrix seen by at least one of ``chosen``."""
    out = np.zeros(matrix.shape[1], dtype=bool)
    if len(chosen):
        rows = matrix[np.asarray(chosen)]
        out[rows.indices[rows.data != 0]] = True
    return out


@dataclass
class Solution:
    """A solver's choice of candidates, with its quality figures."""

    solver: str  # "greedy", "greedy+swap", "exact", "exact-split"
    chosen: IntArray  # candidate indices, existing cameras included
    covered_weight: float
    total_weight: float
    cost: float
    seconds: float
    optimal: bool = False
    bound: float | None = None  # the solver's proven bound on the objective (cameras or weight)
    gap: float | None = None  # relative gap between the answer and the bound; 0 means proven optimal
    status: str = ""  # the solver's own status words, for the report
    notes: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0
