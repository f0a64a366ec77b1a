"""Bandwidth, storage and analytics servers, checked against numbers worked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.detector import SAVED_MODEL, save
from core.settings import Settings
from planner.model import CameraModel
from planner.sizing import (
    FALLBACK_DETECTOR_FPS,
    FALLBACK_SOURCE,
    detector_throughput,
    raid_efficiency,
    recorded_tb,
    size_plan,
)
from planner.spec import SizingSpec

BULLET = CameraModel("bullet-4mp", 2560, 1440, 90.0, 6.0, bitrate_kbps=4096.0, substream_kbps=512.0)
DOME = CameraModel("dome-2mp", 1920, 1080, 110.0, 4.0, bitrate_kbps=2048.0, fps=3.0)


def test_4096_kbps_for_30_days_is_1_327_tb() -> None:
    # 4,096,000 bit/s / 8 = 512,000 B/s; x 86,400 s = 44,236,800,000 B a day; x 30 = 1.327104e12 B.
    assert recorded_tb(4096.0, 30.0) == pytest.approx(1.327104, rel=1e-9)
    assert recorded_tb(4096.0, 30.0, duty=0.5) == pytest.approx(0.663552, rel=1e-9)


@pytest.mark.parametrize(
    ("raid", "disks", "efficiency"),
    [
        ("none", 2, 1.0),
        ("raid1", 2, 0.5),
        ("raid10", 8, 0.5),
        ("raid5", 8, 7 / 8),
        ("raid6", 8, 6 / 8),
        ("raid6", 4, 0.5),
    ],
)
def test_raid_levels_leave_their_share_of_raw_capacity(raid: str, disks: int, efficiency: float) -> None:
    assert raid_efficiency(raid, disks) == pytest.approx(efficiency)


@pytest.mark.parametrize(("raid", "disks"), [("raid6", 3), ("raid10", 2), ("raid7", 8)])
def test_impossible_raid_arrays_are_refused(raid: str, disks: int) -> None:
    with pytest.raises(ValueError, match="raid"):
        raid_efficiency(raid, disks)


def test_ten_bullets_on_raid6_worked_by_hand() -> None:
    spec = SizingSpec(retention_days=30, raid="raid6", disks_per_array=8, overhead=0.1, detect_fps=5)
    sizing = size_plan([BULLET] * 10, spec, detector_fps=48.0, detector_source="test")
    assert sizing.cameras == 10
    assert sizing.bandwidth_mbps == pytest.approx((4096 + 512) * 10 / 1000)  # 46.08 Mbit/s
    assert sizing.recording_mbps == pytest.approx(40.96)
    assert sizing.per_camera_tb == {"bullet-4mp": pytest.approx(1.327104)}
    assert sizing.data_tb == pytest.approx(13.27104)
    assert sizing.usable_tb == pytest.approx(13.27104 * 1.1)  # 14.598 TB with 10 % overhead
    assert sizing.raw_tb == pytest.approx(13.27104 * 1.1 / 0.75)  # 19.464 TB of disks: 6 of 8 hold data
    assert sizing.detect_fps_total == pytest.approx(50.0)  # 10 cameras x 5 frames/s
    assert sizing.servers == 2  # 50 / 48 rounds up


def test_slow_cameras_are_analysed_at_their_own_rate_and_mixed_models_add_up() -> None:
    spec = SizingSpec(retention_days=10, raid="none", disks_per_array=2, overhead=0.0, detect_fps=5)
    sizing = size_plan([BULLET, DOME, DOME], spec, detector_fps=10.0, detector_source="test")
    assert [(m.model, m.cameras, m.detect_fps) for m in sizing.per_model] == [
        ("bullet-4mp", 1, 5.0),
        ("dome-2mp", 2, 3.0),
    ]
    assert sizing.detect_fps_total == pytest.approx(11.0)
    assert sizing.servers == 2
    assert sizing.data_tb == pytest.approx(recorded_tb(4096, 10) + 2 * recorded_tb(2048, 10))
    assert sizing.notes == ["2 dome-2mp cameras are analysed at their own 3 frames/s"]


def test_no_camera_needs_no_server_and_the_fallback_figure_says_so() -> None:
    sizing = size_plan([], SizingSpec(), detector_fps=None, detector_source="")
    assert (sizing.servers, sizing.raw_tb, sizing.bandwidth_mbps) == (0, 0.0, 0.0)
    assert (sizing.detector_fps, sizing.detector_source) == (FALLBACK_DETECTOR_FPS, FALLBACK_SOURCE)


def test_without_a_saved_benchmark_the_throughput_falls_back_to_the_design_figure(tmp_path: Path) -> None:
    fps, source = detector_throughput(Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache"))
    assert fps == 48.0
    assert source == "DESIGN.md figure for 2 cores, not measured here: run python -m bench.detector --save"


def test_the_benchmark_saves_the_figure_that_sizing_reads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    path = save(settings.resolved_cache_dir, median_ms=16.0, imgsz=640, frames=60)
    assert path == tmp_path / "cache" / "bench" / "detector.json"
    saved = json.loads(path.read_text())
    assert saved["model"] == SAVED_MODEL and saved["cpu_count"] >= 1 and saved["date"]
    fps, source = detector_throughput(settings)
    assert fps == pytest.approx(62.5)  # 1000 ms / 16 ms
    assert source.startswith("measured by python -m bench.detector --save on ")


def test_an_unreadable_saved_figure_falls_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    (tmp_path / "cache" / "bench").mkdir(parents=True)
    (tmp_path / "cache" / "bench" / "detector.json").write_text('{"frames_per_s": "fast"}')
    assert detector_throughput(settings) == (FALLBACK_DETECTOR_FPS, FALLBACK_SOURCE)
