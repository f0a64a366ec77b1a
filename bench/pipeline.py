"""Analytics throughput on real footage: the pipeline against its own model, motion gating, a naive baseline.

    python -m bench.pipeline [--seconds 15] [--cameras 1,4,8] [--naive-cameras 4] [--pool-cameras 4,8]

All in one run, so the ratios hold on a busy machine (absolute figures are for orientation):

1. The raw model: the default detector (YOLO11n int8 on OpenVINO) called in a loop on real frames.
2. The pipeline for 1, 4 and 8 cameras: the analytics process's own ``DetectLoop.step`` (detector,
   zones, congestion rule, snapshots) over the cameras' frames in turn, motion gating off. The
   ratio to the raw model is the pipeline's overhead (aim: above 0.8).
3. Motion gating on a still scene (a real frame with sensor noise): frames analysed per second
   with gating on against off.
4. A naive baseline: one process per camera, each with its own ``YOLO("yolo11n.pt").predict()``
   loop (float PyTorch, as a first attempt would be), against the pipeline on the same number of
   cameras: camera-frames per second (aim: the pipeline at least 2x).
5. The detector pool: the whole ``DetectLoop.run`` over 4 and 8 always-busy cameras, detecting in
   its own process (workers 0) against 1 and 2 detector processes with batches of 1 and 4:
   camera-frames analysed per second, as ratios to the in-process loop, and per CPU second (the
   analytics process and its workers), which holds on a machine that other work keeps busy.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

import av
import numpy as np

from analytics.detector import Detector
from core.config import AppConfig
from core.messages import Frame, Image
from core.settings import Settings, prepare_ultralytics
from models.registry import resolve
from runtime.detect_loop import DetectLoop

FOOTAGE = "bgslibrary-video02.avi"  # busy traffic: every frame moves
STILL = "car-detection.mp4"
MODEL = "yolo11n-int8-openvino"
POOL_SETUPS = ((0, 1), (1, 1), (1, 4), (2, 1), (2, 4))  # (workers, batch_size); workers 0: in-process
WARM_S = 1.0


class _Sink:
    """Where the loop's events go; the benchmark only counts them."""

    def __init__(self) -> None:
        self.count = 0

    def put(self, item: Any, /) -> None:
        self.count += 1


def _frames(path: Path, count: int) -> list[Image]:
    frames: list[Image] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(cast(Image, frame.to_ndarray(format="bgr24")))
            if len(frames) >= count:
                break
    return frames


class _Endless:
    """A camera that always has a new frame waiting (the loop is never starved)."""

    def __init__(self, camera_id: str, frames: list[Image]) -> None:
        self.camera_id, self.frames, self.seq, self.dropped = camera_id, frames, 0, 0

    def get_latest(self) -> Frame:
        self.seq += 1
        return Frame(
            self.camera_id, self.seq, 1_750_000_000.0 + self.seq * 0.2, self.frames[self.seq % len(self.frames)]
        )


def _config(cameras: int, *, gating: bool, workers: int = 0, batch_size: int = 1) -> AppConfig:
    return AppConfig.model_validate(
        {
            "detectors": {"workers": workers, "batch_size": batch_size, "max_wait_ms": 5},
            "cameras": [
                {
                    "id": f"cam_{i}",
                    "name": f"Camera {i}",
                    "inputs": [{"url": f"rtsp://127.0.0.1:8554/cam_{i}", "roles": ["detect", "record"]}],
                    "location": {"lat": -2.98, "lon": 104.76},
                    "detect": {"motion_gating": gating},
                    "zones": [{"name": "road", "polygon": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]}],
                    "rules": [{"type": "congestion", "zone": "road", "min_vehicles": 6, "min_duration_s": 2}],
                }
                for i in range(cameras)
            ],
        }
    )


def _timed(work: Any, seconds: float) -> tuple[int, float]:
    """Call ``work(i)`` until ``seconds`` have passed; the calls made and the time taken."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        work(done)
        done += 1
    return done, time.perf_counter() - start


def _pipeline_rate(settings: Settings, frames: list[Image], cameras: int, seconds: float, *, gating: bool) -> float:
    loop = DetectLoop(_config(cameras, gating=gating), settings, {}, _Sink(), threading.Event())
    ids = [f"cam_{i}" for i in range(cameras)]
    clock = [0.0]

    def step(i: int) -> None:
        camera = ids[i % cameras]
        clock[0] += 0.2 / cameras  # each camera at 5 fps of its own time
        loop.step(Frame(camera, i, 1_750_000_000.0 + clock[0], frames[(i // cameras) % len(frames)]))

    done, elapsed = _timed(step, seconds)
    return done / elapsed


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds used so far by this process and by ``pids`` (the pool's workers)."""
    total = time.process_time()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def _loop_rate(
    settings: Settings, frames: list[Image], cameras: int, seconds: float, workers: int, batch: int
) -> tuple[float, float]:
    """Camera-frames analysed by the whole loop (``DetectLoop.run``) per second and per CPU second."""
    config = _config(cameras, gating=False, workers=workers, batch_size=batch)
    sources = {f"cam_{i}": _Endless(f"cam_{i}", frames) for i in range(cameras)}
    stop = threading.Event()
    loop = DetectLoop(config, settings, sources, _Sink(), stop)
    pids = loop.pool.pids() if loop.pool is not None else []
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        time.sleep(WARM_S)
        first, start, cpu = loop._health[MODEL].frames_total, time.perf_counter(), _cpu_s(pids)
        time.sleep(seconds)
        done, elapsed = loop._health[MODEL].frames_total - first, time.perf_counter() - start
        cpu = _cpu_s(pids) - cpu
    finally:
        stop.set()
        thread.join(timeout=30)
    if loop.dropped:
        print(f"  ({loop.dropped} frame(s) dropped by the pool)", file=sys.stderr)
    return done / elapsed, done / cpu if cpu > 0 else 0.0


