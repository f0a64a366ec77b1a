"""``matakota plan``: a real plan from the command line, its figures printed and its files written."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from runtime.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_plan_prints_its_figures_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "helsinki"
    result = CliRunner().invoke(
        app, ["plan", str(ROOT / "plans" / "helsinki.yaml"), "--out", str(out), "--budget", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "Helsinki streets: budget 20" in result.output
    assert "cameras: 20 new + 0 existing" in result.output
    assert re.search(r"analytics: \d+ server\(s\) for 100 frames/s", result.output)  # 20 cameras x 5 detect-fps
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cameras_new"] == 20 and summary["objective"] == "budget 20"
    assert f"report: {out / 'report.html'}" in result.output


def test_a_broken_plan_request_names_the_key_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "plan.yaml"
    spec.write_text("name: x\ndemand:\n  area_grid: {spacing_m: 1}\n")
    result = CliRunner().invoke(app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "line 3: demand.area_grid.spacing_m" in result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_source_is_named(tmp_path: Path) -> None:
    spec = tmp_path / "plan.yaml"
    spec.write_text("demand:\n  points:\n    - {source: {path: nowhere.geojson}, class: market}\n")
    result = CliRunner().invoke(app, ["plan", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "nowhere.geojson" in result.output


def test_target_and_budget_together_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["plan", str(ROOT / "plans" / "helsinki.yaml"), "--target", "0.9", "--budget", "5", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "not both" in result.output
