"""End to end: an operator asks a real RTSP camera for a fresh picture through the API of the whole service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import psutil
import pytest

from core.settings import Settings
from incidents.accounts import UserRole, create_api_key
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from ingest.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

ROOT = Path(__file__).resolve().parents[2]
CAMERA = "charitas"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _api_key(data_dir: Path) -> str:
    """An operator's API key, made in the service's database before it starts (it migrates it first)."""
    url = Settings(data_dir=data_dir).resolved_database_url
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _, secret = create_api_key("snapshot-e2e", UserRole.OPERATOR, session=session, created_by="test")
    finally:
        engine.dispose()
    return secret


class _Service:
    def __init__(self, process: subprocess.Popen[str], url: str, log: Path, key: str) -> None:
        self.process, self.url, self.log = process, url, log
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20)

    def wait_for(self, predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"service exited:\n{self.log.read_text()[-3000:]}"
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def service(rtsp_camera_server: Callable[[dict[str, str]], Simulator], tmp_path: Path) -> Iterator[_Service]:
    camera = rtsp_camera_server({CAMERA: "bgslibrary-video02.avi"})
    config = tmp_path / "camera_config.yaml"
    config.write_text(_config(camera.url(CAMERA)))
    data_dir = tmp_path / "data"
    key = _api_key(data_dir)
    port = _free_port()
    log = tmp_path / "service.log"
    env = {**os.environ, "MATAKOTA_DATA_DIR": str(data_dir), "MATAKOTA_ALLOW_DOWNLOADS": "0"}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtime", "run", "--config", str(config), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the service prints its URL once the API answers
        assert f"http://127.0.0.1:{port}" in line, f"unexpected first line {line!r}:\n{log.read_text()[-3000:]}"
        yield _Service(process, f"http://127.0.0.1:{port}", log, key)
    finally:
        tree = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _, alive = psutil.wait_procs(tree, timeout=10)
        for leftover in alive:
            leftover.kill()
        assert not alive, f"processes left behind: {alive}"
        assert process.returncode == 0, f"exit code {process.returncode}:\n{log.read_text()[-3000:]}"


def _done(service: _Service, location: str) -> dict[str, Any] | None:
    body: dict[str, Any] = service.http.get(location).json()
    return body if body["status"] != "pending" else None


def test_an_operator_gets_a_fresh_picture_of_a_live_camera(service: _Service) -> None:
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
