"""CPU cost of ingesting RTSP cameras: the camera worker against plain ffmpeg decoding, and cameras per core.

    python -m bench.ingest [--seconds 30] [--step-seconds 20] [--max 12] [--json results.json]

Real footage, scaled to 1280x720 at 15 fps and looped, is served by the camera simulator (Debian's
GStreamer RTSP server). Each contender is a process of its own, read over TCP from the same server
over the same measured window, and its CPU time (user + system, every thread) is read from /proc,
so the ratios against ffmpeg hold on a shared, noisy machine; absolute figures are for orientation.

1. ffmpeg decoding every frame of the 720p stream and discarding it: the baseline.
2. The camera worker on the same stream (detect at 5 fps, packet ring on, frames into shared memory).
3. The worker with a 640x360 detect input beside the 720p record input (demuxed into the ring only).
4. Cameras per core: N workers on N 720p cameras, N = 1, 2, 4, 6, 8 ... --max, until one falls behind.

A camera keeps up when it reads at least 95% of the stream's frame rate (``fps_in`` of its
statuses) without reconnecting. ``dropped`` is the worker's ``frames_dropped``: frames analytics
never took from the shared-memory slots; nothing reads them here, so it stays 0, and a worker
that cannot keep up shows as a lower ``fps_in`` instead. The RTSP server runs on the same machine;
its CPU is measured and reported apart from the workers', with the share of the machine busy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.config import CameraConfig
from core.messages import CameraState, CameraStatus, ClipRequest
from core.settings import PROJECT_ROOT, Settings
from ingest.simulator import SimulatedCamera, Simulator, find_system_python

FOOTAGE = "uadetrac-intersection-8s.mp4"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FULL = (1280, 720)
LOW = (640, 360)
STREAM_FPS = 15
DETECT_FPS = 5.0
KEEP_UP = 0.95  # a camera keeps up when it reads at least this share of the stream's frame rate
SATURATED = 0.95  # the machine's share busy above which a camera falling behind says nothing of the worker
STEPS = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
START_TIMEOUT_S = 60.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
LOCATION = {"lat": -2.9761, "lon": 104.7754}  # Palembang


def _progress(message: str) -> None:
    print(f"ingest bench: {message}", file=sys.stderr, flush=True)


# -- CPU time ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime (fields 14 and 15)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, every core and every process."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


# -- the test streams -------------------------------------------------------------------------------


def prepare_streams(source: Path, cache: Path, clip_s: float) -> tuple[Path, Path]:
    """The 720p test stream (``source`` scaled, 15 fps, looped to ``clip_s``) and its low-resolution twin.

    Both are made once with ffmpeg and kept in ``cache``; the simulator serves a file at its own
    resolution and frame rate.
    """
    stem = f"{source.stem}-{clip_s:g}s-{STREAM_FPS}fps"
    full = cache / f"{stem}-{FULL[0]}x{FULL[1]}.mp4"
    low = cache / f"{stem}-{LOW[0]}x{LOW[1]}.mp4"
    scale = f"scale={FULL[0]}:{FULL[1]},fps={STREAM_FPS}"
    _transcode(["-stream_loop", "-1", "-i", str(source), "-t", f"{clip_s:g}", "-vf", scale], full)
    _transcode(["-i", str(full), "-vf", f"scale={LOW[0]}:{LOW[1]}"], low)
    return full, low


def _transcode(arguments: list[str], target: Path) -> None:
    if target.is_file():
        return
    _progress(f"making {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial.mp4")
    encode = ["-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *arguments, *encode, str(partial)], check=True)
    partial.replace(target)


def camera(camera_id: str, detect_url: str, record_url: str | None = None) -> CameraConfig:
    """A camera reading ``detect_url`` at 5 detect fps, with ``record_url`` as a separate record input."""
    inputs = [{"url": detect_url, "roles": ["detect", "record"] if record_url is None else ["detect"]}]
    if record_url is not None:
        inputs.append({"url": record_url, "roles": ["record"]})
    return CameraConfig.model_validate(
        {"id": camera_id, "name": camera_id, "inputs": inputs, "location": LOCATION, "detect": {"fps": DETECT_FPS}}
    )


# -- measured processes -----------------------------------------------------------------------------


class Child:
    """A measured process: its CPU time from /proc, its progress (ffmpeg) or statuses (worker) from stdout."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.frames = 0  # frames ffmpeg has decoded
        self.statuses: list[tuple[float, CameraStatus]] = []  # (arrival, monotonic clock), from a worker
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def ffmpeg(cls, name: str, url: str) -> Child:
        """ffmpeg decoding every frame of ``url`` and discarding it, reporting its frame count."""
        command = [FFMPEG, "-nostdin", "-v", "fatal", "-nostats", "-progress", "pipe:1", "-stats_period", "0.25"]
        return cls(name, [*command, "-rtsp_transport", "tcp", "-i", url, "-an", "-f", "null", "-"])

    @classmethod
    def worker(cls, name: str, config: CameraConfig, frames: Path) -> Child:
        """A camera worker in a process of its own (see :func:`run_worker`)."""
        command = [sys.executable, "-m", "bench.ingest", "--worker", config.model_dump_json(), "--frames", str(frames)]
        return cls(name, command)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("frame="):
                self.frames = int(line.partition("=")[2])
            elif line.startswith("{"):
                self.statuses.append((time.monotonic(), status_from_json(line)))

    @property
    def streaming(self) -> bool:
        """Whether frames flow (ffmpeg has decoded one; the worker reports itself up)."""
        return self.frames > 0 or any(status.state.is_up for _, status in self.statuses[-1:])

    def cpu_s(self) -> float:
        """CPU seconds used so far; raises when the process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self.process.returncode}")
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def status_from_json(line: str) -> CameraStatus:
    """A :class:`CameraStatus` from the JSON line a worker process prints."""
    data = json.loads(line)
    data["state"] = CameraState(data["state"])
    if data.get("record_state") is not None:
        data["record_state"] = CameraState(data["record_state"])
    return CameraStatus(**data)


@dataclass
class Usage:
    """What one process did over a measured window."""

    name: str
    cpu_s: float
    wall_s: float
    fps_in: float | None = None  # frames read per second (ffmpeg: decoded)
    fps_out: float | None = None  # frames handed to analytics per second
    dropped: int | None = None  # the worker's frames_dropped at the end of the window
    nominal_fps: float | None = None  # what the stream announces
    keeps_up: bool | None = None
    record_read: bool | None = None  # a separate record input was online (None: the camera has none)
    vs_baseline: float | None = None  # CPU time over the baseline's

    @property
    def cores(self) -> float:
        """CPU seconds per second of the window: 1.0 is one core kept busy."""
        return self.cpu_s / self.wall_s


@dataclass
class Window:
    """One measured window: every child's usage, the RTSP server's and the machine's share busy."""

    usages: list[Usage]
    server: Usage
    machine_busy: float


