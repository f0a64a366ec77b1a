"""Builders shared by the incident store and API tests: a small config, events, a real JPEG."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from core.config import AppConfig
from core.config_loader import parse_config
from core.messages import Event, EventPhase, Severity

CONFIG_YAML = """
version: 1
defaults:
  record: {pre_roll_s: 4, post_roll_s: 6, buffer_s: 30}
cameras:
  - id: simpang_lima
    name: Simpang Lima
    inputs:
      - url: rtsp://admin:s3cret@10.0.0.7:554/ch1
        roles: [detect, record]
    location:
      lat: -2.9909
      lon: 104.7566
      heading: 90
      kelurahan: 20 Ilir D I
      kecamatan: Ilir Timur I
      address: Jl. Jend. Sudirman
    zones:
      - name: road
        polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
  - id: ampera
    name: Jembatan Ampera
    record: {pre_roll_s: 2, post_roll_s: 5}
    inputs:
      - url: rtsp://operator:hunter2@10.0.0.8/live
        roles: [detect]
    location: {lat: -2.9917, lon: 104.7631}
"""

T0 = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC


def make_config(text: str = CONFIG_YAML) -> AppConfig:
    """The test camera configuration, validated by the real loader."""
    return parse_config(text, source="test-config")


def tiny_jpeg() -> bytes:
    """A real 16x16 JPEG."""
    image = np.full((16, 16, 3), (40, 120, 200), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return bytes(encoded.tobytes())


def make_event(
    phase: EventPhase,
    *,
    at_ts: float = T0,
    started_ts: float = T0,
    camera_id: str = "simpang_lima",
    kind: str = "congestion",
    zone: str = "road",
    severity: Severity = Severity.MEDIUM,
    details: dict[str, Any] | None = None,
    snapshot_jpeg: bytes | None = None,
) -> Event:
    """An event with sensible defaults for the fields a test does not care about."""
    return Event(
        camera_id=camera_id,
        kind=kind,
        zone=zone,
        phase=phase,
        at_ts=at_ts,
        started_ts=started_ts,
        severity=severity,
        title=f"{kind} at {camera_id}/{zone}",
        details=details if details is not None else {"vehicles": 12},
        snapshot_jpeg=snapshot_jpeg,
    )
