"""The analytics process loads the rules' own models (``model`` slots) once and runs them; startup checks them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import pytest

from core.config import AppConfig
from core.errors import ModelUnavailable
from core.messages import Event, EventPhase, Frame
from core.settings import Settings
from runtime.detect_loop import DetectLoop
from runtime.supervisor import Supervisor

# A real photo of waste bags on a pavement; the COCO model calls two of them "suitcase", so it can
# stand in for a city's trained trash detector (none ships: the labelled bags are for evaluation only).
BAGS_PHOTO = "eval/waste-bags-street/test/images/IMG_4383_jpeg.rf.9eb71f3d298331c296faad4e04c2eb2e.jpg"


class _Events:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, item: Any, /) -> None:
        self.items.append(item)


def _config(slot: dict[str, Any]) -> AppConfig:
    return AppConfig.model_validate(
        {
            "cameras": [
                {
                    "id": "verge",
                    "name": "Verge",
                    "inputs": [{"url": "rtsp://127.0.0.1:1/verge", "roles": ["detect"]}],
                    "location": {"lat": -2.98, "lon": 104.76},
                    "detect": {"motion_gating": False},
                    "zones": [{"name": "verge", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
                    "rules": [
                        {"type": "dumping", "zone": "verge", "model": slot, "min_static_s": 20, "interval_s": 5}
                        | {"short_s": 1}
                    ],
                }
            ]
        }
    )


def test_the_loop_runs_a_rules_own_model_and_raises_its_event(assets_dir: Path, settings: Settings) -> None:
    photo = cv2.imread(str(assets_dir / BAGS_PHOTO))
    assert photo is not None
    config = _config({"name": "yolo11n-int8-openvino", "classes": ["suitcase"]})
    events = _Events()
    loop = DetectLoop(config, settings, {}, events, threading.Event())
    try:
        assert list(loop.rule_models.detectors) == ["yolo11n-int8-openvino"]
        for second in range(31):
            loop.step(Frame("verge", second, float(second), photo))
    finally:
        loop.close()

    raised = [e for e in events.items if isinstance(e, Event)]
    assert [(e.kind, e.phase) for e in raised] == [("dumping", EventPhase.START)]
    assert raised[0].details["detector"] == "yolo11n-int8-openvino" and raised[0].frame_jpeg


def test_startup_names_a_rule_model_that_is_not_there(tmp_path: Path, settings: Settings) -> None:
    missing = tmp_path / "trash-palembang.pt"
    supervisor = Supervisor(_config({"name": str(missing)}), settings, host="127.0.0.1", port=0)

    with pytest.raises(ModelUnavailable, match=str(missing)):
        supervisor.prepare()
