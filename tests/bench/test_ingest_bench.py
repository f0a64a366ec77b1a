"""The ingest benchmark end to end, very short: it runs and prints its CPU ratios (speed is not judged)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.ingest import steps_up_to

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("most", "expected"),
    [(1, [1]), (2, [1, 2]), (5, [1, 2, 4, 5]), (8, [1, 2, 4, 6, 8]), (10, [1, 2, 4, 6, 8, 10])],
)
def test_camera_counts_grow_to_the_maximum_and_include_it(most: int, expected: list[int]) -> None:
    assert steps_up_to(most) == expected


@pytest.mark.rtsp
def test_the_benchmark_compares_the_worker_with_ffmpeg_and_counts_cameras_per_core(
    footage_dir: Path, system_python: str, tmp_path: Path
) -> None:
    out = tmp_path / "ingest.json"
    command = [sys.executable, "-m", "bench.ingest", "--seconds", "3", "--step-seconds", "2", "--warmup", "1"]
    command += ["--max", "2", "--clip-seconds", "6", "--json", str(out)]
    # MATAKOTA_CACHE_DIR and CCTV_ASSETS_DIR come from the test session: the streams go to its cache
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]

    ratios = dict(re.findall(r"^((?:ffmpeg|worker),[^\n]*?)\s{2,}.*?(\d+\.\d\d)x", run.stdout, re.MULTILINE))
    assert set(ratios) == {
        "ffmpeg, decode every frame (baseline)",
        "worker, one 720p input",
        "worker, 360p detect + 720p record",
    }, run.stdout
    assert ratios["ffmpeg, decode every frame (baseline)"] == "1.00"
    assert "RTSP server" in run.stdout and "cameras per core" in run.stdout
    assert "ffmpeg and the workers side by side" in run.stderr  # progress goes to stderr

    results = json.loads(out.read_text())
    usages = results["comparison"]["usages"]
    assert [u["vs_baseline"] > 0 for u in usages] == [True, True, True]
    assert usages[2]["record_read"] is not None  # the separate record input was opened and reported
    assert [step["cameras"] for step in results["steps"]][:1] == [1]
    assert results["comparison"]["server"]["cpu_s"] > 0
