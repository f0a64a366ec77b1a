"""The camera configuration schema (``camera_config.yaml``): strict, typed, frozen.

Global ``defaults`` hold the detect / record / stream sections; each camera may override any of
their keys. :mod:`core.config_loader` merges the two, validates, and reports errors with the
YAML key path and line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from core.incident_config import (
    DEFAULT_AGENCIES,
    DEFAULT_ROUTING,
    AgencyCode,
    CorrelationConfig,
    IncidentsConfig,
    RoutingRule,
    SlaConfig,
    WebhooksConfig,
    check_routing,
)
from core.redact import redact_url

Role = Literal["detect", "record", "live"]
ZoneKind = Literal["road", "sidewalk", "dumping", "no_stopping", "waterway", "other"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=1, max_length=64)]
Point = tuple[float, float]

VEHICLE_CLASSES: tuple[str, ...] = ("bicycle", "car", "motorcycle", "bus", "truck")


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors and values never change after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectConfig(StrictModel):
    """How often and with which model a camera's frames are analysed."""

    fps: float = Field(default=5.0, gt=0, le=30, description="Frames per second handed to analytics.")
    model: str = Field(default="yolo11n-int8-openvino", description="Model name in models/manifest.yaml.")
    imgsz: int = Field(default=640, ge=160, le=1280, multiple_of=32, description="Detector input size.")
    confidence: float = Field(default=0.3, gt=0, lt=1, description="Minimum detection confidence.")
    max_width: int = Field(default=1280, ge=160, description="Frames wider than this are scaled down before analytics.")
    motion_gating: bool = Field(
        default=True, description="Skip the detector on frames where nothing moved (the last detections hold)."
    )
    motion_min_changed: float = Field(
        default=0.002, ge=0, le=1, description="Share of pixels that must change for a frame to count as moving."
    )
    motion_max_skip_s: float = Field(
        default=5.0, gt=0, le=300, description="The detector runs at least this often, moving or not."
    )


class RollConfig(StrictModel):
    """Clip length around one kind of event."""

    pre_roll_s: float = Field(ge=0, le=60, description="Seconds of clip before the event.")
    post_roll_s: float = Field(ge=0, le=120, description="Seconds of clip after the event.")


class RecordConfig(StrictModel):
    """How much encoded video is kept, how long incident clips are, and continuous recording."""

    pre_roll_s: float = Field(default=3.0, ge=0, le=60, description="Seconds of clip before the event.")
    post_roll_s: float = Field(default=3.0, ge=0, le=120, description="Seconds of clip after the event.")
    buffer_s: float = Field(default=20.0, ge=2, le=600, description="Seconds of encoded packets kept.")
    events: dict[str, RollConfig] = Field(
        default={}, description="Pre- and post-roll per event kind (e.g. congestion, camera_health)."
    )
    continuous: bool = Field(default=False, description="Record every minute in fixed-length segments.")
    segment_s: float = Field(default=10.0, ge=2, le=600, description="Length of a continuous-recording segment.")
    retain_days: float = Field(default=7.0, gt=0, description="Continuous recording older than this is deleted.")
    max_gb: float | None = Field(default=None, gt=0, description="This camera's recordings may use at most this.")

    @model_validator(mode="after")
    def _buffer_holds_a_clip(self) -> RecordConfig:
        rolls = [(self.pre_roll_s, self.post_roll_s, "")]
        rolls += [(r.pre_roll_s, r.post_roll_s, f" of events.{kind}") for kind, r in self.events.items()]
        for pre, post, where in rolls:
            needed = pre + post + 2
            if self.buffer_s < needed:
                raise ValueError(
                    f"buffer_s ({self.buffer_s:g}) must hold pre_roll_s + post_roll_s{where} "
                    f"+ 2 s of margin ({needed:g})"
                )
        return self

    def roll_for(self, kind: str) -> RollConfig:
        """Pre- and post-roll of an event of ``kind``."""
        return self.events.get(kind) or RollConfig(pre_roll_s=self.pre_roll_s, post_roll_s=self.post_roll_s)


