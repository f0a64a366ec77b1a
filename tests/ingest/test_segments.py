"""Continuous recording from a real RTSP camera: segments at keyframes, playable, abutting, written off the reader."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import pytest

from core.messages import RecordingSegment
from ingest.ringbuffer import BufferedPacket, StreamParams
from ingest.segments import QUEUE_LIMIT, SegmentWriter
from tests.fixtures.recording import GOP_S, live_camera, live_packets, record

pytestmark = pytest.mark.rtsp

SEGMENT_S = 2.0


@pytest.fixture(scope="module")
def live_url(footage_dir: Path, system_python: str) -> Iterator[str]:
    with live_camera(footage_dir, system_python) as url:
        yield url


@pytest.fixture(scope="module")
def captured(live_url: str) -> tuple[list[BufferedPacket], StreamParams]:
    """About four seconds of the camera's real packets in whole GOPs, to replay into writers at will."""
    items = list(live_packets(live_url, 4.5))
    packets = [packet for packet, _ in items]
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    return packets[keyframes[0] : keyframes[-1]], items[0][1]


def _drain(outbox: queue.Queue[RecordingSegment]) -> list[RecordingSegment]:
    return [outbox.get_nowait() for _ in range(outbox.qsize())]


def _looped(packets: list[BufferedPacket], params: StreamParams, times: int) -> list[BufferedPacket]:
    """The capture repeated ``times`` times, media and arrival times running on (a longer real stream)."""
    time_base = Fraction(params.time_base_num, params.time_base_den)
    step = packets[-1].dts - packets[0].dts + (packets[1].dts - packets[0].dts)
    span_s = float(step * time_base)
    return [
        replace(p, pts=p.pts + k * step, dts=p.dts + k * step, arrival_ts=p.arrival_ts + k * span_s)
        for k in range(times)
        for p in packets
    ]


def test_segments_of_a_live_stream_each_play_from_their_first_frame_and_abut_in_time(
    live_url: str, tmp_path: Path
) -> None:
    segments = record(live_url, tmp_path / "rec", seconds=7, segment_s=SEGMENT_S, camera_id="cam_a")
    assert len(segments) >= 3, segments
    for segment in segments:
        path = Path(segment.path)
        at = datetime.fromtimestamp(segment.start_ts, UTC)
        assert path.parent == tmp_path / "rec" / "cam_a" / at.strftime("%Y-%m-%d") / at.strftime("%H")
        assert path.name == f"{round(segment.start_ts * 1000)}.mp4"
        assert segment.size_bytes == path.stat().st_size
        assert path.read_bytes()[:64].index(b"moov") < 64  # faststart
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert next(container.demux(stream)).is_keyframe
            container.seek(0)
            frames = list(container.decode(stream))
            seconds = float(container.duration or 0) / 1e6
        assert frames[0].key_frame
        assert len(frames) == segment.frames
        assert seconds == pytest.approx(segment.end_ts - segment.start_ts, abs=0.05)
    for earlier, later in itertools.pairwise(segments):
        assert later.start_ts == pytest.approx(earlier.end_ts, abs=1e-6)  # one ends where the next begins
    for closed in segments[:-1]:  # the last one was cut short by close()
        assert SEGMENT_S <= closed.end_ts - closed.start_ts <= SEGMENT_S + GOP_S + 0.1
    assert not list((tmp_path / "rec").rglob("*.partial"))


def test_packets_before_the_first_keyframe_are_discarded(
    captured: tuple[list[BufferedPacket], StreamParams], tmp_path: Path
) -> None:
    packets, params = captured
    outbox: queue.Queue[RecordingSegment] = queue.Queue()
    writer = SegmentWriter("cam_a", tmp_path, SEGMENT_S, outbox)
    second_key = next(i for i, p in enumerate(packets) if p.is_keyframe and i > 0)
    for packet in packets[1:]:  # joins mid-GOP, as after opening a stream
        writer.add(packet, params)
    writer.close()
    first, *_ = _drain(outbox)
    assert first.start_ts == packets[second_key].arrival_ts
    with av.open(first.path) as container:
        assert next(iter(container.decode(video=0))).key_frame


