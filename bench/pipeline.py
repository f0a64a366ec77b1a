"""Analytics throughput on real footage: the pipeline against its own model, motion gating, a naive baseline.

    python -m bench.pipeline [--seconds 15] [--cameras 1,4,8] [--naive-cameras 4]

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
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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


def _config(cameras: int, *, gating: bool) -> AppConfig:
    return AppConfig.model_validate(
        {
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
            ]
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
    args = parser.parse_args()
    counts = [int(c) for c in args.cameras.split(",")]

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
    detector = Detector(resolve("yolo11n-int8-openvino", settings).path)
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


if __name__ == "__main__":
    main()