class StreamConfig(StrictModel):
    """How a camera's stream is opened, watched and reopened."""

    transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport.")
    open_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Limit for opening the stream.")
    read_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Limit for one read.")
    offline_after_s: float = Field(default=10.0, gt=0, description="No frame for this long marks the camera offline.")
    reconnect_initial_s: float = Field(default=1.0, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(default=30.0, gt=0, description="Ceiling of the reconnect delay.")
    live_viewers: int = Field(
        default=4, ge=0, le=64, description="Most operators watching live at once (WebRTC and MJPEG together); 0: none."
    )


class HealthConfig(StrictModel):
    """When a camera counts as degraded or tampered, and when its failure becomes an incident."""

    incident_after_s: float = Field(
        default=60.0, ge=0, description="Offline, auth_failed or tampered this long raises a camera health incident."
    )
    frozen_after_s: float = Field(
        default=30.0, ge=0, description="Identical images this long mark the camera tampered (frozen); 0: off."
    )
    dark_after_s: float = Field(
        default=20.0, ge=0, description="A black or covered image this long marks the camera tampered; 0: off."
    )
    dark_luma: float = Field(default=18.0, ge=0, le=255, description="Mean brightness below this counts as dark.")
    blur_after_s: float = Field(
        default=60.0, ge=0, description="A blurred image (lens sprayed, defocused) this long: tampered; 0: off."
    )
    blur_threshold: float = Field(
        default=10.0, ge=0, description="Sharpness (variance of the Laplacian at 320 px) below this counts as blurred."
    )
    min_fps_ratio: float = Field(
        default=0.5, ge=0, le=1, description="Frames below this share of the stream's own rate: degraded."
    )
    max_reconnects_per_hour: int = Field(
        default=6, ge=1, description="A link lost and regained more often than this in an hour: degraded (flapping)."
    )


class Defaults(StrictModel):
    """Global defaults; each camera may override any key."""

    detect: DetectConfig = DetectConfig()
    record: RecordConfig = RecordConfig()
    stream: StreamConfig = StreamConfig()
    health: HealthConfig = HealthConfig()


class InputConfig(StrictModel):
    """One stream of a camera and the roles it serves."""

    url: str = Field(min_length=1, description="Stream URL (rtsp://, or a file path for replay).")
    roles: list[Role] = Field(min_length=1, description="detect, record and/or live.")

    @property
    def safe_url(self) -> str:
        """The URL with credentials removed, for logs and API answers."""
        return redact_url(self.url)


class LocationConfig(StrictModel):
    """Where a camera stands and where it looks."""

    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 degrees.")
    heading: float = Field(default=0.0, ge=0, lt=360, description="View direction, degrees from north.")
    fov_deg: float = Field(
        default=60.0, ge=1, le=360, description="Horizontal field of view, degrees; 360: a camera that sees all round."
    )
    range_m: float = Field(default=80.0, gt=0, description="How far the camera usefully sees, metres.")
    # Lengths of the cameras table's columns: PostgreSQL refuses longer values where SQLite keeps them.
    kelurahan: str | None = Field(default=None, max_length=100, description="Kelurahan (urban village).")
    kecamatan: str | None = Field(default=None, max_length=100, description="Kecamatan (district).")
    address: str | None = Field(default=None, max_length=300, description="Street address or landmark.")


class GroundCalibration(StrictModel):
    """Four points on the road in the image and the same points on the ground in metres (a homography)."""

    image: tuple[Point, Point, Point, Point] = Field(description="(x, y) in 0-1 image coordinates.")
    metres: tuple[Point, Point, Point, Point] = Field(description="The same points on the ground, (x, y) in metres.")

    @model_validator(mode="after")
    def _usable(self) -> GroundCalibration:
        for x, y in self.image:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"image point ({x}, {y}) is outside the image: coordinates are 0-1")
        for name, quad in (("image", self.image), ("metres", self.metres)):
            for i in range(4):
                (ax, ay), (bx, by), (cx, cy) = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
                if abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) < 1e-9:
                    raise ValueError(f"three of the {name} points lie on one line: the four must span an area")
        return self


