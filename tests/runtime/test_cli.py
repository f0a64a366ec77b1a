"""The command line: help that reads well, and config validation with key paths and lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from runtime.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "demo", "simulate", "config", "models"):
        assert command in result.output


def test_config_validate_accepts_the_shipped_file() -> None:
    result = runner.invoke(app, ["config", "validate", str(ROOT / "camera_config.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK (3 camera(s)" in result.output


def test_config_validate_names_key_and_line_and_exits_non_zero(tmp_path: Path) -> None:
    text = (ROOT / "camera_config.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("min_vehicles: 6", "min_vehicles: -6", 1).replace("heading: 135", "headng: 135"))
    result = runner.invoke(app, ["config", "validate", str(broken)])
    assert result.exit_code == 2
    lines = text.splitlines()
    expected_rule_line = next(i for i, line in enumerate(lines, 1) if "min_vehicles: 6" in line)
    expected_heading_line = next(i for i, line in enumerate(lines, 1) if "heading: 135" in line)
    assert f"line {expected_rule_line}: cameras[1].rules[0].min_vehicles" in result.output
    assert f"line {expected_heading_line}: cameras[1].location.headng: unknown key" in result.output


def test_models_list_shows_the_verified_default_model() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0
    assert "yolo11n-int8-openvino" in result.output and "verified" in result.output


def test_simulate_refuses_a_missing_file_and_a_bad_spec(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["simulate", f"gate={tmp_path / 'nope.avi'}", "--port", "18554"])
    assert missing.exit_code == 1
    assert "nope.avi" in missing.output
    bad = runner.invoke(app, ["simulate", "no-equals-sign"])
    assert bad.exit_code == 2
    assert "NAME=FILE" in bad.output
