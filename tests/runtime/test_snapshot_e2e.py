"""End to end: an operator asks a real RTSP camera for a fresh picture through the API of the whole service."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from ingest.simulator import Simulator
from tests.fixtures.service import Service, running_service

pytestmark = [pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

CAMERA = "charitas"


def _config(url: str) -> str:
    # One detector worker process: the pool configuration, where frames go to another process for detection.
    return textwrap.dedent(
        f"""\
        detectors: {{workers: 1}}
        defaults:
          detect: {{fps: 4}}
          record: {{buffer_s: 10}}
        cameras:
          - id: {CAMERA}
            name: Simpang Charitas
            inputs:
              - url: {url}
                roles: [detect, record]
            location: {{lat: -2.9787, lon: 104.7503}}
        """
    )


@pytest.fixture
def service(rtsp_camera_server: Callable[[dict[str, str]], Simulator], tmp_path: Path) -> Iterator[Service]:
    camera = rtsp_camera_server({CAMERA: "bgslibrary-video02.avi"})
    config = _config(camera.url(CAMERA))
    with running_service(config, tmp_path, key_role="operator", key_name="snapshot-e2e") as service:
        yield service


def _done(service: Service, location: str) -> dict[str, Any] | None:
    body: dict[str, Any] = service.http.get(location).json()
    return body if body["status"] != "pending" else None


def test_an_operator_gets_a_fresh_picture_of_a_live_camera(service: Service) -> None:
    started = time.monotonic()

    def online() -> bool:
        return bool(service.http.get(f"/api/cameras/{CAMERA}").json()["status"]["state"] == "online")

    service.wait_for(online, 30, "the camera to come online")
    # The first request may wait for the analytics process to load its model (so it gets a longer deadline);
    # the next ones show the usual time.
    latencies = []
    for attempt in range(3):
        asked = time.monotonic()
        ask = {"note": "e2e", "timeout_s": 40 if attempt == 0 else 10}
        answer = service.http.post(f"/api/cameras/{CAMERA}/snapshots", params={"wait_s": 10}, json=ask)
        assert answer.status_code == 202, answer.text
        body = answer.json()
        if body["status"] == "pending":  # analytics still starting: follow the request instead
            body = service.wait_for(partial(_done, service, answer.headers["location"]), 40, "the snapshot")
        assert body["status"] == "ready", body
        round_trip = time.monotonic() - asked
        requested_at, frame_at, completed_at = (
            datetime.fromisoformat(body[k]) for k in ("requested_at", "frame_at", "completed_at")
        )
        assert frame_at >= requested_at  # a fresh frame, never one older than the request
        ready_s = (completed_at - requested_at).total_seconds()
        latencies.append(ready_s)
        print(
            f"snapshot {attempt + 1}: frame taken {(frame_at - requested_at).total_seconds():.2f} s after the request, "
            f"ready after {ready_s:.2f} s, API round trip {round_trip:.2f} s"
        )

        image = service.http.get(body["image_url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        decoded = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.shape == (240, 320, 3)
        assert decoded.std() > 10  # a picture of the street, not a blank frame

    listed = service.http.get(f"/api/cameras/{CAMERA}/snapshots").json()
    assert [s["status"] for s in listed] == ["ready"] * 3
    assert all(s["requested_by"] == "key:snapshot-e2e" for s in listed)
    print(
        f"request to ready: {', '.join(f'{s:.2f}' for s in latencies)} s; test ran {time.monotonic() - started:.0f} s"
    )