def _usage(child: Child, cpu_s: float, start: float, end: float, frames: int) -> Usage:
    usage = Usage(child.name, cpu_s, end - start)
    if not child.statuses:
        usage.fps_in = (child.frames - frames) / (end - start)
        usage.keeps_up = usage.fps_in >= KEEP_UP * STREAM_FPS
        return usage
    inside = [status for at, status in child.statuses if start <= at <= end] or [child.statuses[-1][1]]
    before = [status for at, status in child.statuses if at < start] or inside[:1]
    usage.fps_in = sum(s.fps_in for s in inside) / len(inside)
    usage.fps_out = sum(s.fps_out for s in inside) / len(inside)
    usage.dropped = inside[-1].frames_dropped
    usage.nominal_fps = inside[-1].nominal_fps
    usage.keeps_up = (
        usage.fps_in >= KEEP_UP * (usage.nominal_fps or STREAM_FPS)
        and all(s.state.is_up for s in inside)
        and inside[-1].reconnects == before[-1].reconnects
        and inside[-1].frames_dropped == before[-1].frames_dropped
    )
    if any(s.record_state is not None for s in inside):
        usage.record_read = all(s.record_state == CameraState.ONLINE for s in inside)
    return usage


def measure(children: Sequence[Child], server: Simulator, seconds: float, warmup_s: float) -> Window:
    """Waits until every child streams, lets them settle for ``warmup_s``, then measures ``seconds``."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(child.streaming for child in children):
        for child in children:
            child.cpu_s()  # raises if one has died
        if time.monotonic() > deadline:
            late = ", ".join(child.name for child in children if not child.streaming)
            raise RuntimeError(f"no frames after {START_TIMEOUT_S:g} s from: {late}")
        time.sleep(0.2)
    time.sleep(warmup_s)
    assert server.pid is not None
    frames = [child.frames for child in children]
    busy, total = machine_ticks()
    start, server_cpu, before = time.monotonic(), cpu_seconds(server.pid), [child.cpu_s() for child in children]
    time.sleep(seconds)
    cpu = [child.cpu_s() - used for child, used in zip(children, before, strict=True)]
    end, server_cpu = time.monotonic(), cpu_seconds(server.pid) - server_cpu
    busy_end, total_end = machine_ticks()
    usages = [_usage(c, s, start, end, f) for c, s, f in zip(children, cpu, frames, strict=True)]
    server_usage = Usage(f"RTSP server ({len(server.cameras)} streams)", server_cpu, end - start)
    return Window(usages, server_usage, (busy_end - busy) / max(1, total_end - total))


@contextmanager
def running(children: list[Child]) -> Iterator[list[Child]]:
    """Stops every child on the way out, whatever happened."""
    try:
        yield children
    finally:
        for child in children:
            child.stop()


def simulator(cameras: dict[str, Path]) -> Simulator:
    """A started simulator serving ``{name: file}``."""
    server = Simulator([SimulatedCamera(name, path) for name, path in cameras.items()], python=find_system_python())
    server.start()
    return server


# -- the phases -------------------------------------------------------------------------------------


def compare(full: Path, low: Path, frames_dir: Path, seconds: float, warmup_s: float) -> Window:
    """Phases 1-3 side by side: ffmpeg, the worker, the worker with a low-resolution detect input."""
    server = simulator({"cam720": full, "cam360": low})
    try:
        full_url, low_url = server.url("cam720"), server.url("cam360")
        children = [
            Child.ffmpeg("ffmpeg, decode every frame (baseline)", full_url),
            Child.worker("worker, one 720p input", camera("one_input", full_url), frames_dir / "one"),
            Child.worker("worker, 360p detect + 720p record", camera("two", low_url, full_url), frames_dir / "two"),
        ]
        with running(children):
            _progress(f"ffmpeg and the workers side by side on the 720p stream, {seconds:g} s")
            window = measure(children, server, seconds, warmup_s)
    finally:
        server.close()
    baseline = window.usages[0].cpu_s
    for usage in window.usages:
        usage.vs_baseline = usage.cpu_s / baseline if baseline else None
    return window


@dataclass
class Step:
    """N workers on N cameras over one window."""

    cameras: int
    window: Window
    keeps_up: bool = field(init=False)

    def __post_init__(self) -> None:
        self.keeps_up = all(usage.keeps_up for usage in self.window.usages)

    @property
    def worker_cores(self) -> float:
        """Cores the N workers used together."""
        return sum(usage.cores for usage in self.window.usages)


def steps_up_to(most: int) -> list[int]:
    """The camera counts tried: 1, 2, 4, 6, 8, 12 ... and ``most`` itself."""
    return [n for n in STEPS if n < most] + [most]


def cameras_per_core(full: Path, frames_dir: Path, most: int, seconds: float, warmup_s: float) -> list[Step]:
    """N workers on N simulated 720p cameras, N growing until one of them falls behind."""
    steps: list[Step] = []
    for count in steps_up_to(most):
        names = {f"cam{index}": full for index in range(count)}
        server = simulator(names)
        try:
            children = [
                Child.worker(name, camera(name, server.url(name)), frames_dir / f"step-{name}") for name in names
            ]
            with running(children):
                _progress(f"{count} workers on {count} cameras, {seconds:g} s")
                steps.append(Step(count, measure(children, server, seconds, warmup_s)))
        finally:
            server.close()
        if not steps[-1].keeps_up:
            break
    return steps


# -- output -----------------------------------------------------------------------------------------


def _num(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0].rstrip("df") or 0)
    return f"{'-':>{width}}" if value is None else format(value, spec)


def print_comparison(window: Window, seconds: float) -> None:
    """The side-by-side table of phases 1-3."""
    print(f"ingest CPU, same {FULL[0]}x{FULL[1]} {STREAM_FPS} fps RTSP stream, same {seconds:g} s window")
    print(f"{'process':38} {'CPU s':>7} {'cores':>6} {'fps in':>7} {'fps out':>8} {'dropped':>8} {'vs ffmpeg':>10}")
    for u in window.usages:
        note = " (record input not read)" if u.record_read is False else ""
        print(
            f"{u.name:38} {u.cpu_s:7.2f} {u.cores:6.3f} {_num(u.fps_in, '7.1f')} {_num(u.fps_out, '8.1f')} "
            f"{_num(u.dropped, '8d')} {_num(u.vs_baseline, '9.2f')}x{note}"
        )
    s = window.server
    print(f"{s.name:38} {s.cpu_s:7.2f} {s.cores:6.3f}   (serves them all; not a contender)")
    print(f"machine busy: {window.machine_busy:.0%} of {os.cpu_count()} cores", flush=True)


def print_steps(steps: list[Step], seconds: float) -> None:
    """The cameras-per-core table and its conclusion."""
    print(f"\ncameras per core: N workers on N {FULL[0]}x{FULL[1]} {STREAM_FPS} fps cameras, {seconds:g} s each")
    print(
        f"{'cameras':>7} {'worker cores':>13} {'per camera':>11} {'min fps in':>11} {'dropped':>8} "
        f"{'server cores':>13} {'machine busy':>13} {'keeps up':>9}"
    )
    for step in steps:
        w = step.window
        slowest = min(u.fps_in or 0.0 for u in w.usages)
        dropped = sum(u.dropped or 0 for u in w.usages)
        print(
            f"{step.cameras:7d} {step.worker_cores:13.3f} {step.worker_cores / step.cameras:11.3f} {slowest:11.1f} "
            f"{dropped:8d} {w.server.cores:13.3f} {w.machine_busy:12.0%} {'yes' if step.keeps_up else 'NO':>9}"
        )
    print(conclusion(steps))


def conclusion(steps: list[Step]) -> str:
    """How many cameras one core ingests, what the server cost beside them, and what stopped the search."""
    good = [step for step in steps if step.keeps_up]
    lines = []
    if good:
        best = good[-1]
        at_least = "at least " if best is steps[-1] else ""
        lines.append(
            f"one core ingests {at_least}{best.cameras / best.worker_cores:.1f} cameras of {FULL[0]}x{FULL[1]} at "
            f"{STREAM_FPS} fps ({best.cameras} cameras kept up on {best.worker_cores:.2f} cores of workers; the "
            f"RTSP server used another {best.window.server.cores:.2f} cores to serve them, the machine was "
            f"{best.window.machine_busy:.0%} busy)"
        )
    failed = steps[-1] if not steps[-1].keeps_up else None
    if failed is not None:
        w = failed.window
        slowest = min(u.fps_in or 0.0 for u in w.usages)
        cause = "this machine, not the workers" if w.machine_busy >= SATURATED else "the workers"
        lines.append(
            f"at {failed.cameras} cameras the slowest read {slowest:.1f} of {STREAM_FPS} fps with the machine "
            f"{w.machine_busy:.0%} busy (the RTSP server alone {w.server.cores:.2f} cores): the limit was {cause}"
        )
    return "\n".join(lines)


def results(window: Window, steps: list[Step], args: argparse.Namespace) -> dict[str, Any]:
    """Everything measured, for ``--json``."""
    good = [step for step in steps if step.keeps_up]
    return {
        "stream": {"width": FULL[0], "height": FULL[1], "fps": STREAM_FPS, "footage": args.footage},
        "seconds": args.seconds,
        "comparison": {**asdict(window), "cores": {u.name: u.cores for u in [*window.usages, window.server]}},
        "steps": [{**asdict(step), "worker_cores": step.worker_cores} for step in steps],
        "cameras_per_core": good[-1].cameras / good[-1].worker_cores if good else None,
        "cameras_kept_up": good[-1].cameras if good else 0,
    }


# -- the worker process -----------------------------------------------------------------------------


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


def run_worker(camera_json: str, frames_path: Path) -> None:
    """One camera worker with shared-memory frame slots and plain queues; statuses go to stdout as JSON.

    Stops on SIGTERM, or when stdin closes (the benchmark that started it has gone).
    """
    from ingest.frameslots import FrameSlots, capacity_for
    from ingest.worker import CameraWorker

    logging.basicConfig(level=logging.WARNING, format="ingest bench worker: %(message)s")
    config = CameraConfig.model_validate_json(camera_json)
    frames = FrameSlots.create(frames_path, config.id, capacity_for(config.detect.max_width))
    control: queue.Queue[ClipRequest] = queue.Queue()
    bus: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=_stop_when_stdin_closes, args=(stop,), daemon=True).start()
    worker = CameraWorker(config, frames, control, bus, stop)
    thread = threading.Thread(target=worker.run, name=f"worker-{config.id}")
    thread.start()
    while thread.is_alive() or not bus.empty():
        try:
            message = bus.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(message, CameraStatus):
            print(json.dumps(asdict(message)), flush=True)
    frames.unlink()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="measured window of ffmpeg against the workers")
    parser.add_argument("--step-seconds", type=float, default=20, help="measured window of each camera count")
    parser.add_argument("--warmup", type=float, default=6, help="seconds of streaming before a window starts")
    parser.add_argument("--max", type=int, default=12, help="most cameras tried for the cameras-per-core figure")
    parser.add_argument("--footage", default=FOOTAGE, help="file in the assets' footage/ to make the stream of")
    parser.add_argument("--clip-seconds", type=float, default=32, help="length of the looped test stream")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        run_worker(args.worker, args.frames)
        return

    settings = Settings()
    if settings.assets_dir is None:
        raise SystemExit("set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    full, low = prepare_streams(
        settings.assets_dir / "footage" / args.footage, settings.resolved_cache_dir / "bench", args.clip_seconds
    )
    shm = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="matakota-bench-", dir=shm) as frames_dir:
        window = compare(full, low, Path(frames_dir), args.seconds, args.warmup)
        print_comparison(window, args.seconds)
        steps = cameras_per_core(full, Path(frames_dir), args.max, args.step_seconds, args.warmup)
    print_steps(steps, args.step_seconds)
    if args.json is not None:
        args.json.write_text(json.dumps(results(window, steps, args), indent=2) + "\n")


if __name__ == "__main__":
    main()
