"""camera_config.yaml: validation, defaults, env expansion, error messages with key path and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import AppConfig
from core.config_loader import load_config, parse_config, parse_yaml_model
from core.errors import ConfigError
from planner.spec import PlanSpec

ROOT = Path(__file__).resolve().parents[2]

VALID = textwrap.dedent(
    """\
    defaults:
      detect:
        fps: 4
      record:
        pre_roll_s: 2
    cameras:
      - id: cam_a
        name: Camera A
        inputs:
          - url: rtsp://user:${CAM_PASSWORD:-secret}@10.0.0.5/ch1
            roles: [detect, record]
        location: {lat: -2.98, lon: 104.76, heading: 90, kelurahan: Sembilan-belas Ilir}
        detect:
          confidence: 0.5
        zones:
          - name: road
            polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
        rules:
          - type: congestion
            zone: road
            min_vehicles: 5
    """
)


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="test.yaml")
    return caught.value.issues


def test_the_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "camera_config.yaml")
    assert len(config.enabled_cameras) >= 3
    for camera in config.cameras:
        assert camera.rules, f"{camera.id} has no rule"
        assert -3.2 < camera.location.lat < -2.8 and 104.6 < camera.location.lon < 104.9  # Palembang


def test_defaults_are_merged_under_camera_overrides() -> None:
    camera = parse_config(VALID).cameras[0]
    assert camera.detect.fps == 4  # from defaults
    assert camera.detect.confidence == 0.5  # the camera's own
    assert camera.record.pre_roll_s == 2
    assert camera.record.post_roll_s == 3  # schema default


def test_env_variables_are_expanded_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_config(VALID).cameras[0].inputs[0].url == "rtsp://user:secret@10.0.0.5/ch1"
    monkeypatch.setenv("CAM_PASSWORD", "fromenv")
    config = parse_config(VALID)
    assert config.cameras[0].inputs[0].url == "rtsp://user:fromenv@10.0.0.5/ch1"
    assert config.cameras[0].inputs[0].safe_url == "rtsp://***:***@10.0.0.5/ch1"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    fps: 4", "    fps: -1", "line 3: defaults.detect.fps: Input should be greater than 0"),
        (
            "      confidence: 0.5",
            "      confidnce: 0.5",
            "line 14: cameras[0].detect.confidnce: unknown key",
        ),
        ("location: {lat: -2.98,", "location: {lat: -92.98,", "line 12: cameras[0].location.lat"),
        (
            "[1, 1], [0, 1]]",
            "[1, 1.5], [0, 1]]",
            "line 17: cameras[0].zones[0].polygon: point (1.0, 1.5) is outside",
        ),
        (
            "        zone: road",
            "        zone: rood",
            "line 7: cameras[0]: rule 'congestion' refers to zone 'rood'",
        ),
        ("        min_vehicles: 5", "        min_vehicles: 0", "line 21: cameras[0].rules[0].min_vehicles"),
        ("      - type: congestion", "      - type: jam", "line 19: cameras[0].rules[0].type"),
        (
            "        roles: [detect, record]",
            "        roles: [record]",
            "line 7: cameras[0]: exactly one input",
        ),
        ("  - id: cam_a", "  - id: Cam-A", "line 7: cameras[0].id: String should match pattern"),
        ("    name: Camera A\n", "", "line 7: cameras[0].name: Field required"),
        (
            "${CAM_PASSWORD:-secret}",
            "${CAM_PASSWORD_UNSET}",
            "line 10: cameras[0].inputs[0].url: environment variable",
        ),
    ],
)
def test_errors_name_the_key_path_and_line(old: str, new: str, expected: str) -> None:
    assert old in VALID
    issues = _errors(VALID.replace(old, new))
    assert any(issue.startswith(expected) for issue in issues), issues


def test_yaml_syntax_errors_give_the_line() -> None:
    issues = _errors(VALID.replace("    name: Camera A", "    name: [Camera A"))
    assert issues[0].startswith("line ") and "YAML syntax error" in issues[0]


def test_an_error_in_the_defaults_is_reported_once() -> None:
    text = VALID.replace("    fps: 4", "    fps: 0") + VALID[VALID.index("  - id: cam_a") :].replace("cam_a", "cam_b")
    issues = _errors(text)
    assert sum("fps" in issue for issue in issues) == 1


def test_duplicate_camera_ids_are_refused() -> None:
    text = VALID + VALID[VALID.index("  - id: cam_a") :]
    assert any("camera ids must be unique (repeated: cam_a)" in issue for issue in _errors(text))


def test_buffer_must_hold_a_whole_clip() -> None:
    issues = _errors(VALID.replace("    pre_roll_s: 2", "    pre_roll_s: 2\n    buffer_s: 4"))
    assert any("buffer_s (4) must hold" in issue for issue in issues), issues


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "nope.yaml")


def test_the_readme_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("CAM_PASSWORD", "x")
    camera = parse_config(example).cameras[0]
    assert camera.rules[0].min_vehicles == 15
    assert camera.inputs[0].safe_url.startswith("rtsp://***:***@10.20.0.11")


ONE_INPUT = "      - url: rtsp://user:${CAM_PASSWORD:-secret}@10.0.0.5/ch1\n        roles: [detect, record]\n"
SPLIT_INPUTS = """\
      - url: rtsp://user:${CAM_PASSWORD:-secret}@10.0.0.5/ch1
        roles: [record]
      - url: rtsp://user:${CAM_PASSWORD:-secret}@10.0.0.5/ch2
        roles: [detect]
