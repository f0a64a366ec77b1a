"""End to end: a real RTSP camera of real traffic footage in, an incident with snapshot and clip out."""

from __future__ import annotations

import os
import re
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import psutil
import pytest

from ingest.simulator import Simulator
from tests.fixtures.service import Service, running_service

pytestmark = [pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

PRE_ROLL_S, POST_ROLL_S = 2.0, 3.0


def _config(url: str, other_url: str) -> str:
    # Tuned for bgslibrary-video02.avi: 4-14 vehicles in view, 8 on average. The second camera,
    # on a server of its own, has no rules: it is there to show that it never stops.
    return textwrap.dedent(
        f"""\
        defaults:
          detect: {{fps: 4}}
          record: {{pre_roll_s: {PRE_ROLL_S}, post_roll_s: {POST_ROLL_S}, buffer_s: 15, continuous: true, segment_s: 4}}
          stream: {{offline_after_s: 5}}
          health: {{incident_after_s: 8}}
        cameras:
          - id: ampera
            name: Jembatan Ampera
            inputs:
              - url: {other_url}
                roles: [detect, record]
            detect: {{fps: 1}}
            location: {{lat: -2.9917, lon: 104.7631, kecamatan: Seberang Ulu Satu}}
          - id: sudirman_charitas
            name: Simpang Charitas
            inputs:
              - url: {url}
                roles: [detect, record, live]
            location: {{lat: -2.9787, lon: 104.7503, heading: 200, kelurahan: Sungaipangeran, kecamatan: Ilir Timur Satu}}
            zones:
              - name: carriageway
                polygon: [[0.0, 0.35], [0.5, 0.1], [0.95, 0.1], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
            rules:
              - type: congestion
                zone: carriageway
                min_vehicles: 7
                min_duration_s: 1
                end_after_s: 5
        """
    )


@pytest.fixture
def service(rtsp_camera_server: Callable[[dict[str, str]], Simulator], tmp_path: Path) -> Iterator[Service]:
    camera = rtsp_camera_server({"sudirman_charitas": "bgslibrary-video02.avi"})
    other = rtsp_camera_server({"ampera": "bgslibrary-video03.avi"})
    urls = _config(camera.url("sudirman_charitas"), other.url("ampera"))
    with running_service(urls, tmp_path, key_role="supervisor") as service:  # a supervisor may ask for plans
        service.camera = camera  # the outage test stops and starts it
        yield service


def test_rtsp_camera_to_stored_incident_with_snapshot_and_clip(service: Service, tmp_path: Path) -> None:
    started = time.monotonic()
    children = psutil.Process(service.process.pid).children(recursive=True)
    assert len(children) >= 5  # two camera workers, analytics, API, planner

    def online() -> Any:
        cameras = {c["id"]: c for c in service.get("/api/cameras").json()}
        return cameras if all(c["status"]["state"] == "online" for c in cameras.values()) else None

    cameras = service.wait_for(online, 60, "the cameras to come online")
    assert sorted(cameras) == ["ampera", "sudirman_charitas"]
    assert cameras["sudirman_charitas"]["location"]["kecamatan"] == "Ilir Timur Satu"

    def incident_with_clip() -> Any:
        page = service.get("/api/incidents", params={"camera_id": "sudirman_charitas"}).json()
        ready = [i for i in page["items"] if i["clip_status"] == "ready"]
        return ready[0] if ready else None

    incident = service.wait_for(incident_with_clip, 120, "an incident with a ready clip")
    print(f"first incident with clip after {time.monotonic() - started:.1f} s of running")
    assert incident["kind"] == "congestion" and incident["zone"] == "carriageway"
    assert incident["status"] == "new"
    assert incident["details"]["vehicles"] >= 7

    snapshot = service.get(f"/api/incidents/{incident['id']}/snapshot.jpg")
    assert snapshot.status_code == 200 and snapshot.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(snapshot.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (240, 320, 3)

    clip = service.get(f"/api/incidents/{incident['id']}/clip.mp4")
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        duration = float(container.duration or 0) / 1e6
        first = next(container.decode(stream))
    assert first.key_frame
    expected = PRE_ROLL_S + POST_ROLL_S
    assert expected - 0.5 <= duration <= expected + 2.5, duration  # plus at most one GOP of lead-in

    part = service.get(f"/api/incidents/{incident['id']}/clip.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == clip.content[:100]

    filtered = service.get("/api/incidents", params={"kind": "flood"}).json()
    assert filtered["total"] == 0

    # Continuous recording: segments are indexed and any range comes back as one playable MP4.
    def recorded() -> Any:
        listing = service.get("/api/cameras/ampera/recordings").json()
        return listing if listing["recorded_s"] >= 8 else None

    listing = service.wait_for(recorded, 60, "8 s of continuous recording")
    span = listing["spans"][0]
    export = service.get("/api/cameras/ampera/recording.mp4", params={"start": span["start"], "end": span["end"]})
    assert export.status_code == 200, export.text
    path.write_bytes(export.content)
    with av.open(str(path)) as container:
        assert next(container.decode(video=0)).key_frame
        assert float(container.duration or 0) / 1e6 >= 7

    # Prometheus sees both cameras up and the detector reporting.
    metrics = service.get("/metrics").text
    assert 'matakota_camera_up{camera="ampera"} 1.0' in metrics
    assert 'matakota_camera_up{camera="sudirman_charitas"} 1.0' in metrics
    assert "matakota_detector_inference_seconds" in metrics

    # A coverage plan asked for over the API is run by the service's planner process.
    plan = service.http.post("/api/plans", json=_plan()).json()
    done = service.wait_for(
        lambda: (p := service.get(f"/api/plans/{plan['id']}").json())["status"] in ("done", "failed") and p,
        60,
        "the plan to be run",
    )
    assert done["status"] == "done", done["error"]
    assert done["summary"]["cameras_new"] >= 1 and done["summary"]["coverage"] >= 0.9
    assert service.get(done["files"]["map.png"]).content.startswith(b"\x89PNG")


def _plan() -> dict[str, Any]:
    """Three places around the Charitas junction, inside a square of the city."""
    square = [[104.748, -2.981], [104.753, -2.981], [104.753, -2.976], [104.748, -2.976], [104.748, -2.981]]
    places = [[104.7503, -2.9787], [104.7512, -2.9795], [104.7495, -2.9780]]
    return {
        "name": "Charitas junction",
        "area": {"source": {"geojson": {"type": "Polygon", "coordinates": [square]}}},
        "demand": {
            "points": [{"source": {"geojson": {"type": "MultiPoint", "coordinates": places}}, "class": "junction"}]
        },
        "candidates": {"around_points_m": 10, "points_per_poi": 4},
        "objective": {"target": 0.9},
    }


def _camera_state(service: Service) -> str:
    return str(service.get("/api/cameras/sudirman_charitas").json()["status"]["state"])


def _worker_pids(service: Service, child: str) -> list[int]:
    found = re.findall(rf"started {child} \(pid (\d+)\)", service.log.read_text())
    return [int(pid) for pid in found]


def _last_seen(service: Service, incident_id: int) -> str:
    return str(service.get(f"/api/incidents/{incident_id}").json()["last_seen_at"])


def test_killed_workers_and_a_camera_outage_are_survived(service: Service) -> None:
    service.wait_for(lambda: _camera_state(service) == "online", 60, "the camera to come online")

    def first_with_clip() -> Any:
        items = service.get("/api/incidents").json()["items"]
        return next((i for i in items if i["clip_status"] == "ready"), None)

    first = service.wait_for(first_with_clip, 120, "a first incident with its clip")

    # A decoder crash: only that camera's process dies, and the supervisor starts it again.
    (first_pid,) = _worker_pids(service, "camera-sudirman_charitas")
    os.kill(first_pid, signal.SIGKILL)
    service.wait_for(lambda: len(_worker_pids(service, "camera-sudirman_charitas")) == 2, 30, "a new camera worker")
    assert "camera-sudirman_charitas exited with signal SIGKILL" in service.log.read_text()
    (crash,) = service.get("/api/reports/process-exits", params={"camera_id": "sudirman_charitas"}).json()
    assert crash["process"] == "camera-sudirman_charitas" and crash["signal"] == "SIGKILL" and crash["ran_s"] > 0
    seen = _last_seen(service, first["id"])
    service.wait_for(lambda: _last_seen(service, first["id"]) > seen, 90, "events from the restarted worker")
    assert service.get(f"/api/incidents/{first['id']}").json()["clip_status"] == "ready"  # nothing stored lost

    # The analytics process dies too: it comes back and detects again.
    (analytics_pid,) = _worker_pids(service, "analytics")
    os.kill(analytics_pid, signal.SIGKILL)
    service.wait_for(lambda: len(_worker_pids(service, "analytics")) == 2, 30, "a new analytics process")
    exits = service.get("/api/reports/process-exits").json()
    assert [e["process"] for e in exits] == ["analytics", "camera-sudirman_charitas"]  # newest first
    seen = _last_seen(service, first["id"])
    service.wait_for(lambda: _last_seen(service, first["id"]) > seen, 90, "events from the new analytics process")

    # A network outage: the camera goes offline, with a reason, a health incident opens past the
    # limit, and both end by themselves when the camera comes back.
    service.camera.stop()
    service.wait_for(lambda: _camera_state(service) == "offline", 40, "the camera to be reported offline")
    reason = service.get("/api/cameras/sudirman_charitas").json()["status"]["reason"]
    assert reason

    def health_incident() -> Any:
        items = service.get("/api/incidents", params={"kind": "camera_health"}).json()["items"]
        return items[0] if items else None

    opened = service.wait_for(health_incident, 40, "a camera health incident")
    assert opened["camera_id"] == "sudirman_charitas" and opened["ended_at"] is None
    service.camera.start()
    service.wait_for(lambda: _camera_state(service) == "online", 60, "the camera to come back online")
    status = service.get("/api/cameras/sudirman_charitas").json()["status"]
    assert status["reconnects"] >= 1
    resolved = service.wait_for(
        lambda: (i := health_incident()) and i["status"] == "resolved" and i, 30, "the health incident to resolve"
    )
    assert resolved["id"] == opened["id"] and resolved["ended_at"] is not None

    # The other camera, on its own server, never stopped: same worker, online throughout.
    assert len(_worker_pids(service, "camera-ampera")) == 1
    assert service.get("/api/cameras/ampera").json()["status"]["state"] == "online"
    assert not [e for e in service.get("/api/reports/process-exits").json() if e["camera_id"] == "ampera"]