def _naive_worker(weights: str, frames: list[Image], seconds: float, out: Any) -> None:
    from ultralytics import YOLO  # type: ignore[attr-defined]

    model = YOLO(weights)
    model.predict(frames[0], verbose=False)
    done, elapsed = _timed(lambda i: model.predict(frames[i % len(frames)], verbose=False), seconds)
    out.put(done / elapsed)


def _naive_rate(weights: Path, frames: list[Image], cameras: int, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_naive_worker, args=(str(weights), frames, seconds, out)) for _ in range(cameras)]
    for worker in workers:
        worker.start()
    rates = [out.get(timeout=seconds + 300) for _ in workers]
    for worker in workers:
        worker.join()
    return float(sum(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measurement")
    parser.add_argument("--cameras", default="1,4,8", help="camera counts for the pipeline")
    parser.add_argument("--naive-cameras", type=int, default=4, help="cameras for the naive baseline")
    parser.add_argument("--pool-cameras", default="4,8", help="camera counts for the detector pool ('' skips it)")
    args = parser.parse_args()
    counts = [int(c) for c in args.cameras.split(",")]
    pool_counts = [int(c) for c in args.pool_cameras.split(",") if c]

    settings = Settings()
    prepare_ultralytics(settings)
    if settings.assets_dir is None:
        raise SystemExit("set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    footage = settings.assets_dir / "footage"
    frames = _frames(footage / FOOTAGE, 100)
    rng = np.random.default_rng(1)
    still = _frames(footage / STILL, 1)[0]
    noisy = [np.clip(still + rng.normal(0, 5, still.shape), 0, 255).astype(np.uint8) for _ in range(25)]

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say("raw model ...")
    detector = Detector(resolve(MODEL, settings).path)
    detector.warm_up()
    done, elapsed = _timed(lambda i: detector.detect([frames[i % len(frames)]]), args.seconds)
    raw = done / elapsed
    rows = [("raw model, int8 OpenVINO, one frame per call", raw, "1.00x (baseline)")]
    pipeline: dict[int, float] = {}
    for cameras in counts:
        say(f"pipeline, {cameras} camera(s) ...")
        pipeline[cameras] = _pipeline_rate(settings, frames, cameras, args.seconds, gating=False)
        rows.append(
            (f"pipeline, {cameras} camera(s), gating off", pipeline[cameras], f"{pipeline[cameras] / raw:.2f}x")
        )
    say("motion gating on a still scene ...")
    still_off = _pipeline_rate(settings, noisy, 1, args.seconds, gating=False)
    still_on = _pipeline_rate(settings, noisy, 1, args.seconds, gating=True)
    say(f"naive baseline, {args.naive_cameras} processes ...")
    naive = _naive_rate(resolve("yolo11n-coco-pt", settings).path, frames, args.naive_cameras, args.seconds)
    ours = pipeline.get(args.naive_cameras) or _pipeline_rate(settings, frames, args.naive_cameras, args.seconds,
                                                             gating=False)  # fmt: skip
    pool: dict[tuple[int, int, int], tuple[float, float]] = {}
    for cameras in pool_counts:
        for workers, batch in POOL_SETUPS:
            say(f"detector pool, {cameras} cameras, {workers} worker(s), batch {batch} ...")
            pool[cameras, workers, batch] = _loop_rate(settings, frames, cameras, args.seconds, workers, batch)

    print(f"\nanalytics throughput, {FOOTAGE} (320x240), imgsz 640, {args.seconds:g} s each")
    print(f"{'what':48} {'frames/s':>9} {'vs raw model':>16}")
    for what, rate, ratio in rows:
        print(f"{what:48} {rate:9.1f} {ratio:>16}")
    print(f"\nmotion gating, a still scene ({STILL}, one real frame with sensor noise)")
    print(f"{'gating off':48} {still_off:9.1f}")
    print(f"{'gating on':48} {still_on:9.1f} {still_on / still_off:>15.1f}x")
    print(f"\n{args.naive_cameras} cameras: camera-frames per second")
    print(f"{'naive: a YOLO(yolo11n.pt).predict() process each':48} {naive:9.1f} {'1.00x (baseline)':>16}")
    print(f"{'Mata Kota: one analytics process':48} {ours:9.1f} {ours / naive:>15.2f}x")
    for cameras in pool_counts:
        print(f"\ndetector pool, {cameras} busy cameras, whole loop: camera-frames per second ({_cores()} CPU cores)")
        print(f"{'':48} {'frames/s':>9} {'ratio':>16} {'per CPU-s':>10} {'ratio':>7}")
        base, base_cpu = pool[cameras, 0, 1]
        print(
            f"{'workers 0: detect in the analytics process':48} {base:9.1f} {'1.00x (baseline)':>16} {base_cpu:10.1f}"
        )
        for workers, batch in POOL_SETUPS[1:]:
            rate, per_cpu = pool[cameras, workers, batch]
            what = f"workers {workers}, batch {batch}"
            print(f"{what:48} {rate:9.1f} {rate / base:>15.2f}x {per_cpu:10.1f} {per_cpu / base_cpu:>6.2f}x")


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
