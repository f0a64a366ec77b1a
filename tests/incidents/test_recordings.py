"""The recording index and exports of a time range, over segments recorded from a real RTSP camera."""

from __future__ import annotations

import itertools
import logging
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import AppConfig
from core.messages import RecordingSegment as FinishedSegment
from incidents.cameras import sync_cameras
from incidents.db import session_scope
from incidents.models import RecordingSegment
from incidents.recorder import IncidentRecorder
from incidents.recordings import RecordingNotFound, coverage, export_range, index_segment, segments_between
from incidents.types import from_ts
from runtime.bus import BusConsumer
from tests.fixtures.recording import GOP_S, index_copies, live_camera, record

pytestmark = pytest.mark.rtsp

CAMERA = "simpang_lima"


@pytest.fixture(scope="module")
def recorded(footage_dir: Path, system_python: str, tmp_path_factory: pytest.TempPathFactory) -> list[FinishedSegment]:
    """About seven seconds of a real camera in 2 s segments (recorded once for this module)."""
    directory = tmp_path_factory.mktemp("recorded")
    with live_camera(footage_dir, system_python) as url:
        segments = record(url, directory, seconds=7, segment_s=2, camera_id=CAMERA)
    assert len(segments) >= 3
    return segments


@pytest.fixture
def recordings_dir(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


@pytest.fixture
def sessions(session_factory: sessionmaker[Session], config: AppConfig) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        sync_cameras(config, session=session)
    return session_factory


@pytest.fixture
def indexed(
    recorded: list[FinishedSegment], recordings_dir: Path, sessions: sessionmaker[Session]
) -> list[RecordingSegment]:
    """The module's segments, copied into this test's recordings directory and indexed."""
    return index_copies(recorded, recordings_dir, sessions)


def _frames(path: Path) -> tuple[list[av.VideoFrame], float]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        return frames, float(container.duration or 0) / 1e6


def test_a_segment_is_indexed_once_with_its_path_relative_to_the_recordings_directory(
    recorded: list[FinishedSegment],
    indexed: list[RecordingSegment],
    recordings_dir: Path,
    sessions: sessionmaker[Session],
) -> None:
    first = indexed[0]
    assert first.path == f"{CAMERA}/{first.start_at:%Y-%m-%d}/{first.start_at:%H}/{Path(first.path).name}"
    assert (recordings_dir / first.path).is_file()
    assert first.start_at == from_ts(recorded[0].start_ts)
    with session_scope(sessions) as session:
        again = index_segment(
            replace(recorded[0], path=str(recordings_dir / first.path)), recordings_dir, session=session
        )
        assert again is not None and again.id == first.id
        assert session.scalar(select(func.count()).select_from(RecordingSegment)) == len(indexed)


def test_a_segment_outside_the_recordings_directory_or_of_an_unknown_camera_is_refused(
    recorded: list[FinishedSegment],
    recordings_dir: Path,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="incidents.recordings"), session_scope(sessions) as session:
        assert index_segment(recorded[0], recordings_dir, session=session) is None  # it lies elsewhere
        stranger = replace(recorded[0], camera_id="nope", path=str(recordings_dir / "nope" / "x.mp4"))
        assert index_segment(stranger, recordings_dir, session=session) is None
        assert session.scalar(select(func.count()).select_from(RecordingSegment)) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith(f"{CAMERA}: segment") and "outside the recordings directory" in messages[0]
    assert messages[1].startswith("nope: segment") and "unknown camera" in messages[1]


def test_segments_overlapping_a_range_and_their_coverage(
    indexed: list[RecordingSegment], sessions: sessionmaker[Session]
) -> None:
    first, second = indexed[0], indexed[1]
    with session_scope(sessions) as session:
        inside = segments_between(CAMERA, first.start_at + timedelta(seconds=0.5), second.start_at, session=session)
        assert [s.id for s in inside] == [first.id]  # the range ends where the second begins
        both = segments_between(CAMERA, first.end_at - timedelta(seconds=0.1), second.end_at, session=session)
        assert [s.id for s in both] == [first.id, second.id]
        assert segments_between("ampera", first.start_at, second.end_at, session=session) == []
    assert coverage(indexed) == [(indexed[0].start_at, indexed[-1].end_at)]  # abutting: one stretch
    assert coverage([indexed[0], indexed[2]]) == [
        (indexed[0].start_at, indexed[0].end_at),
        (indexed[2].start_at, indexed[2].end_at),
    ]


def test_an_export_across_segments_plays_from_its_first_frame_and_covers_the_range(
    indexed: list[RecordingSegment], recordings_dir: Path, tmp_path: Path
) -> None:
    start = indexed[0].start_at + timedelta(seconds=1.5)
    end = indexed[2].start_at + timedelta(seconds=0.5)
    info = export_range(indexed, recordings_dir, start, end, tmp_path / "out" / "export.mp4")
    assert info.segments == 3 and info.skipped_segments == 0
    assert start - timedelta(seconds=GOP_S) <= info.start <= start  # the keyframe at or before the start
    assert end - timedelta(seconds=0.1) <= info.end <= end + timedelta(seconds=0.05)
    frames, seconds = _frames(info.path)
    assert frames[0].key_frame
    assert len(frames) == info.frames
    wanted = (end - start).total_seconds()
    assert wanted <= seconds + 0.1 <= wanted + GOP_S + 0.2
    assert seconds == pytest.approx(info.covered_s, abs=0.05) == pytest.approx(info.duration_s, abs=0.05)
    times = [float(f.time or 0) for f in frames]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert min(steps) > 0 and max(steps) < 0.1  # continuous across the segment boundaries, at 25 fps
    assert info.path.read_bytes()[:64].index(b"moov") < 64
    assert not list(info.path.parent.glob(".*partial"))


def test_an_export_over_a_gap_closes_it_up_and_reports_what_was_recorded(
    indexed: list[RecordingSegment], recordings_dir: Path, tmp_path: Path
) -> None:
    first, third = indexed[0], indexed[2]  # the second one is missing: a camera outage
    info = export_range([first, third], recordings_dir, first.start_at, third.end_at, tmp_path / "gap.mp4")
    frames, seconds = _frames(info.path)
    recorded = (first.end_at - first.start_at + third.end_at - third.start_at).total_seconds()
    assert info.covered_s == pytest.approx(recorded, abs=0.1)
    assert seconds == pytest.approx(recorded, abs=0.1)
    assert len(frames) == first.frames + third.frames and frames[0].key_frame


def test_an_export_skips_a_segment_whose_file_is_gone(
    indexed: list[RecordingSegment], recordings_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (recordings_dir / indexed[1].path).unlink()  # deleted by retention while the export ran
    with caplog.at_level(logging.WARNING, logger="incidents.recordings"):
        info = export_range(indexed[:3], recordings_dir, indexed[0].start_at, indexed[2].end_at, tmp_path / "e.mp4")
    assert info.segments == 2
    assert any(r.getMessage().startswith(f"{CAMERA}: segment {indexed[1].path} skipped") for r in caplog.records)


def test_an_export_of_a_range_without_recording_says_so_and_leaves_no_file(
    indexed: list[RecordingSegment], recordings_dir: Path, tmp_path: Path
) -> None:
    later = indexed[-1].end_at + timedelta(minutes=5)
    target = tmp_path / "none.mp4"
    with pytest.raises(RecordingNotFound, match="nothing is recorded between"):
        export_range(indexed, recordings_dir, later, later + timedelta(minutes=1), target)
    assert not target.exists() and not list(tmp_path.glob(".*partial"))


def test_the_bus_indexes_the_segments_that_camera_workers_announce(
    recorded: list[FinishedSegment], recordings_dir: Path, sessions: sessionmaker[Session], recorder: IncidentRecorder
) -> None:
    source = Path(recorded[0].path)
    target = recordings_dir / source.relative_to(source.parents[3])
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    BusConsumer(recorder, sessions, recordings_dir=recordings_dir).handle(replace(recorded[0], path=str(target)))
    with session_scope(sessions) as session:
        (row,) = session.scalars(select(RecordingSegment)).all()
    assert (row.camera_id, row.path, row.size_bytes) == (
        CAMERA,
        target.relative_to(recordings_dir).as_posix(),
        target.stat().st_size,
    )


def test_a_segment_damaged_halfway_does_not_break_the_export(
    indexed: list[RecordingSegment], recordings_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = recordings_dir / indexed[1].path
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])  # a disk error, a torn copy
    with caplog.at_level(logging.WARNING, logger="incidents.recordings"):
        info = export_range(indexed[:3], recordings_dir, indexed[0].start_at, indexed[2].end_at, tmp_path / "d.mp4")
    assert f"{CAMERA}: segment {indexed[1].path} is damaged: cut short in the export" in caplog.messages
    frames, seconds = _frames(info.path)
    assert frames[0].key_frame and len(frames) == info.frames
    times = [float(f.time or 0) for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert seconds == pytest.approx(info.duration_s, abs=0.05)
    assert info.frames < indexed[0].frames + indexed[1].frames + indexed[2].frames
