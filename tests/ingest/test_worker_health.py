"""Fault injection against a real RTSP server: each failure gives its own health state and reason.

Wrong password, wrong path, a frozen, black or blurred picture, a separate record input that
works or fails: the worker names what is wrong and never stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from core.messages import CameraState, ClipRequest
from ingest.simulator import Simulator
from ingest.worker import CameraWorker
from tests.ingest.workers import RunningWorker, make_camera

pytestmark = pytest.mark.rtsp

ServerFactory = Callable[..., Simulator]
TAMPER_OFF = {"frozen_after_s": 0, "dark_after_s": 0, "blur_after_s": 0}


def test_a_wrong_password_is_auth_failed_and_the_right_one_works(
    rtsp_camera_server: ServerFactory, running: Callable[..., RunningWorker]
) -> None:
    server = rtsp_camera_server({"cam": "bgslibrary-video02.avi"}, user="operator", password="s3cret")
    started = time.monotonic()
    w = running(make_camera(server.url("cam").replace("s3cret", "wrong-pw")))
    assert w.wait_for(lambda: w.state == CameraState.AUTH_FAILED, 10), w.statuses
    assert time.monotonic() - started < 5  # a refusal is definitive: no need to wait offline_after_s
    reason = w.statuses[-1].reason or ""
    assert "401" in reason and "password" in reason, reason
    assert "wrong-pw" not in reason
    assert w.wait_for(lambda: w.statuses[-1].reconnects >= 2, 15)  # keeps trying: the password may be fixed
    assert w.state == CameraState.AUTH_FAILED and w.thread.is_alive()

    right = running(make_camera(server.url("cam")))
    assert right.wait_for(lambda: right.state == CameraState.ONLINE, 15), right.statuses


def test_a_wrong_path_is_offline_with_404(
    rtsp_camera_server: ServerFactory, running: Callable[..., RunningWorker]
) -> None:
    server = rtsp_camera_server({"cam": "bgslibrary-video02.avi"})
    w = running(make_camera(server.url("cam").removesuffix("/cam") + "/no-such-camera"))
    assert w.wait_for(lambda: w.state == CameraState.OFFLINE, 10), w.statuses
    reason = w.statuses[-1].reason or ""
    assert "404" in reason and "path" in reason, reason
    assert w.thread.is_alive()


@pytest.mark.parametrize(
    ("footage", "health", "word"),
    [
        ("frozen", {**TAMPER_OFF, "frozen_after_s": 4}, "frozen"),
        ("black", {**TAMPER_OFF, "dark_after_s": 3}, "dark"),
        ("blurred", {**TAMPER_OFF, "blur_after_s": 4}, "blurred"),
    ],
)
def test_a_frozen_black_or_blurred_picture_is_tampered_while_frames_still_flow(
    rtsp_camera_server: ServerFactory,
    running: Callable[..., RunningWorker],
    fault_footage: dict[str, Path],
    footage: str,
    health: dict[str, float],
    word: str,
) -> None:
    server = rtsp_camera_server({"cam": str(fault_footage[footage])})
    w = running(make_camera(server.url("cam"), health=health))
    assert w.wait_for(lambda: w.state == CameraState.TAMPERED, 20), w.statuses
    status = w.statuses[-1]
    assert word in (status.reason or ""), status.reason
    assert status.fps_in > 10  # the stream is fine; the picture is not


def test_real_street_footage_is_never_called_tampered(
    rtsp_camera_server: ServerFactory, running: Callable[..., RunningWorker]
) -> None:
    """The same short windows as above, on the real scenes: none of the three conditions may fire."""
    server = rtsp_camera_server({"traffic": "bgslibrary-video02.avi", "cars": "car-detection.mp4"})
    windows = {"frozen_after_s": 4, "dark_after_s": 3, "blur_after_s": 4}
    workers = [running(make_camera(server.url(name), health=windows)) for name in ("traffic", "cars")]
    for w in workers:
        assert w.wait_for(lambda w=w: w.state == CameraState.ONLINE, 15), w.statuses
    deadline = time.monotonic() + 12
    for w in workers:
        w.wait_for(lambda: time.monotonic() > deadline, 13)
        assert [s.state for s in w.statuses if s.state == CameraState.TAMPERED] == [], w.statuses[-1]
        assert w.state == CameraState.ONLINE


def test_status_reports_bitrate_decode_time_and_the_streams_own_rate(
    rtsp_camera_server: ServerFactory, running: Callable[..., RunningWorker]
) -> None:
    server = rtsp_camera_server({"cam": "bgslibrary-video02.avi"})
    w = running(make_camera(server.url("cam")))
    assert w.wait_for(lambda: w.state == CameraState.ONLINE and len(w.statuses) >= 3, 15), w.statuses
    assert w.wait_for(lambda: w.statuses[-1].bitrate_kbps > 0 and w.statuses[-1].buffer_fill > 0.2, 10)
    status = w.statuses[-1]
    assert status.nominal_fps == pytest.approx(25, abs=0.5)
    assert 50 < status.bitrate_kbps < 5000
    assert status.bytes_in > 10_000
    assert 0 < status.decode_ms < 100
    assert status.reconnects_hour == 0 and status.record_state is None  # one input: no separate record state


def test_a_separate_record_input_feeds_clips_at_full_resolution(
    rtsp_camera_server: ServerFactory,
    running: Callable[..., RunningWorker],
    fault_footage: dict[str, Path],
    tmp_path: Path,
) -> None:
    server = rtsp_camera_server({"main": "bgslibrary-video02.avi", "sub": str(fault_footage["lowres"])})
    w = running(make_camera(server.url("sub"), record_url=server.url("main")))
    assert w.wait_for(lambda: w.state == CameraState.ONLINE and w.statuses[-1].record_state == "online", 15), w.statuses
    assert w.next_frame().image.shape == (120, 160, 3)  # analytics gets the small stream
    time.sleep(3)
    now = time.time()
    target = tmp_path / "clip.mp4"
    w.control.put(ClipRequest("r1", "cam_test", 1, now - 2, now + 1, str(target)))
    assert w.wait_for(lambda: bool(w.clips), 15)
    assert w.clips[0].ok, w.clips[0].error
    with av.open(str(target)) as clip:
        frames = list(clip.decode(video=0))
    assert frames[0].key_frame and (frames[0].width, frames[0].height) == (320, 240)  # the record stream
    assert w.wait_for(lambda: w.statuses[-1].bitrate_kbps > 0 and w.statuses[-1].buffer_s > 2, 10), w.statuses[-1]


def test_a_failing_record_input_degrades_the_camera_but_detection_goes_on(
    rtsp_camera_server: ServerFactory,
    running: Callable[..., RunningWorker],
    fault_footage: dict[str, Path],
) -> None:
    server = rtsp_camera_server({"sub": str(fault_footage["lowres"])})
    w = running(make_camera(server.url("sub"), record_url=server.url("sub").removesuffix("/sub") + "/main"))
    assert w.wait_for(lambda: w.state == CameraState.DEGRADED, 15), w.statuses
    status = w.statuses[-1]
    assert "record input" in (status.reason or "") and "404" in (status.reason or ""), status.reason
    assert status.record_state == CameraState.OFFLINE
    first = w.next_frame().seq
    time.sleep(1)
    assert w.next_frame().seq > first  # frames keep flowing to analytics


def test_a_flapping_link_is_degraded_but_a_long_outage_is_not_counted_as_flapping(
    rtsp_camera_server: ServerFactory, running: Callable[..., RunningWorker]
) -> None:
    server = rtsp_camera_server({"cam": "bgslibrary-video02.avi"})
    w = running(make_camera(server.url("cam"), health={"max_reconnects_per_hour": 1}, reconnect_initial_s=0.2))
    assert w.wait_for(lambda: w.state == CameraState.ONLINE, 15), w.statuses
    server.stop()
    time.sleep(6)  # several failed attempts: not flapping yet, the link came back zero times
    assert w.wait_for(lambda: w.statuses[-1].reconnects >= 2, 5)
    server.start()
    assert w.wait_for(lambda: w.state == CameraState.ONLINE, 20), w.statuses
    assert w.statuses[-1].reconnects_hour == 1
    server.restart()  # lost and regained a second time: more than once an hour
    assert w.wait_for(lambda: w.state == CameraState.DEGRADED, 25), w.statuses
    assert "unstable link: lost and regained 2 times" in (w.statuses[-1].reason or "")


def test_a_camera_delivering_too_few_frames_is_degraded_once_the_connection_settled(tmp_path: Path) -> None:
    """The judgement itself, with the worker's own meters fed a 25 fps stream that delivers 8 fps."""
    import queue
    import threading

    from ingest.frameslots import FrameSlots, capacity_for

    camera = make_camera("rtsp://127.0.0.1:9/cam", health={"min_fps_ratio": 0.5})
    now = [1000.0]
    frames = FrameSlots.create(tmp_path / "frames", camera.id, capacity_for(320))
    worker = CameraWorker(camera, frames, queue.Queue(), queue.Queue(), threading.Event(), clock=lambda: now[0])
    worker.nominal_fps, worker.connected_ts, worker.failure = 25.0, 1000.0, None
    for i in range(8 * 20):  # 20 s at 8 fps
        now[0] = 1000.0 + i / 8
        worker._fps_in.tick(now[0])
        worker.last_frame_ts = now[0]
    state, reason = worker.judge(now[0])
    assert state == CameraState.DEGRADED and reason is not None
    assert reason.startswith("low frame rate: 8.") and reason.endswith(" of 25.0 fps"), reason
    worker.connected_ts = now[0] - 5  # a fresh connection gets FPS_SETTLE_S before it is judged
    assert worker.judge(now[0]) == (CameraState.ONLINE, None)
    frames.unlink()
