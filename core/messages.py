"""Messages that cross process boundaries: frames, events, camera status, clip requests.

Times are float seconds since the epoch (UTC) named ``*_ts``; the incident store turns them
into timezone-aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded, sampled frame of one camera (BGR)."""

    camera_id: str
    seq: int
    captured_ts: float
    image: Image


class EventPhase(StrEnum):
    """Where an event is in its life (as in Frigate: start, update, end)."""

    START = "start"
    UPDATE = "update"
    END = "end"


class Severity(StrEnum):
    """How urgent an incident is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical, for comparisons."""
        return list(Severity).index(self)


@dataclass(frozen=True, slots=True)
class Event:
    """A rule's verdict about one zone of one camera; ``key`` identifies the event over its life."""

    camera_id: str
    kind: str
    zone: str
    phase: EventPhase
    at_ts: float
    started_ts: float
    severity: Severity
    title: str
    details: dict[str, Any] = field(default_factory=dict)
    snapshot_jpeg: bytes | None = None  # START only: the frame with zones and boxes drawn
    frame_jpeg: bytes | None = None  # START only: the same frame undrawn, for training datasets
    request_clip: bool = True  # START only: False when the camera sends no video (offline), so no clip can be cut

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.camera_id, self.kind, self.zone)


class CameraState(StrEnum):
    """Health of a camera's stream.

    ``degraded`` still delivers frames (too few, or the record input is down); ``offline``,
    ``auth_failed`` and ``tampered`` deliver nothing usable and may raise a health incident.
    """

    STARTING = "starting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    TAMPERED = "tampered"

    @property
    def is_down(self) -> bool:
        """True when the camera gives analytics nothing usable."""
        return self in DOWN_STATES

    @property
    def is_up(self) -> bool:
        """True when frames flow (online or degraded): time that counts as uptime."""
        return self in (CameraState.ONLINE, CameraState.DEGRADED)


DOWN_STATES: frozenset[CameraState] = frozenset({CameraState.OFFLINE, CameraState.AUTH_FAILED, CameraState.TAMPERED})


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """A camera worker's periodic report on its stream."""

    camera_id: str
    state: CameraState
    reason: str | None
    since_ts: float
    at_ts: float
    fps_in: float = 0.0
    fps_out: float = 0.0
    frames_dropped: int = 0
    reconnects: int = 0
    last_frame_ts: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    buffer_s: float = 0.0
    buffer_fill: float = 0.0  # share of record.buffer_s the packet ring holds, 0-1
    nominal_fps: float | None = None  # what the stream announces
    bitrate_kbps: float = 0.0  # of the record input (the detect input when they are one)
    bytes_in: int = 0  # every input, since the worker started
    decode_ms: float = 0.0  # mean decode time of one frame over the last window
    reconnects_hour: int = 0
    record_state: CameraState | None = None  # only when the record input is separate
    record_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """Ask a camera worker to cut ``[start_ts, end_ts]`` from its packet buffer into ``path``."""

    request_id: str
    camera_id: str
    incident_id: int
    start_ts: float
    end_ts: float
    path: str


@dataclass(frozen=True, slots=True)
class ClipResult:
    """The outcome of a :class:`ClipRequest`."""

    request_id: str
    camera_id: str
    incident_id: int
    path: str
    ok: bool
    error: str | None = None
    start_ts: float | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    frames: int | None = None


@dataclass(frozen=True, slots=True)
class RecordingSegment:
    """A finished segment of continuous recording, already renamed into place."""

    camera_id: str
    path: str  # absolute
    start_ts: float
    end_ts: float
    size_bytes: int
    frames: int


@dataclass(frozen=True, slots=True)
class DetectorStatus:
    """The analytics process's periodic report on its detector."""

    name: str
    model: str
    at_ts: float
    inference_ms: float  # mean over the last window
    frames_per_s: float
    queue_depth: int  # frames waiting for the detector, all cameras
    frames_total: int
    skipped_total: int = 0  # frames the detector never saw (stale or dropped)


@dataclass(frozen=True, slots=True)
class TrafficCount:
    """Tracked objects of one class that crossed a counting line one way in one minute."""

    camera_id: str
    line: str
    class_name: str
    direction: str  # "in" (left to right seen from the line's start towards its end) or "out"
    bucket_start_ts: float  # start of the minute, a multiple of 60
    count: int


class Outbox(Protocol):
    """Where a process sends its messages (a pipe to the supervisor, or a ``queue.Queue`` in tests)."""

    def put(self, item: Any, /) -> None: ...


class Inbox(Protocol):
    """Where a process takes its messages from, without waiting."""

    def get_nowait(self) -> Any: ...