class ZoneConfig(StrictModel):
    """A polygon in 0-1 image coordinates; objects are in it when their box's bottom-centre is."""

    name: Slug
    kind: ZoneKind = "road"
    polygon: list[tuple[float, float]] = Field(min_length=3, description="(x, y) in 0-1 image coordinates")
    calibration: GroundCalibration | None = Field(
        default=None, description="Maps the zone's road surface to metres, so speeds are in km/h."
    )

    @field_validator("polygon")
    @classmethod
    def _inside_the_image(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for x, y in points:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"point ({x}, {y}) is outside the image: coordinates are 0-1")
        return points


class CongestionRuleConfig(StrictModel):
    """Vehicles in a road zone at or above ``min_vehicles`` for ``min_duration_s`` open an event."""

    type: Literal["congestion"]
    zone: Slug = Field(description="Name of the zone the rule watches.")
    classes: list[str] = Field(default=list(VEHICLE_CLASSES), min_length=1, description="Classes counted.")
    min_vehicles: int = Field(ge=1, description="Vehicle count that means congestion.")
    min_duration_s: float = Field(default=10.0, ge=0, description="How long the count must hold.")
    end_after_s: float = Field(default=15.0, ge=0, description="How long below the count ends the event.")
    update_interval_s: float = Field(default=30.0, gt=0, description="Most frequent update of an event.")


class ModelSlotConfig(StrictModel):
    """A trained model that a rule runs itself, at the rule's own interval (e.g. a city's trash detector).

    ``name`` is a model of the registry (models/manifest.yaml) or a path to weights, such as those
    ``matakota models train`` writes.
    """

    name: str = Field(
        min_length=1, description="Registry model name, or a path to weights (.pt, .onnx, *_openvino_model)."
    )
    classes: list[str] | None = Field(
        default=None, min_length=1, description="Classes that count (default: every class the model knows)."
    )
    confidence: float = Field(default=0.25, gt=0, lt=1, description="Minimum confidence.")
    imgsz: int = Field(default=640, ge=160, le=1280, multiple_of=32, description="Model input size.")


class DumpingRuleConfig(StrictModel):
    """A new object left standing in a zone (a trash pile) for ``min_static_s`` opens an event.

    Found without a trained model, from a long-term and a short-term background model; regions
    under a person or vehicle detection are not counted. With ``model`` set, the objects are the
    boxes of a trained trash detector instead, followed over time in the same way.
    """

    type: Literal["dumping"]
    zone: Slug = Field(description="Name of the zone where dumping is watched.")
    model: ModelSlotConfig | None = Field(
        default=None,
        description="A trained trash detector (the `trash` slot); its boxes replace the background model's objects.",
    )
    min_static_s: float = Field(default=300.0, gt=0, description="How long a new object must stand still.")
    min_area: float = Field(default=0.002, gt=0, le=1, description="Smallest object, as a share of the zone's area.")
    end_after_s: float = Field(default=60.0, ge=0, description="How long with no object left ends the event.")
    interval_s: float = Field(default=1.0, gt=0, le=60, description="How often the rule looks at a frame.")
    learn_s: float = Field(default=60.0, gt=0, description="Warm-up of the background model; nothing is reported.")
    short_s: float = Field(default=10.0, gt=0, description="How fast a stopped object joins the short-term model.")
    long_s: float = Field(default=600.0, gt=0, description="How fast the long-term model follows the unheld scene.")
    forget_s: float = Field(default=3600.0, gt=0, description="An object standing this long becomes background.")
    min_diff: float = Field(default=14.0, gt=0, le=255, description="Smallest grey-level difference that counts.")
    noise_k: float = Field(default=4.0, gt=0, description="Threshold in standard deviations of the scene's noise.")
    exclude_classes: list[str] = Field(
        default=["person", *VEHICLE_CLASSES], description="Detections under which a region is not an object."
    )
    person_window_s: float = Field(
        default=30.0, ge=0, description="A person near an object this long around its onset is recorded."
    )
    update_interval_s: float = Field(default=60.0, gt=0, description="Most frequent update of an event.")

    @model_validator(mode="after")
    def _times_in_order(self) -> DumpingRuleConfig:
        if not self.short_s < self.min_static_s < self.forget_s:
            raise ValueError("need short_s < min_static_s < forget_s")
        return self


