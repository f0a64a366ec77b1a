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


class RecordConfig(StrictModel):
    """How much encoded video is kept, and how long incident clips are."""

    pre_roll_s: float = Field(default=3.0, ge=0, le=60, description="Seconds of clip before the event.")
    post_roll_s: float = Field(default=3.0, ge=0, le=120, description="Seconds of clip after the event.")
    buffer_s: float = Field(default=20.0, ge=2, le=600, description="Seconds of encoded packets kept.")

    @model_validator(mode="after")
    def _buffer_holds_a_clip(self) -> RecordConfig:
        needed = self.pre_roll_s + self.post_roll_s + 2
        if self.buffer_s < needed:
            raise ValueError(
                f"buffer_s ({self.buffer_s:g}) must hold pre_roll_s + post_roll_s + 2 s of margin ({needed:g})"
            )
        return self


class StreamConfig(StrictModel):
    """How a camera's stream is opened, watched and reopened."""

    transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport.")
    open_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Limit for opening the stream.")
    read_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Limit for one read.")
    offline_after_s: float = Field(default=10.0, gt=0, description="No frame for this long marks the camera offline.")
    reconnect_initial_s: float = Field(default=1.0, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(default=30.0, gt=0, description="Ceiling of the reconnect delay.")


class Defaults(StrictModel):
    """Global defaults; each camera may override any key."""

    detect: DetectConfig = DetectConfig()
    record: RecordConfig = RecordConfig()
    stream: StreamConfig = StreamConfig()


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


RuleConfig = CongestionRuleConfig


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
    zones: list[ZoneConfig] = []
    rules: list[RuleConfig] = []

    @model_validator(mode="after")
    def _consistent(self) -> CameraConfig:
        detect_inputs = [i for i in self.inputs if "detect" in i.roles]
        if len(detect_inputs) != 1:
            raise ValueError(f"exactly one input must have the 'detect' role (found {len(detect_inputs)})")
        record_inputs = [i for i in self.inputs if "record" in i.roles]
        if record_inputs and record_inputs[0] is not detect_inputs[0]:
            raise ValueError("a separate 'record' input is not supported yet: give both roles to one input")
        names = [z.name for z in self.zones]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"zone names must be unique (repeated: {', '.join(duplicates)})")
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

    def zone(self, name: str) -> ZoneConfig:
        """The zone called ``name``."""
        return next(z for z in self.zones if z.name == name)


class AppConfig(StrictModel):
    """The whole ``camera_config.yaml``."""

    version: Literal[1] = 1
    defaults: Defaults = Defaults()
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
