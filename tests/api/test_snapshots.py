"""The snapshot API: ask a camera for a fresh picture, follow the request, fetch the JPEG or the reason it failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.messages import Frame
from incidents.db import session_scope
from incidents.evidence import EvidenceStore
from incidents.snapshots import expire
from incidents.types import utcnow
from runtime.snapshot_service import SnapshotService

CAMERA = "simpang_lima"


def _image() -> np.ndarray:
    image = np.zeros((240, 320, 3), np.uint8)
    cv2.rectangle(image, (40, 60), (200, 180), (30, 160, 240), -1)
    return image


@pytest.fixture
def service(session_factory: sessionmaker[Session], store: EvidenceStore) -> SnapshotService:
    return SnapshotService(session_factory, store, [CAMERA, "ampera"], poll_interval_s=0.05)


@pytest.fixture
def camera_feed(service: SnapshotService) -> Iterator[None]:
    """The service's thread, and a camera that sends it a frame every 100 ms, as the analytics loop would."""
    stop = threading.Event()

    def feed() -> None:
        seq = 0
        while not stop.wait(0.1):
            seq += 1
            service.offer(Frame(CAMERA, seq, time.time(), _image()))

    feeder = threading.Thread(target=feed, daemon=True)
    service.start()
    feeder.start()
    yield
    stop.set()
    feeder.join(2)
    service.stop()


def test_asking_queues_a_request_and_says_where_to_follow_it(client: TestClient) -> None:
    answer = client.post(f"/api/cameras/{CAMERA}/snapshots", json={"incident_id": None, "note": "laporan warga #12"})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/api/snapshots/{body['id']}"
    assert body["status"] == "pending" and body["camera_id"] == CAMERA
    assert body["requested_by"] == "rina"  # the authenticated user, never a body field
    assert body["image_url"] is None and body["frame_at"] is None
    requested_at, deadline_at = (datetime.fromisoformat(body[k]) for k in ("requested_at", "deadline_at"))
    assert deadline_at - requested_at == timedelta(seconds=10)
    # No worker has reported on the camera: it is asked all the same, and the answer says so.
    assert body["camera_state"] == "offline" and body["camera_reason"] == "no status report received yet"
    assert client.get(answer.headers["location"]).json() == body
    assert client.post(f"/api/cameras/{CAMERA}/snapshots").status_code == 202  # a body is optional


@pytest.mark.parametrize(
    ("camera_id", "body", "detail"),
    [
        ("nowhere", {}, "camera 'nowhere' not found"),
        (CAMERA, {"incident_id": 4040}, "incident 4040 not found"),
        (CAMERA, {"report_id": 4040}, "citizen report 4040 not found"),
    ],
)
def test_asking_for_what_does_not_exist_is_a_404(
    client: TestClient, camera_id: str, body: dict[str, int], detail: str
) -> None:
    answer = client.post(f"/api/cameras/{camera_id}/snapshots", json=body)
    assert answer.status_code == 404 and answer.json() == {"detail": detail}


@pytest.mark.parametrize("body", [{"timeout_s": 0.5}, {"timeout_s": 61}, {"requested_by": "someone"}])
def test_invalid_bodies_are_refused(client: TestClient, body: dict[str, object]) -> None:
    assert client.post(f"/api/cameras/{CAMERA}/snapshots", json=body).status_code == 422


def test_asking_needs_credentials(anon_client: TestClient) -> None:
    assert anon_client.post(f"/api/cameras/{CAMERA}/snapshots").status_code == 401


def test_a_served_request_gives_its_jpeg(client: TestClient, service: SnapshotService) -> None:
    snapshot_id = client.post(f"/api/cameras/{CAMERA}/snapshots").json()["id"]
    image_url = f"/api/snapshots/{snapshot_id}/image"
    pending = client.get(image_url)
    assert pending.status_code == 404 and "not ready yet" in pending.json()["detail"]

    service.run_once()
    taken = time.time()
    service.offer(Frame(CAMERA, 1, taken, _image()))
    assert service.run_once() == 1

    body = client.get(f"/api/snapshots/{snapshot_id}").json()
    assert body["status"] == "ready" and body["image_url"] == image_url
    assert datetime.fromisoformat(body["frame_at"]).timestamp() == pytest.approx(taken, abs=1e-3)
    assert body["frame_at"] >= body["requested_at"]
    answer = client.get(image_url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    decoded = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (240, 320, 3)


def test_a_failed_request_says_why_and_its_image_is_a_409(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    snapshot_id = client.post(f"/api/cameras/{CAMERA}/snapshots", json={"timeout_s": 2}).json()["id"]
    with session_scope(session_factory) as session:
        assert expire(utcnow() + timedelta(seconds=3), session=session) == [snapshot_id]
    body = client.get(f"/api/snapshots/{snapshot_id}").json()
    assert body["status"] == "failed" and body["error"] == "camera sent no frame in 2 s"
    answer = client.get(f"/api/snapshots/{snapshot_id}/image")
    assert answer.status_code == 409
    assert answer.json() == {"detail": f"snapshot {snapshot_id} failed: camera sent no frame in 2 s"}


def test_unknown_snapshots_are_404(client: TestClient) -> None:
    assert client.get("/api/snapshots/999").status_code == 404
    assert client.get("/api/snapshots/999/image").status_code == 404
    assert client.get("/api/cameras/nowhere/snapshots").status_code == 404


@pytest.mark.usefixtures("camera_feed")
def test_waiting_answers_with_the_picture_in_one_call(client: TestClient) -> None:
    started = time.monotonic()
    answer = client.post(f"/api/cameras/{CAMERA}/snapshots", params={"wait_s": 5})
    waited = time.monotonic() - started
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "ready", body
    assert body["frame_at"] >= body["requested_at"]
    assert client.get(body["image_url"]).headers["content-type"] == "image/jpeg"
    assert waited < 5


def test_waiting_for_a_camera_that_sends_nothing_ends_at_the_wait(client: TestClient) -> None:
    started = time.monotonic()
    answer = client.post("/api/cameras/ampera/snapshots", params={"wait_s": 0.5})
    assert 0.5 <= time.monotonic() - started < 3
    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    assert client.post(f"/api/cameras/{CAMERA}/snapshots", params={"wait_s": 11}).status_code == 422


def test_a_camera_lists_its_recent_requests_newest_first(client: TestClient) -> None:
    ids = [client.post(f"/api/cameras/{CAMERA}/snapshots").json()["id"] for _ in range(3)]
    client.post("/api/cameras/ampera/snapshots")
    listed = client.get(f"/api/cameras/{CAMERA}/snapshots", params={"limit": 2}).json()
    assert [s["id"] for s in listed] == ids[::-1][:2]