class TrafficJamRuleConfig(StrictModel):
    """Level of service A-F of a road zone from occupancy and speed; E or F for ``min_duration_s`` is a jam.

    Occupancy is the share of the zone covered by the lower part of the vehicles' boxes (their
    footprint on the road); speed is the median over tracked vehicles in body lengths (box
    heights) per second, so it reads the same near and far from the camera.
    """

    type: Literal["traffic_jam"]
    zone: Slug = Field(description="Name of the road zone the rule watches.")
    classes: list[str] = Field(default=list(VEHICLE_CLASSES), min_length=1, description="Classes counted.")
    occupancy_levels: tuple[float, float, float, float, float] = Field(
        default=(0.08, 0.15, 0.25, 0.35, 0.5),
        description="Highest occupancy (0-1) of levels A to E, increasing; above the last is F.",
    )
    speed_levels: tuple[float, float, float, float, float] = Field(
        default=(2.0, 1.4, 0.9, 0.5, 0.25),
        description="Lowest median speed (body lengths per second) of levels A to E, decreasing; below the last is F.",
    )
    speed_levels_kmh: tuple[float, float, float, float, float] = Field(
        default=(32.0, 23.0, 15.0, 8.0, 4.0),
        description="The same in km/h, used when the zone has a ground calibration.",
    )
    queue_occupancy: float = Field(
        default=0.15, ge=0, le=1, description="Below this occupancy speed is ignored: a lone slow vehicle is no jam."
    )
    critical_occupancy: float = Field(default=0.7, gt=0, le=1, description="Level F at or above this is critical.")
    footprint: float = Field(
        default=0.5, gt=0, le=1, description="Share of a box's height, from its bottom, that covers the road."
    )
    window_s: float = Field(default=4.0, gt=0, le=60, description="Occupancy and speed are measured over this long.")
    min_tracked: int = Field(default=2, ge=1, description="Tracked vehicles needed for the speed to count.")
    min_duration_s: float = Field(default=60.0, ge=0, description="How long level E or F must hold.")
    end_after_s: float = Field(default=30.0, ge=0, description="How long at level D or better ends the event.")
    update_interval_s: float = Field(default=30.0, gt=0, description="Most frequent update when the level eases.")

    @model_validator(mode="after")
    def _ordered_levels(self) -> TrafficJamRuleConfig:
        occupancy, speed = self.occupancy_levels, self.speed_levels
        if occupancy[0] <= 0 or list(occupancy) != sorted(set(occupancy)):
            raise ValueError("occupancy_levels must be positive and increasing")
        for name, bands in (("speed_levels", speed), ("speed_levels_kmh", self.speed_levels_kmh)):
            if bands[-1] <= 0 or list(bands) != sorted(set(bands), reverse=True):
                raise ValueError(f"{name} must be positive and decreasing")
        return self


class StalledVehicleRuleConfig(StrictModel):
    """A tracked vehicle staying put in a zone (e.g. ``no_stopping``) longer than ``max_stationary_s`` opens an event.

    One event per zone lists every stalled vehicle; it ends once none is left.
    """

    type: Literal["stalled_vehicle"]
    zone: Slug = Field(description="Name of the zone the rule watches.")
    classes: list[str] = Field(default=list(VEHICLE_CLASSES), min_length=1, description="Classes watched.")
    max_stationary_s: float = Field(default=60.0, gt=0, description="How long a vehicle may stay put.")
    radius: float = Field(
        default=0.3, gt=0, le=5, description="A vehicle stays put while within this many box heights of its spot."
    )
    end_after_s: float = Field(
        default=10.0, ge=0, description="A vehicle away from its spot or unseen this long is no longer stalled."
    )
    update_interval_s: float = Field(default=60.0, gt=0, description="Most frequent update when only times change.")


