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
    snapshot_jpeg: bytes | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.camera_id, self.kind, self.zone)


class CameraState(StrEnum):
    """Health of a camera's stream."""

    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"


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


class Outbox(Protocol):
    """Where a process sends its messages (a pipe to the supervisor, or a ``queue.Queue`` in tests)."""

    def put(self, item: Any, /) -> None: ...


class Inbox(Protocol):
    """Where a process takes its messages from, without waiting."""

    def get_nowait(self) -> Any: ...
