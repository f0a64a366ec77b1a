"""A ring buffer of the last seconds of encoded packets, trimmed by whole GOPs, so clips need no re-encode."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a muxer needs to write a stream's packets without decoding them."""

    codec: str
    width: int
    height: int
    time_base_num: int
    time_base_den: int
    extradata: bytes | None

    @classmethod
    def of(cls, stream: Any) -> StreamParams:
        """The parameters of a PyAV video stream."""
        ctx = stream.codec_context
        time_base = stream.time_base or Fraction(1, 90000)
        extradata = bytes(ctx.extradata) if ctx.extradata else None
        return cls(ctx.name, ctx.width, ctx.height, time_base.numerator, time_base.denominator, extradata)


@dataclass(frozen=True, slots=True)
class BufferedPacket:
    """One encoded packet with its arrival time (wall clock) and the connection it came from."""

    data: bytes
    pts: int
    dts: int
    is_keyframe: bool
    arrival_ts: float
    epoch: int


class PacketRing:
    """Keeps at least ``max_age_s`` of packets (less only to stay under ``max_bytes``), in whole GOPs,
    so the buffer always starts at a keyframe.

    Thread-safe: a camera with a separate record input fills it from its reader thread while
    the worker's main thread cuts clips from it.
    """

    def __init__(self, max_age_s: float, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._packets: deque[BufferedPacket] = deque()
        self._keyframe_ts: deque[float] = deque()  # arrival time of each GOP's first packet
        self._bytes = 0
        self._params: dict[int, StreamParams] = {}
        self._lock = threading.Lock()

    def set_params(self, epoch: int, params: StreamParams) -> None:
        """Remember the codec parameters of connection ``epoch``."""
        with self._lock:
            self._params[epoch] = params

    def params(self, epoch: int) -> StreamParams:
        """The codec parameters of connection ``epoch``."""
        with self._lock:
            return self._params[epoch]

    def append(self, packet: BufferedPacket) -> None:
        """Add the newest packet and drop whole GOPs that are too old (or over the byte limit)."""
        with self._lock:
            self._append(packet)

    def _append(self, packet: BufferedPacket) -> None:
        if not self._packets and not packet.is_keyframe:
            return  # a buffer always starts at a keyframe, so any clip cut from it plays
        self._packets.append(packet)
        self._bytes += len(packet.data)
        if packet.is_keyframe:
            self._keyframe_ts.append(packet.arrival_ts)
        cutoff = packet.arrival_ts - self.max_age_s
        # Drop the oldest GOP only while the rest still covers max_age_s (or memory is over its limit).
        while len(self._keyframe_ts) >= 2 and (self._keyframe_ts[1] <= cutoff or self._bytes > self.max_bytes):
            self._drop_first_gop()
        oldest = self._packets[0].epoch if self._packets else packet.epoch
        for stale in [e for e in self._params if e < oldest]:
            del self._params[stale]

    def _drop_first_gop(self) -> None:
        self._pop()
        while self._packets and not self._packets[0].is_keyframe:
            self._pop()
        self._keyframe_ts.popleft()

    def _pop(self) -> None:
        self._bytes -= len(self._packets.popleft().data)

    def window(self, start_ts: float, end_ts: float) -> list[BufferedPacket]:
        """Packets of one connection covering ``[start_ts, end_ts]``, from the last keyframe at or before
        ``start_ts`` (or the first one after it, if the buffer begins later)."""
        with self._lock:
            candidates = [p for p in self._packets if p.arrival_ts <= end_ts]
        if not candidates:
            return []
        epoch = candidates[-1].epoch
        same = [p for p in candidates if p.epoch == epoch]
        keyframes = [i for i, p in enumerate(same) if p.is_keyframe]
        if not keyframes:
            return []
        before = [i for i in keyframes if same[i].arrival_ts <= start_ts]
        first = before[-1] if before else keyframes[0]
        return same[first:]

    @property
    def newest_ts(self) -> float | None:
        """Arrival time of the newest packet."""
        return self._packets[-1].arrival_ts if self._packets else None

    @property
    def duration_s(self) -> float:
        """Seconds of video held."""
        if not self._packets:
            return 0.0
        return self._packets[-1].arrival_ts - self._packets[0].arrival_ts

    @property
    def size_bytes(self) -> int:
        """Bytes of video held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._packets)