class FloodRuleConfig(StrictModel):
    """Standing water over ``min_fraction`` of a zone for ``min_duration_s`` opens an event.

    Water is found against a dry road the rule learns from the camera itself (no labelled data):
    the first frames are taken as dry, so the rule needs a few minutes of a dry scene to start.
    With ``model`` set, the water is the masks of a trained segmentation model instead.
    """

    type: Literal["flood"]
    zone: Slug = Field(description="Name of the zone (the road surface) the rule watches.")
    model: ModelSlotConfig | None = Field(
        default=None,
        description="A trained water segmentation model (`flood` slot, YOLO-seg); its masks replace the dry road.",
    )
    min_fraction: float = Field(default=0.3, gt=0, le=1, description="Share of the zone under water that is a flood.")
    min_duration_s: float = Field(default=60.0, ge=0, description="How long the water must stay.")
    end_after_s: float = Field(
        default=300.0, ge=0, description="How long below three quarters of ``min_fraction`` ends the event."
    )
    interval_s: float = Field(default=2.0, gt=0, description="How often the rule looks at a frame.")
    learn_s: float = Field(default=60.0, gt=0, description="How often a dry frame is learned into the dry road.")
    update_interval_s: float = Field(default=300.0, gt=0, description="Most frequent update of an event.")


# One member per rule type, told apart by ``type``; a rule joins the union when it works.
RuleConfig = Annotated[
    CongestionRuleConfig | TrafficJamRuleConfig | StalledVehicleRuleConfig | FloodRuleConfig | DumpingRuleConfig,
    Field(discriminator="type"),
]


class LineConfig(StrictModel):
    """A counting line from ``a`` to ``b`` in 0-1 image coordinates.

    Crossing it from its left side to its right side (looking from ``a`` towards ``b``) counts
    as direction ``in``, the other way as ``out``; ``in_label`` / ``out_label`` name them for people.
    """

    name: Slug
    a: tuple[float, float] = Field(description="Start of the line, (x, y) in 0-1 image coordinates.")
    b: tuple[float, float] = Field(description="End of the line, (x, y) in 0-1 image coordinates.")
    classes: list[str] = Field(default=list(VEHICLE_CLASSES), min_length=1, description="Classes counted.")
    in_label: str = Field(default="in", description="What crossing left-to-right means, e.g. 'northbound'.")
    out_label: str = Field(default="out", description="What crossing right-to-left means.")

    @field_validator("a", "b")
    @classmethod
    def _inside_the_image(cls, point: tuple[float, float]) -> tuple[float, float]:
        if not (0 <= point[0] <= 1 and 0 <= point[1] <= 1):
            raise ValueError(f"point {point} is outside the image: coordinates are 0-1")
        return point


class CameraConfig(StrictModel):
    """One camera with its defaults already merged in."""

    id: Slug
    name: str = Field(min_length=1, max_length=200)  # the cameras table's column length
    enabled: bool = True
    inputs: list[InputConfig] = Field(min_length=1)
    location: LocationConfig
    detect: DetectConfig = DetectConfig()
    record: RecordConfig = RecordConfig()
    stream: StreamConfig = StreamConfig()
    health: HealthConfig = HealthConfig()
    zones: list[ZoneConfig] = []
    lines: list[LineConfig] = []
    rules: list[RuleConfig] = []

    @model_validator(mode="after")
    def _consistent(self) -> CameraConfig:
        detect_inputs = [i for i in self.inputs if "detect" in i.roles]
        if len(detect_inputs) != 1:
            raise ValueError(f"exactly one input must have the 'detect' role (found {len(detect_inputs)})")
        for role in ("record", "live"):
            holders = [i for i in self.inputs if role in i.roles]
            if len(holders) > 1:
                raise ValueError(f"at most one input may have the '{role}' role (found {len(holders)})")
        urls = [i.url for i in self.inputs]
        if len(set(urls)) != len(urls):
            raise ValueError("two inputs have the same url: give one input several roles instead")
        names = [z.name for z in self.zones]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"zone names must be unique (repeated: {', '.join(duplicates)})")
        line_names = [line.name for line in self.lines]
        repeated = sorted({n for n in line_names if line_names.count(n) > 1})
        if repeated:
            raise ValueError(f"line names must be unique (repeated: {', '.join(repeated)})")
        for rule in self.rules:
            if rule.zone not in names:
                raise ValueError(f"rule '{rule.type}' refers to zone '{rule.zone}', which is not defined")
        return self

    def input_for(self, role: Role) -> InputConfig:
        """The input serving ``role``; record and live fall back to the detect input."""
        for item in self.inputs:
            if role in item.roles:
                return item
        return self.input_for("detect")

    @property
    def separate_record_input(self) -> bool:
        """True when clips and recordings come from their own stream (one more RTSP connection)."""
        return self.input_for("record") is not self.input_for("detect")

    def zone(self, name: str) -> ZoneConfig:
        """The zone called ``name``."""
        return next(z for z in self.zones if z.name == name)

    @property
    def rule_models(self) -> list[ModelSlotConfig]:
        """The trained models the camera's rules run themselves (their ``model`` slots)."""
        slots = (getattr(rule, "model", None) for rule in self.rules)
        return [slot for slot in slots if isinstance(slot, ModelSlotConfig)]


