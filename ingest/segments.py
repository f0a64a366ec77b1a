"""Continuous recording: a camera's record-input packets cut at keyframes into fixed-length MP4 segments.

The reader thread only collects packets; a finished segment goes to a writer thread that muxes
it by stream copy (:func:`ingest.clips.write_clip`: temporary file, fsync, rename) and then
announces it with a :class:`core.messages.RecordingSegment` message, so the index only ever
points at complete files.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from core.messages import Outbox, RecordingSegment
from ingest.clips import write_clip
from ingest.ringbuffer import BufferedPacket, StreamParams

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 3  # finished segments waiting for the disk; one more is dropped rather than held in memory
MAX_SEGMENT_BYTES = 64 * 1024 * 1024  # a segment this big closes at its next keyframe, whatever its length
MAX_FRAME_GAP_S = 3.0  # a longer jump in media time is a gap in the footage: the segment ends before it
DRIFT_TOLERANCE_S = 1.0  # media time may stray this far from arrival time before it is set anew
CLOSE_TIMEOUT_S = 30.0
DROP_LOG_INTERVAL_S = 60.0


@dataclass(slots=True)
class _Anchor:
    """Where one connection's media clock stands against the wall clock."""

    epoch: int
    wall_ts: float
    dts: int


@dataclass(slots=True)
class _Segment:
    """The open segment: packets from a keyframe on, all of one connection."""

    params: StreamParams
    epoch: int
    start_ts: float
    time_base: Fraction
    packets: list[BufferedPacket] = field(default_factory=list)
    size: int = 0
    tick_s: float = field(init=False)  # the time base as a float, for the check on every packet

    def __post_init__(self) -> None:
        self.tick_s = float(self.time_base)

    def media_s(self, packet: BufferedPacket) -> float:
        """Media seconds from this segment's first packet to ``packet``."""
        return float((packet.dts - self.packets[0].dts) * self.time_base)

    def natural_end_ts(self) -> float:
        """When the last packet's frame ends (its duration taken as the mean frame spacing)."""
        span = self.media_s(self.packets[-1])
        frame_s = span / (len(self.packets) - 1) if len(self.packets) > 1 else 0.0
        return self.start_ts + span + frame_s


@dataclass(frozen=True, slots=True)
class _Job:
    """A finished segment for the writer thread."""

    packets: list[BufferedPacket]
    params: StreamParams
    start_ts: float
    end_ts: float