def test_a_reconnect_closes_the_segment_and_the_next_starts_at_a_keyframe_of_the_new_connection(
    captured: tuple[list[BufferedPacket], StreamParams], tmp_path: Path
) -> None:
    packets, params = captured
    outbox: queue.Queue[RecordingSegment] = queue.Queue()
    writer = SegmentWriter("cam_a", tmp_path, 60.0, outbox)
    half = len(packets) // 2
    later_s = 30.0  # the camera came back half a minute later, its clock started anew
    for packet in packets[:half]:
        writer.add(packet, params)
    for packet in packets[half:]:
        writer.add(replace(packet, epoch=2, arrival_ts=packet.arrival_ts + later_s), params)
    writer.close()
    before, after = _drain(outbox)
    assert before.end_ts < after.start_ts  # a gap: nothing was recorded while it was away
    assert before.frames == half
    first_key_after = next(p for p in packets[half:] if p.is_keyframe)
    assert after.start_ts == first_key_after.arrival_ts + later_s
    with av.open(after.path) as container:
        assert next(iter(container.decode(video=0))).key_frame


def test_a_gap_in_the_media_timestamps_ends_the_segment(
    captured: tuple[list[BufferedPacket], StreamParams], tmp_path: Path
) -> None:
    packets, params = captured
    time_base = Fraction(params.time_base_num, params.time_base_den)
    jump = int(10 / time_base)  # ten seconds of footage the camera never sent
    cut = next(i for i, p in enumerate(packets) if p.is_keyframe and i > len(packets) // 3)
    outbox: queue.Queue[RecordingSegment] = queue.Queue()
    writer = SegmentWriter("cam_a", tmp_path, 60.0, outbox)
    for i, packet in enumerate(packets):
        shifted = replace(packet, dts=packet.dts + jump, pts=packet.pts + jump, arrival_ts=packet.arrival_ts + 10)
        writer.add(shifted if i >= cut else packet, params)
    writer.close()
    before, after = _drain(outbox)
    assert before.frames == cut
    assert after.start_ts - before.end_ts == pytest.approx(10, abs=0.2)


def test_a_disk_too_slow_drops_whole_segments_and_says_so_instead_of_holding_the_reader(
    captured: tuple[list[BufferedPacket], StreamParams], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    packets, params = captured

    class StuckOutbox:
        """Holds the writer thread after its first file, as a disk that stopped answering would."""

        def __init__(self) -> None:
            self.release = threading.Event()
            self.items: list[RecordingSegment] = []

        def put(self, item: RecordingSegment) -> None:
            self.release.wait(timeout=30)
            self.items.append(item)

    outbox = StuckOutbox()
    writer = SegmentWriter("cam_a", tmp_path, 0.5, outbox)  # a segment per GOP, so many of them
    stream = _looped(packets, params, 3)
    with caplog.at_level(logging.WARNING, logger="ingest.segments"):
        for packet in stream:
            writer.add(packet, params)  # returns at once: the writer thread never blocks the reader
    assert writer.dropped >= 1
    assert any(r.message.startswith("cam_a: disk too slow") for r in caplog.records)
    outbox.release.set()
    writer.close()
    keyframes = sum(p.is_keyframe for p in stream)
    assert len(outbox.items) + writer.dropped == keyframes  # every GOP was either written or dropped
    assert len(outbox.items) <= QUEUE_LIMIT + 2  # the one being written, the queue, the last one at close
    for item in outbox.items:
        assert Path(item.path).is_file()


def test_close_writes_the_open_segment_and_later_packets_are_ignored(
    captured: tuple[list[BufferedPacket], StreamParams], tmp_path: Path
) -> None:
    packets, params = captured
    outbox: queue.Queue[RecordingSegment] = queue.Queue()
    writer = SegmentWriter("cam_a", tmp_path, 60.0, outbox)
    for packet in packets:
        writer.add(packet, params)
    assert outbox.empty()  # still open: shorter than a segment
    writer.close()
    writer.add(packets[0], params)
    writer.close()  # twice is fine
    (only,) = _drain(outbox)
    assert only.frames == len(packets)
