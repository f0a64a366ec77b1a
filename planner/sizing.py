"""What a plan's cameras cost to run: network bandwidth, recording storage and analytics servers.

Units: 1 kbps = 1000 bit/s, 1 TB = 10^12 bytes (as disks are sold). A camera recording
``b`` kbps for ``d`` days at duty ``u`` writes ``b * 1000 / 8 * 86400 * d * u`` bytes, e.g. 4096 kbps
for 30 days: 4,096,000 / 8 = 512,000 B/s; x 86,400 = 44.24 GB a day; x 30 = 1.327 TB.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.settings import Settings
from planner.model import CameraModel
from planner.spec import SizingSpec

SECONDS_PER_DAY = 86_400
BYTES_PER_TB = 1e12
FALLBACK_DETECTOR_FPS = 48.0
FALLBACK_SOURCE = "DESIGN.md figure for 2 cores, not measured here: run python -m bench.detector --save"
BENCH_FILE = ("bench", "detector.json")  # under the cache directory


@dataclass(frozen=True)
class ModelSizing:
    """One camera model's share of the plan."""

    model: str
    cameras: int
    bitrate_kbps: float
    substream_kbps: float
    detect_fps: float  # frames per second each of these cameras is analysed


@dataclass(frozen=True)
class Sizing:
    """Bandwidth, storage and compute for a plan's cameras (new and existing)."""

    cameras: int
    per_model: list[ModelSizing]
    bandwidth_mbps: float  # main and sub-streams of every camera, Mbit/s
    recording_mbps: float  # main streams only: what reaches the disks
    per_camera_tb: dict[str, float]  # model -> recorded TB per camera over the retention, before overhead
    data_tb: float  # recorded data over the retention, all cameras
    usable_tb: float  # data plus filesystem overhead: the capacity the arrays must present
    raw_tb: float  # disks to buy: usable / RAID efficiency
    raid: str
    raid_efficiency: float
    retention_days: float
    recording_duty: float
    detect_fps_total: float  # frames per second the analytics must process
    detector_fps: float  # frames per second one analytics server processes
    detector_source: str  # where ``detector_fps`` comes from
    servers: int
    notes: list[str] = field(default_factory=list)


def raid_efficiency(raid: str, disks_per_array: int) -> float:
    """Share of raw capacity a RAID level leaves usable.

    Raises:
        ValueError: an unknown level, or too few disks for it.
    """
    minimum = {"none": 1, "raid1": 2, "raid10": 4, "raid5": 3, "raid6": 4}
    if raid not in minimum:
        raise ValueError(f"unknown RAID level {raid!r}")
    if disks_per_array < minimum[raid]:
        raise ValueError(f"{raid} needs at least {minimum[raid]} disks per array, got {disks_per_array}")
    if raid == "none":
        return 1.0
    if raid in ("raid1", "raid10"):
        return 0.5
    parity = 1 if raid == "raid5" else 2
    return (disks_per_array - parity) / disks_per_array


def recorded_tb(bitrate_kbps: float, days: float, duty: float = 1.0) -> float:
    """Terabytes one stream of ``bitrate_kbps`` writes in ``days`` at recording ``duty``."""
    return bitrate_kbps * 1000.0 / 8.0 * SECONDS_PER_DAY * days * duty / BYTES_PER_TB


def size_plan(
    chosen_models: list[CameraModel], spec: SizingSpec, detector_fps: float | None, detector_source: str
) -> Sizing:
    """Size the plan whose cameras have ``chosen_models`` (one entry per camera).

    Each camera is analysed at ``spec.detect_fps``, or at its own frame rate when that is lower.
    Storage records the main stream; bandwidth carries main and sub-streams.

    Args:
        chosen_models: The model of every camera the plan keeps or adds.
        spec: Retention, RAID and analytics rates.
        detector_fps: Frames per second one analytics server processes; None uses the fallback.
        detector_source: Where ``detector_fps`` comes from, for the report.
    """
    if detector_fps is None:
        detector_fps, detector_source = FALLBACK_DETECTOR_FPS, FALLBACK_SOURCE
    counts = Counter(chosen_models)
    per_model = [
        ModelSizing(m.name, n, m.bitrate_kbps, m.substream_kbps, min(spec.detect_fps, m.fps)) for m, n in counts.items()
    ]
    per_camera = {m.model: recorded_tb(m.bitrate_kbps, spec.retention_days, spec.recording_duty) for m in per_model}
    data_tb = sum(per_camera[m.model] * m.cameras for m in per_model)
    usable_tb = data_tb * (1.0 + spec.overhead)
    efficiency = raid_efficiency(spec.raid, spec.disks_per_array)
    detect_total = sum(m.detect_fps * m.cameras for m in per_model)
    notes = [
        f"{n} {m.name} cameras are analysed at their own {m.fps:g} frames/s"
        for m, n in counts.items()
        if m.fps < spec.detect_fps
    ]
    return Sizing(
        cameras=len(chosen_models),
        per_model=per_model,
        bandwidth_mbps=sum((m.bitrate_kbps + m.substream_kbps) * m.cameras for m in per_model) / 1000.0,
        recording_mbps=sum(m.bitrate_kbps * m.cameras for m in per_model) / 1000.0,
        per_camera_tb=per_camera,
        data_tb=data_tb,
        usable_tb=usable_tb,
        raw_tb=usable_tb / efficiency,
        raid=spec.raid,
        raid_efficiency=efficiency,
        retention_days=spec.retention_days,
        recording_duty=spec.recording_duty,
        detect_fps_total=detect_total,
        detector_fps=detector_fps,
        detector_source=detector_source,
        servers=math.ceil(detect_total / detector_fps - 1e-9) if detect_total > 0 else 0,
        notes=notes,
    )


def detector_throughput(settings: Settings | None = None) -> tuple[float, str]:
    """Frames per second one analytics machine detects, and where the figure comes from.

    Reads ``<cache_dir>/bench/detector.json`` written by ``python -m bench.detector --save``;
    without it (or if it is unreadable), :data:`FALLBACK_DETECTOR_FPS` with a note saying so.
    """
    path = (settings or Settings()).resolved_cache_dir.joinpath(*BENCH_FILE)
    try:
        saved: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        fps = float(saved["frames_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return FALLBACK_DETECTOR_FPS, FALLBACK_SOURCE
    if not math.isfinite(fps) or fps <= 0:
        return FALLBACK_DETECTOR_FPS, FALLBACK_SOURCE
    when = str(saved.get("date", "an unknown date"))
    cpus = saved.get("cpu_count", "?")
    model = saved.get("model", "the detector")
    tool = saved.get("tool", "python -m bench.detector --save")
    return fps, f"measured by {tool} on {when}: {model}, one stream, {cpus} CPUs ({path})"


def bench_record(
    model: str,
    median_ms: float,
    imgsz: int,
    frames: int,
    cpu_count: int | None,
    tool: str = "python -m bench.detector --save",
) -> dict[str, Any]:
    """The record ``bench.detector --save`` (or ``matakota plan --measure-detector``) writes and
    :func:`detector_throughput` reads."""
    return {
        "tool": tool,
        "model": model,
        "frames_per_s": 1000.0 / median_ms,
        "median_ms": median_ms,
        "imgsz": imgsz,
        "frames": frames,
        "cpu_count": cpu_count,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def save_detector_record(cache_dir: Path, record: dict[str, Any]) -> Path:
    """Write a :func:`bench_record` where :func:`detector_throughput` reads it; return the file's path."""
    path = cache_dir.joinpath(*BENCH_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
