"""The flood evaluation runs on the real labelled CCTV frames and keeps the figures it was measured at."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analytics.evaluation.flood import DATASET, FloodEvaluation, evaluate_flood
from core.settings import Settings
from runtime.cli import app


@pytest.fixture(scope="module")
def evaluation() -> FloodEvaluation:
    assets_dir = Settings().assets_dir
    assert assets_dir is not None
    return evaluate_flood(assets_dir / DATASET)


def test_every_frame_is_seen_in_time_order_and_labelled(evaluation: FloodEvaluation) -> None:
    names = [f.name for f in evaluation.frames]
    assert len(names) == 40 and names == sorted(names)
    assert sum(f.flooded for f in evaluation.frames) == 28


def test_fixed_threshold_finds_flooded_frames(evaluation: FloodEvaluation) -> None:
    # measured: precision 0.93, recall 0.89, IoU 0.21 over all 40 frames
    assert evaluation.fixed.precision >= 0.85
    assert evaluation.fixed.recall >= 0.8
    assert evaluation.fixed.mean_iou >= 0.17


def test_threshold_tuned_on_even_frames_holds_on_the_odd_ones(evaluation: FloodEvaluation) -> None:
    # measured on the held-out odd frames: precision 0.92, recall 0.86, F1 0.89
    held_out = evaluation.tuned_on_odd
    assert held_out.frames == 20
    assert held_out.precision >= 0.8 and held_out.recall >= 0.75 and held_out.f1 >= 0.8


def test_cli_prints_the_table_from_the_assets_directory() -> None:
    result = CliRunner().invoke(app, ["eval", "flood"])
    assert result.exit_code == 0, result.output
    assert "odd (held out)" in result.output and "precision" in result.output


def test_cli_says_when_there_are_no_frames(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "flood", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "no frames" in result.output
