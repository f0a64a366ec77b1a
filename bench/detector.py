"""Detector speed on real traffic footage: int8 OpenVINO (the default), float ONNX Runtime and
float OpenVINO (exported into the cache on first use) against float PyTorch.

    python -m bench.detector [--frames 60] [--imgsz 640] [--save]

``--save`` writes the int8 OpenVINO figure (frames/s from the median single-stream time, the
CPU count and the date) to ``<cache_dir>/bench/detector.json``, where the coverage planner's
sizing reads how many frames one analytics server processes.

Both models run in this process on the same frames, interleaved, so the ratio holds even on a
busy machine; absolute milliseconds are printed for orientation only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2

from analytics.detector import Detector
from core.settings import Settings, prepare_ultralytics
from models.registry import resolve
from planner.sizing import bench_record, save_detector_record

FOOTAGE = "bgslibrary-video02.avi"
SAVED_MODEL = "yolo11n-int8-openvino"  # the default detector: the figure the planner sizes servers with


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames to time per model")
    parser.add_argument("--imgsz", type=int, default=640, help="detector input size")
    parser.add_argument("--save", action="store_true", help="save the int8 OpenVINO frames/s for the planner")
    args = parser.parse_args()

    settings = Settings()
    prepare_ultralytics(settings)
    if settings.assets_dir is None:
        raise SystemExit("set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    capture = cv2.VideoCapture(str(settings.assets_dir / "footage" / FOOTAGE))
    frames = []
    while len(frames) < args.frames:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)

    names = [  # baseline first
        "yolo11n-coco-pt",
        f"yolo11n-coco-pt@onnx-{args.imgsz}",
        f"yolo11n-coco-pt@openvino-{args.imgsz}",
        "yolo11n-int8-openvino",
    ]
    detectors = {name: Detector(resolve(name, settings).path) for name in names}
    for detector in detectors.values():
        detector.warm_up(args.imgsz)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index, image in enumerate(frames):
        for name, detector in detectors.items():
            start = time.perf_counter()
            detector.detect([image], imgsz=args.imgsz)
            times[name].append((time.perf_counter() - start) * 1000)
        print(f"\r{index + 1}/{len(frames)} frames", end="", flush=True)
    print()
    baseline = statistics.median(times[names[0]])
    print(f"{'model':32} {'median ms':>10} {'p90 ms':>8} {'frames/s':>9} {'speed vs PyTorch':>17}")
    for name in names:
        median = statistics.median(times[name])
        p90 = sorted(times[name])[int(len(times[name]) * 0.9) - 1]
        print(f"{name:32} {median:10.1f} {p90:8.1f} {1000 / median:9.1f} {baseline / median:16.2f}x")
    if args.save:
        path = save(settings.resolved_cache_dir, statistics.median(times[SAVED_MODEL]), args.imgsz, len(frames))
        print(f"saved {SAVED_MODEL} frames/s to {path}")


def save(cache_dir: Path, median_ms: float, imgsz: int, frames: int) -> Path:
    """Write the planner's detector figure under ``cache_dir`` and return the file's path."""
    return save_detector_record(cache_dir, bench_record(SAVED_MODEL, median_ms, imgsz, frames, os.cpu_count()))


if __name__ == "__main__":
    main()
