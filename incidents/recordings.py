"""The index of continuous-recording segments, and exports of a time range into one MP4 by stream copy."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from core.messages import RecordingSegment as FinishedSegment
from incidents.models import Camera, RecordingSegment
from incidents.types import from_ts

logger = logging.getLogger(__name__)

# No segment is longer than this (segment_s is at most 600 s), so a range query need not scan older rows.
LONGEST_SEGMENT = timedelta(hours=1)
COVERAGE_TOLERANCE_S = 0.5  # segments closer than this count as one unbroken stretch
EXPORT_TIME_BASE = Fraction(1, 90000)


class RecordingNotFound(NotFoundError):
    """Nothing is recorded in the requested range."""


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What an export holds; ``covered_s`` is recorded time, ``duration_s`` the file's (gaps closed up)."""

    path: Path
    start: datetime
    end: datetime
    duration_s: float
    covered_s: float
    segments: int
    skipped_segments: int
    frames: int
    size_bytes: int


def index_segment(segment: FinishedSegment, recordings_dir: Path, *, session: Session) -> RecordingSegment | None:
    """Store a finished segment, its path relative to ``recordings_dir``; a path indexed already is kept.

    Returns:
        The row, or None when the segment was refused (outside the directory, unknown camera).
    """
    root = Path(recordings_dir).resolve()
    path = Path(segment.path).resolve()
    if not path.is_relative_to(root) or path == root:
        logger.warning(
            "%s: segment %s is outside the recordings directory %s: not indexed", segment.camera_id, path, root
        )
        return None
    relpath = path.relative_to(root).as_posix()
    existing = session.scalar(select(RecordingSegment).where(RecordingSegment.path == relpath))
    if existing is not None:
        logger.debug("%s: segment %s is indexed already", segment.camera_id, relpath)
        return existing
    if session.get(Camera, segment.camera_id) is None:
        logger.warning("%s: segment %s belongs to an unknown camera: not indexed", segment.camera_id, relpath)
        return None
    row = RecordingSegment(
        camera_id=segment.camera_id,
        path=relpath,
        start_at=from_ts(segment.start_ts),
        end_at=from_ts(segment.end_ts),
        size_bytes=segment.size_bytes,
        frames=segment.frames,
    )
    session.add(row)
    session.flush()
    return row


def segments_between(camera_id: str, start: datetime, end: datetime, *, session: Session) -> list[RecordingSegment]:
    """The camera's segments that overlap ``[start, end)``, oldest first."""
    stmt = (
        select(RecordingSegment)
        .where(
            RecordingSegment.camera_id == camera_id,
            RecordingSegment.start_at >= start - LONGEST_SEGMENT,  # lets the (camera, start) index bound the scan
            RecordingSegment.start_at < end,
            RecordingSegment.end_at > start,
        )
        .order_by(RecordingSegment.start_at, RecordingSegment.id)
    )
    return list(session.scalars(stmt))


def coverage(segments: Sequence[RecordingSegment]) -> list[tuple[datetime, datetime]]:
    """The unbroken stretches of recording that ``segments`` (oldest first) make up."""
    spans: list[tuple[datetime, datetime]] = []
    tolerance = timedelta(seconds=COVERAGE_TOLERANCE_S)
    for segment in segments:
        if spans and segment.start_at <= spans[-1][1] + tolerance:
            spans[-1] = (spans[-1][0], max(spans[-1][1], segment.end_at))
        else:
            spans.append((segment.start_at, segment.end_at))
    return spans


def segment_file(recordings_dir: Path, relpath: str) -> Path:
    """The absolute path of an indexed segment.

    Raises:
        ValueError: when ``relpath`` is absolute or climbs out of the directory.
    """
    root = Path(recordings_dir).resolve()
    path = (root / relpath).resolve()
    if PurePosixPath(relpath).is_absolute() or not path.is_relative_to(root) or path == root:
        raise ValueError(f"segment path {relpath!r} escapes the recordings directory")
    return path