"""


def test_a_separate_record_input_is_accepted_and_found() -> None:
    text = VALID.replace(
        ONE_INPUT,
        SPLIT_INPUTS,
    )
    camera = parse_config(text).cameras[0]
    assert camera.separate_record_input
    assert camera.input_for("record").url.endswith("/ch1") and camera.input_for("detect").url.endswith("/ch2")
    assert camera.input_for("live").url.endswith("/ch2")  # live falls back to detect


def test_two_inputs_with_one_url_or_one_role_twice_are_refused() -> None:
    same_url = VALID.replace(
        ONE_INPUT,
        SPLIT_INPUTS.replace("/ch2", "/ch1"),
    )
    assert any("line 7: cameras[0]: two inputs have the same url" in issue for issue in _errors(same_url))
    two_records = VALID.replace(
        ONE_INPUT,
        SPLIT_INPUTS.replace("roles: [detect]", "roles: [detect, record]"),
    )
    assert any("at most one input may have the 'record' role" in issue for issue in _errors(two_records))


def test_pre_and_post_roll_per_event_kind_must_fit_the_buffer() -> None:
    text = VALID.replace(
        "    pre_roll_s: 2", "    pre_roll_s: 2\n    events: {flood: {pre_roll_s: 10, post_roll_s: 15}}"
    )
    issues = _errors(text)
    assert any("pre_roll_s + post_roll_s of events.flood + 2 s of margin (27)" in issue for issue in issues), issues
    record = (
        parse_config(text.replace("    pre_roll_s: 2\n", "    pre_roll_s: 2\n    buffer_s: 30\n")).cameras[0].record
    )
    assert (record.roll_for("flood").pre_roll_s, record.roll_for("flood").post_roll_s) == (10, 15)
    assert (record.roll_for("congestion").pre_roll_s, record.roll_for("congestion").post_roll_s) == (2, 3)


def test_health_limits_come_from_the_defaults_and_can_be_overridden() -> None:
    text = VALID.replace("defaults:\n", "defaults:\n  health: {incident_after_s: 120, frozen_after_s: 0}\n")
    text = text.replace("    detect:\n      confidence: 0.5\n", "    health: {incident_after_s: 30}\n")
    health = parse_config(text).cameras[0].health
    assert (health.incident_after_s, health.frozen_after_s, health.dark_after_s) == (30, 0, 20)
    bad = _errors(text.replace("incident_after_s: 30", "incident_after_s: -1"))
    assert any(issue.startswith("line ") and "health.incident_after_s" in issue for issue in bad), bad


def test_counting_lines_are_checked_like_zones() -> None:
    lines = "    lines:\n      - {name: stop_line, a: [0.1, 0.6], b: [0.9, 0.6], in_label: southbound}\n"
    camera = parse_config(VALID.replace("    zones:\n", lines + "    zones:\n")).cameras[0]
    assert camera.lines[0].in_label == "southbound" and camera.lines[0].out_label == "out"
    outside = _errors(VALID.replace("    zones:\n", lines.replace("[0.9, 0.6]", "[1.9, 0.6]") + "    zones:\n"))
    assert any("cameras[0].lines[0].b: Value error" in i or "lines[0].b" in i for i in outside), outside
    twice = lines + lines.splitlines(keepends=True)[1].replace("a: [0.1", "a: [0.2")
    assert any(
        "line names must be unique (repeated: stop_line)" in i
        for i in _errors(VALID.replace("    zones:\n", twice + "    zones:\n"))
    )


def test_every_yaml_example_of_the_readme_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fragment is checked as the part of a camera it shows (a whole file, a camera, or its keys)."""
    monkeypatch.setenv("CAM_PASSWORD", "x")
    blocks = (ROOT / "README.md").read_text().split("```yaml\n")[1:]
    head = "cameras:\n  - id: example\n    name: Example\n    inputs: [{url: rtsp://10.0.0.1/a, roles: [detect]}]\n"
    head += "    location: {lat: -2.98, lon: 104.76}\n"
    checked = 0
    for block in (b.split("```", 1)[0] for b in blocks):
        body = textwrap.dedent(block)
        if body.startswith("# plan request"):  # the planner's request, not the camera configuration
            assert parse_yaml_model(body, PlanSpec, source="README").name
            checked += 1
            continue
        if body.startswith("cameras:"):
            text = body
        elif body.startswith("- id:"):
            text = "cameras:\n" + textwrap.indent(body, "  ")
        elif body.split(":", 1)[0] in set(AppConfig.model_fields) - {"cameras"}:
            text = body + head  # a top-level section beside the cameras
        else:
            text = head + textwrap.indent(body, "    ")
        assert parse_config(text).cameras, text
        checked += 1
    assert checked >= 3
