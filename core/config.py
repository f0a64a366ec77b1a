"""The camera configuration schema (``camera_config.yaml``): strict, typed, frozen.

Global ``defaults`` hold the detect / record / stream sections; each camera may override any of
their keys. :mod:`core.config_loader` merges the two, validates, and reports errors with the
YAML key path and line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.redact import redact_url

Role = Literal["detect", "record", "live"]
ZoneKind = Literal["road", "sidewalk", "dumping", "no_stopping", "waterway", "other"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=1, max_length=64)]

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
    kelurahan: str | None = Field(default=None, description="Kelurahan (urban village).")
    kecamatan: str | None = Field(default=None, description="Kecamatan (district).")
    address: str | None = Field(default=None, description="Street address or landmark.")


class ZoneConfig(StrictModel):
    """A polygon in 0-1 image coordinates; objects are in it when their box's bottom-centre is."""

    name: Slug
    kind: ZoneKind = "road"
    polygon: list[tuple[float, float]] = Field(min_length=3, description="(x, y) in 0-1 image coordinates")

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


# One member per rule type, told apart by ``type``; a rule joins the union when it works.
RuleConfig = Annotated[CongestionRuleConfig, Field(discriminator="type")]


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
    name: str = Field(min_length=1)
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


class StorageConfig(StrictModel):
    """Limits on everything written to disk, over all cameras (whichever limit is hit first)."""

    max_gb: float | None = Field(
        default=None, gt=0, description="Recordings and evidence together may use at most this much."
    )
    min_free_gb: float = Field(default=1.0, ge=0, description="Delete the oldest recordings to keep this much free.")
    evidence_days: float = Field(
        default=180.0, gt=0, description="Evidence of incidents closed longer ago than this is deleted."
    )
    check_interval_s: float = Field(default=60.0, gt=0, description="How often retention runs.")


class AppConfig(StrictModel):
    """The whole ``camera_config.yaml``."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
    storage: StorageConfig = StorageConfig()
    cameras: list[CameraConfig] = Field(min_length=1)

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