class SegmentWriter:
    """Cuts one camera's packets into segments of at least ``segment_s`` that each start at a keyframe.

    A segment closes at the first keyframe at or after ``segment_s`` of media time, which becomes
    the first packet of the next one, so consecutive segments abut: one ends when the next starts.
    A reconnect (new epoch or codec parameters) or a gap in the media timestamps closes it early.
    Files are ``<directory>/<camera_id>/<YYYY-MM-DD>/<HH>/<start in ms>.mp4`` (UTC).

    :meth:`add` is called from the reader thread and never touches the disk.
    """

    def __init__(
        self,
        camera_id: str,
        directory: Path,
        segment_s: float,
        outbox: Outbox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera_id = camera_id
        self.directory = Path(directory)
        self.segment_s = segment_s
        self.outbox = outbox
        self.clock = clock
        self.written = 0
        self.dropped = 0  # segments lost because the disk did not keep up
        self.failed = 0
        self._open: _Segment | None = None
        self._anchor: _Anchor | None = None
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._closed = False
        self._last_drop_log = float("-inf")
        self._thread = threading.Thread(target=self._write_forever, name=f"segments-{camera_id}", daemon=True)
        self._thread.start()

    def add(self, packet: BufferedPacket, params: StreamParams) -> None:
        """Take the next packet of the record input (cheap: finished segments are written elsewhere)."""
        with self._lock:
            if self._closed:
                return
            segment = self._open
            if segment is not None and self._breaks(segment, packet, params):
                self._finish(segment, segment.natural_end_ts())
                segment = self._open = None
            if segment is not None and packet.is_keyframe and self._full(segment, packet):
                boundary_ts = self._wall_ts(packet, segment.time_base)
                self._finish(segment, boundary_ts)
                segment = self._open = self._start(packet, params, boundary_ts)
            if segment is None:
                if not packet.is_keyframe:
                    return  # a segment must start at a keyframe to play from its first frame
                segment = self._open = self._start(packet, params, None)
            segment.packets.append(packet)
            segment.size += len(packet.data)

    def close(self) -> None:
        """Write the open segment, wait for the writer to finish, and stop it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._open is not None:
                self._finish(self._open, self._open.natural_end_ts(), block=True)
                self._open = None
        with contextlib.suppress(queue.Full):  # the writer is stuck on the disk: reported below
            self._jobs.put(None, timeout=CLOSE_TIMEOUT_S)
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            logger.error("%s: recording writer did not finish within %.0f s", self.camera_id, CLOSE_TIMEOUT_S)

    def path_for(self, start_ts: float) -> Path:
        """Where a segment starting at ``start_ts`` goes."""
        at = datetime.fromtimestamp(start_ts, UTC)
        name = f"{round(start_ts * 1000)}.mp4"
        return self.directory / self.camera_id / at.strftime("%Y-%m-%d") / at.strftime("%H") / name

    # -- the reader's side ---------------------------------------------------------------------

    def _breaks(self, segment: _Segment, packet: BufferedPacket, params: StreamParams) -> bool:
        """Whether ``packet`` cannot continue ``segment`` (a reconnect or a gap in the footage)."""
        if packet.epoch != segment.epoch or (params is not segment.params and params != segment.params):
            return True
        step_s = (packet.dts - segment.packets[-1].dts) * segment.tick_s
        return step_s < 0 or step_s > MAX_FRAME_GAP_S

    def _full(self, segment: _Segment, keyframe: BufferedPacket) -> bool:
        return segment.media_s(keyframe) >= self.segment_s or segment.size >= MAX_SEGMENT_BYTES

    def _start(self, keyframe: BufferedPacket, params: StreamParams, start_ts: float | None) -> _Segment:
        time_base = Fraction(params.time_base_num, params.time_base_den)
        if start_ts is None:
            start_ts = self._wall_ts(keyframe, time_base)
        return _Segment(params, keyframe.epoch, start_ts, time_base)

    def _wall_ts(self, keyframe: BufferedPacket, time_base: Fraction) -> float:
        """The wall-clock time of ``keyframe`` on its connection's media clock.

        Media time, not arrival time, keeps segments exactly abutting and their lengths true
        despite network jitter; the clock is set anew on each connection and whenever it strays
        from arrival times by more than ``DRIFT_TOLERANCE_S`` (a camera clock running fast or slow).
        """
        anchor = self._anchor
        if anchor is None or anchor.epoch != keyframe.epoch:
            anchor = None
        else:
            wall_ts = anchor.wall_ts + float((keyframe.dts - anchor.dts) * time_base)
            if abs(wall_ts - keyframe.arrival_ts) <= DRIFT_TOLERANCE_S:
                return wall_ts
        self._anchor = _Anchor(keyframe.epoch, keyframe.arrival_ts, keyframe.dts)
        return keyframe.arrival_ts

    def _finish(self, segment: _Segment, end_ts: float, *, block: bool = False) -> None:
        if len(segment.packets) < 2:
            return  # a lone keyframe is not worth a file
        job = _Job(segment.packets, segment.params, segment.start_ts, end_ts)
        try:
            self._jobs.put(job, block=block, timeout=CLOSE_TIMEOUT_S if block else None)
        except queue.Full:
            self.dropped += 1
            now = self.clock()
            if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:
                self._last_drop_log = now
                logger.warning(
                    "%s: disk too slow for continuous recording, segment at %s dropped (%d dropped so far)",
                    self.camera_id,
                    datetime.fromtimestamp(segment.start_ts, UTC).isoformat(timespec="seconds"),
                    self.dropped,
                )

    # -- the writer thread ---------------------------------------------------------------------

    def _write_forever(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._write(job)
            except Exception:  # thread boundary: one bad segment must not end the recording
                self.failed += 1
                logger.exception("%s: could not write a recording segment", self.camera_id)

    def _write(self, job: _Job) -> None:
        path = self.path_for(job.start_ts)
        suffix = 1
        while path.exists():  # the same millisecond twice (a restart): never overwrite an indexed file
            path = path.with_name(f"{round(job.start_ts * 1000)}-{suffix}.mp4")
            suffix += 1
        info = write_clip(job.packets, job.params, path)
        self.written += 1
        self.outbox.put(
            RecordingSegment(
                camera_id=self.camera_id,
                path=str(path.resolve()),
                start_ts=job.start_ts,
                end_ts=job.end_ts,
                size_bytes=info.size_bytes,
                frames=info.frames,
            )
        )