class StorageConfig(StrictModel):
    """Limits on everything written to disk, over all cameras (whichever limit is hit first)."""

    max_gb: float | None = Field(
        default=None, gt=0, description="Recordings and evidence together may use at most this much."
    )
    min_free_gb: float = Field(default=1.0, ge=0, description="Delete the oldest recordings to keep this much free.")
    evidence_days: float = Field(
        default=180.0, gt=0, description="Evidence of incidents closed longer ago than this is deleted."
    )
    snapshot_days: float = Field(
        default=30.0, gt=0, description="Pictures operators asked cameras for are deleted after this many days."
    )
    check_interval_s: float = Field(default=60.0, gt=0, description="How often retention runs.")


class DetectorsConfig(StrictModel):
    """The detector pool: processes that run the models for every camera, batching frames that wait together.

    Measured on a 2-core CPU (``python -m bench.pipeline``), worker processes did not beat detecting
    inside the analytics process (OpenVINO already uses both cores there), so 0 is the default; raise
    ``workers`` on machines with more cores or an accelerator.
    """

    workers: int = Field(
        default=0, ge=0, le=16, description="Detector processes; 0 detects inside the analytics process (no pool)."
    )
    batch_size: int = Field(default=4, ge=1, le=32, description="Most frames one detector call takes at once.")
    max_wait_ms: float = Field(
        default=5.0, ge=0, le=1000, description="How long a frame may wait for others to fill a batch."
    )
    timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="A frame without detections this long after it was sent is dropped."
    )


class AppConfig(StrictModel):
    """The whole ``camera_config.yaml``."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
    storage: StorageConfig = StorageConfig()
    detectors: DetectorsConfig = DetectorsConfig()
    agencies: dict[AgencyCode, str] = Field(
        default=DEFAULT_AGENCIES, description="Agencies (OPD) incidents are dispatched to: code -> name."
    )
    routing: list[RoutingRule] = Field(
        default=DEFAULT_ROUTING, description="Which agency each kind of incident goes to; the first match wins."
    )
    sla: SlaConfig = Field(default=SlaConfig(), description="How soon incidents must be acknowledged and resolved.")
    incidents: IncidentsConfig = Field(default=IncidentsConfig(), description="How events become incidents.")
    webhooks: WebhooksConfig = Field(
        default=WebhooksConfig(), description="Delivery of incident events to webhook subscriptions."
    )
    correlation: CorrelationConfig = Field(
        default=CorrelationConfig(), description="How citizens' reports, cameras and incidents are linked."
    )
    cameras: list[CameraConfig] = Field(min_length=1)

    @field_validator("routing")
    @classmethod
    def _known_agencies(cls, routing: list[RoutingRule], info: ValidationInfo) -> list[RoutingRule]:
        agencies = info.data.get("agencies")
        return routing if agencies is None else check_routing(agencies, routing)  # None: agencies was invalid

    @model_validator(mode="after")
    def _unique_ids(self) -> AppConfig:
        ids = [c.id for c in self.cameras]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"camera ids must be unique (repeated: {', '.join(duplicates)})")
        return self

    @property
    def enabled_cameras(self) -> list[CameraConfig]:
        """The cameras that are switched on."""
        return [c for c in self.cameras if c.enabled]

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with id ``camera_id``."""
        return next(c for c in self.cameras if c.id == camera_id)
