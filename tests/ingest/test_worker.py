"""A camera worker against a real RTSP server: frames, packet buffer, clips, health, reconnects."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from core.messages import CameraState, ClipRequest
from ingest.simulator import Simulator
from tests.ingest.workers import RunningWorker, make_camera, online_worker

pytestmark = pytest.mark.rtsp


def test_worker_samples_frames_and_cuts_a_playable_clip_without_reencoding(
    rtsp_camera_server: Callable[[dict[str, str]], Simulator],
    running: Callable[..., RunningWorker],
    tmp_path: Path,
) -> None:
    _, w = online_worker(rtsp_camera_server, running)
    first = w.next_frame()
    assert first.image.shape == (240, 320, 3) and first.camera_id == "cam_test"
    time.sleep(4)  # let the buffer hold a pre-roll
    event_ts = time.time()
    target = tmp_path / "clips" / "incident-1.mp4"
    w.control.put(ClipRequest("req-1", "cam_test", 1, event_ts - 2, event_ts + 2, str(target)))
    assert w.wait_for(lambda: bool(w.clips), 15)
    (result,) = w.clips
    assert result.ok, result.error
    assert result.start_ts is not None and result.start_ts <= event_ts - 2 + 0.05  # starts at the keyframe before
    assert target.is_file() and not list(target.parent.glob(".*partial"))
    head = target.read_bytes()[:64]
    assert head.index(b"moov") < 64  # faststart: the index comes first, so a browser plays at once
    with av.open(str(target)) as clip:
        stream = clip.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = list(clip.decode(stream))
        seconds = float(clip.duration or 0) / 1e6
    assert frames[0].key_frame
    assert 4.0 <= seconds <= 4.0 + 2.5, seconds  # pre + post, plus up to one GOP before the start
    assert abs(len(frames) / 25 - seconds) < 0.5
    status = w.statuses[-1]
    assert status.fps_in > 15 and status.codec == "h264" and (status.width, status.height) == (320, 240)
    assert w.wait_for(lambda: w.statuses[-1].buffer_s >= 3, 10)  # reports come every 2 s


def test_worker_reconnects_after_the_server_goes_away_and_comes_back(
    rtsp_camera_server: Callable[[dict[str, str]], Simulator],
    running: Callable[..., RunningWorker],
) -> None:
    server, w = online_worker(rtsp_camera_server, running)
    before = w.next_frame().seq
    server.stop()
    assert w.wait_for(lambda: w.state == CameraState.OFFLINE, 15), w.statuses
    offline = w.statuses[-1]
    assert offline.reason
    time.sleep(3)  # stay down for a while, as a real outage would
    server.start()
    assert w.wait_for(lambda: w.state == CameraState.ONLINE, 30), w.statuses
    w.reader.get_latest()  # let go of a frame from before the outage
    after = w.next_frame(timeout_s=10)
    assert after.seq > before
    assert w.statuses[-1].reconnects >= 1
    assert w.thread.is_alive()


def test_an_unreachable_camera_is_reported_offline_with_a_reason(
    running: Callable[..., RunningWorker],
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    w = running(make_camera(f"rtsp://user:pw@127.0.0.1:{port}/nothing"))
    assert w.wait_for(lambda: w.state == CameraState.OFFLINE, 15), w.statuses
    reason = w.statuses[-1].reason or ""
    assert "refused" in reason.lower(), reason
    assert "pw" not in reason
    assert w.wait_for(lambda: w.statuses[-1].reconnects >= 2, 15)  # keeps trying, with backoff
    assert w.thread.is_alive()


def test_a_file_is_replayed_in_a_loop_at_its_own_speed(running: Callable[..., RunningWorker], assets_dir: Path) -> None:
    gif = assets_dir / "footage" / "person-bicycle-car-detection.gif"  # 41 frames, 3.4 s
    w = running(make_camera(str(gif), max_width=240))
    start = time.monotonic()
    frames = [w.next_frame() for _ in range(25)]  # 5 s at 5 fps: past the end of the file
    seqs = [frame.seq for frame in frames]
    assert frames[0].image.shape == (136, 240, 3)  # 480x270 scaled to the detect width, even height
    elapsed = time.monotonic() - start
    assert seqs == sorted(seqs)
    assert elapsed > 3.0  # paced, not decoded as fast as possible
    assert w.thread.is_alive()


def test_a_silent_link_is_caught_by_the_read_timeout(
    rtsp_camera_server: Callable[[dict[str, str]], Simulator],
    running: Callable[..., RunningWorker],
) -> None:
    server, w = online_worker(rtsp_camera_server, running)
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)  # the connection stays open but nothing arrives: a hung link
    try:
        assert w.wait_for(lambda: w.state == CameraState.OFFLINE, 20), w.statuses
        assert "timed out" in (w.statuses[-1].reason or ""), w.statuses[-1]
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert w.wait_for(lambda: w.state == CameraState.ONLINE, 30), w.statuses


@pytest.mark.parametrize("footage", ["car-detection.mp4", "uadetrac-intersection-8s.mp4"])
def test_a_clip_cut_from_a_replayed_mp4_file_plays_on_its_own(
    running: Callable[..., RunningWorker], assets_dir: Path, tmp_path: Path, footage: str
) -> None:
    """MP4 files hold length-prefixed H.264 (the second one with B-frames): clips must still decode."""
    w = running(make_camera(str(assets_dir / "footage" / footage)))
    w.next_frame()
    time.sleep(3)
    now = time.time()
    target = tmp_path / "clip.mp4"
    w.control.put(ClipRequest("r1", "cam_test", 1, now - 2, now + 1, str(target)))
    assert w.wait_for(lambda: bool(w.clips), 15)
    assert w.clips[0].ok, w.clips[0].error
    with av.open(str(target)) as clip:
        frames = list(clip.decode(video=0))
    assert frames[0].key_frame and len(frames) >= 2 * 12  # about 3 s of 12.5-30 fps video, all decodable