def export_range(
    segments: Sequence[RecordingSegment], recordings_dir: Path, start: datetime, end: datetime, out_path: Path
) -> ExportInfo:
    """Join the recording of ``[start, end)`` into one MP4 with ``faststart``, by stream copy.

    The file begins at the keyframe at or before ``start`` (so it plays from its first frame) and
    stops before ``end``. Timestamps run on across segments; a gap in the recording is closed up,
    and ``covered_s`` says how much was recorded. Segments whose codec parameters differ from the
    first one's (a camera reconfigured) cannot share its track and are skipped. The file appears
    under ``out_path`` only when complete.

    Raises:
        RecordingNotFound: when no recorded frame falls in the range.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.partial")
    joiner = _Joiner(tmp, start.timestamp(), end.timestamp())
    try:
        for row in sorted(segments, key=lambda s: (s.start_at, s.id)):
            if row.end_at <= start or row.start_at >= end or joiner.done:
                continue
            try:
                path = segment_file(recordings_dir, row.path)
                with av.open(str(path)) as source:
                    joiner.add(source, row.start_at.timestamp(), f"{row.camera_id}: segment {row.path}")
            except (ValueError, OSError, av.FFmpegError) as err:  # e.g. deleted by retention meanwhile
                logger.warning("%s: segment %s skipped in an export: %s", row.camera_id, row.path, err)
        joiner.close()
        if joiner.frames == 0:
            raise RecordingNotFound(f"nothing is recorded between {start.isoformat()} and {end.isoformat()}")
        tmp.replace(out_path)
    finally:
        joiner.close()
        tmp.unlink(missing_ok=True)
    return ExportInfo(
        path=out_path,
        start=from_ts(joiner.first_ts),
        end=from_ts(joiner.last_end_ts),
        duration_s=float(joiner.offset),
        covered_s=joiner.covered_s,
        segments=joiner.segments,
        skipped_segments=joiner.skipped,
        frames=joiner.frames,
        size_bytes=out_path.stat().st_size,
    )


class _Joiner:
    """Appends segment files to one output track, from the keyframe at or before ``start_ts`` up to ``end_ts``.

    Packets are written as they are read; only the GOP that holds ``start_ts`` waits in memory.
    """

    def __init__(self, path: Path, start_ts: float, end_ts: float) -> None:
        self.path = path
        self.start_ts, self.end_ts = start_ts, end_ts
        self.out: Any = None
        self.stream: Any = None
        self.signature: tuple[Any, ...] | None = None
        self.started = False  # the first keyframe has been written
        self.done = False  # ``end_ts`` was reached
        self.offset = Fraction(0)  # output seconds at which the current segment begins
        self.frames = self.segments = self.skipped = 0
        self.first_ts = self.last_end_ts = 0.0
        self.covered_s = 0.0
        # the segment being appended
        self._time_base = Fraction(1)
        self._base_dts: int | None = None  # its first written packet's dts
        self._first_wall_ts = 0.0
        self._last_dts: int | None = None  # in the output's time base
        self._frame_s = Fraction(0)

    def add(self, source: Any, wall_start_ts: float, name: str) -> None:
        """Append the part of ``source`` (a segment starting at ``wall_start_ts``) that lies in the range.

        ``name`` says which segment it is in the log (camera id first).
        """
        stream = source.streams.video[0]
        ctx = stream.codec_context
        signature = (ctx.name, ctx.width, ctx.height, bytes(ctx.extradata or b""))
        if self.signature is not None and signature != self.signature:
            self.skipped += 1
            logger.warning("%s has other codec parameters than the export: skipped", name)
            return
        self._time_base, self._base_dts, self._last_dts = Fraction(stream.time_base), None, None
        try:
            self._append(source, stream, signature, wall_start_ts, name)
        finally:  # a file damaged halfway still keeps what was written of it, and the timeline runs on
            self._end_segment()

    def _append(self, source: Any, stream: Any, signature: tuple[Any, ...], wall_start_ts: float, name: str) -> None:
        first_dts: int | None = None
        pending: list[tuple[Any, float]] = []  # the GOP holding ``start_ts``, until a later packet shows it is whole
        for packet in source.demux(stream):
            if packet.dts is None or packet.size == 0:
                continue
            if packet.is_corrupt:  # a truncated file: what follows is gone anyway
                logger.warning("%s is damaged: cut short in the export", name)
                break
            first_dts = packet.dts if first_dts is None else first_dts
            wall_ts = wall_start_ts + float((packet.dts - first_dts) * self._time_base)
            if wall_ts >= self.end_ts:
                self.done = True
                break
            if not self.started and wall_ts <= self.start_ts:
                if packet.is_keyframe:
                    pending = [(packet, wall_ts)]
                elif pending:
                    pending.append((packet, wall_ts))
                continue
            if not self.started and not pending and not packet.is_keyframe:
                continue  # a file that does not begin with a keyframe: wait for one
            for waiting, waiting_ts in pending:
                self._write(stream, signature, waiting, waiting_ts)
            pending = []
            self._write(stream, signature, packet, wall_ts)
        for waiting, waiting_ts in pending:  # ``start_ts`` falls in this segment's last GOP
            self._write(stream, signature, waiting, waiting_ts)

    def _write(self, template: Any, signature: tuple[Any, ...], packet: Any, wall_ts: float) -> None:
        if self.out is None:
            self.out = av.open(str(self.path), "w", format="mp4", options={"movflags": "faststart"})
            self.stream = self.out.add_stream_from_template(template)
            self.stream.time_base = EXPORT_TIME_BASE
            self.signature, self.first_ts = signature, wall_ts
        self.started = True
        if self._base_dts is None:
            self._base_dts, self._first_wall_ts = packet.dts, wall_ts
        dts, pts, duration = packet.dts, packet.pts, packet.duration
        pts = dts if pts is None else pts
        out_dts = int((self.offset + (dts - self._base_dts) * self._time_base) / EXPORT_TIME_BASE)
        if self._last_dts is not None:
            if out_dts <= self._last_dts:
                return  # the muxer needs strictly rising timestamps
            self._frame_s = (out_dts - self._last_dts) * EXPORT_TIME_BASE
        if duration:
            self._frame_s = duration * self._time_base
        packet.dts = out_dts
        packet.pts = out_dts + round((pts - dts) * self._time_base / EXPORT_TIME_BASE)
        packet.duration = round(self._frame_s / EXPORT_TIME_BASE)
        packet.time_base = EXPORT_TIME_BASE
        packet.stream = self.stream
        self.out.mux(packet)
        self._last_dts = out_dts
        self.frames += 1
        self.last_end_ts = wall_ts + float(self._frame_s)

    def _end_segment(self) -> None:
        if self._last_dts is None:
            return  # nothing of this segment was in the range
        self.offset = self._last_dts * EXPORT_TIME_BASE + self._frame_s  # the next segment follows its last frame
        self.segments += 1
        self.covered_s += self.last_end_ts - self._first_wall_ts
        self._base_dts = self._last_dts = None

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self.out is not None:
            self.out.close()
            self.out = None
