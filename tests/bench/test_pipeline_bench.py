"""The analytics benchmark runs end to end (a very short version); it prints its ratios, it asserts no speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.weights


def test_the_pipeline_benchmark_prints_every_ratio() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.pipeline",
            "--seconds",
            "1",
            "--cameras",
            "1,2",
            "--naive-cameras",
            "1",
            "--pool-cameras",
            "2",
        ],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "pipeline, 2 camera(s), gating off" in out and "vs raw model" in out
    assert "gating on" in out and "naive: a YOLO(yolo11n.pt).predict() process each" in out
    assert "detector pool, 2 busy cameras" in out and "workers 2, batch 4" in out
    assert len(re.findall(r"\d+\.\d+x", out)) >= 9  # 2 pipeline rows, gating, naive, ours, 4 pool rows
