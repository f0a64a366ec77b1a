"""Incident endpoints: list, filter, detail, snapshot and clip (with HTTP Range), errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.messages import ClipRequest, ClipResult, EventPhase, Severity
from incidents.accounts import UserRole
from incidents.evidence import EvidenceStore
from incidents.recorder import IncidentRecorder
from tests.incidents.helpers import T0, make_event, tiny_jpeg

CLIP = bytes(range(256)) * 4  # 1024 bytes; any bytes do for Range tests


def _open(recorder: IncidentRecorder, **kwargs: object) -> ClipRequest:
    request = recorder.handle_event(make_event(EventPhase.START, **kwargs))  # type: ignore[arg-type]
    assert request is not None
    return request


def _deliver(recorder: IncidentRecorder, store: EvidenceStore, request: ClipRequest) -> None:
    store.write_atomic(store.relpath_of(request.path), CLIP)
    recorder.handle_clip_result(
        ClipResult(request.request_id, request.camera_id, request.incident_id, request.path, ok=True)
    )


@pytest.fixture
def three(recorder: IncidentRecorder) -> None:
    """Incidents 1 (simpang_lima, 0 s), 2 (ampera, +60 s) and 3 (simpang_lima flood, +120 s)."""
    _open(recorder, snapshot_jpeg=tiny_jpeg())
    _open(recorder, camera_id="ampera", at_ts=T0 + 60, started_ts=T0 + 60, severity=Severity.HIGH)
    _open(recorder, kind="flood", at_ts=T0 + 120, started_ts=T0 + 120)


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    ("query", "expected_ids", "total"),
    [
        ("", [3, 2, 1], 3),
        ("?camera_id=simpang_lima", [3, 1], 2),
        ("?kind=congestion", [2, 1], 2),
        ("?status=new", [3, 2, 1], 3),
        ("?status=closed", [], 0),
        ("?started_after=2025-06-15T15:07:40%2B00:00", [3, 2], 2),
        ("?started_before=2025-06-15T22:07:40%2B07:00", [1], 1),
        ("?limit=1&offset=1", [2], 3),
    ],
)
def test_incidents_are_listed_newest_first_filtered_and_paged(
    client: TestClient, query: str, expected_ids: list[int], total: int
) -> None:
    response = client.get(f"/api/incidents{query}")
    assert response.status_code == 200, response.text
    page = response.json()
    assert [i["id"] for i in page["items"]] == expected_ids
    assert page["total"] == total


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=201",
        "?offset=-1",
        "?status=lost",
        "?started_after=2025-06-15T15:07:40",
        "?camera=x",
    ],
    ids=["limit 0", "limit 201", "negative offset", "unknown status", "naive time", "unknown parameter"],
)
def test_bad_list_parameters_are_422(client: TestClient, query: str) -> None:
    assert client.get(f"/api/incidents{query}").status_code == 422


@pytest.mark.usefixtures("three")
def test_an_incident_shows_its_snapshot_url_and_pending_clip(client: TestClient) -> None:
    body = client.get("/api/incidents/1").json()
    assert body["camera_id"] == "simpang_lima" and body["kind"] == "congestion" and body["zone"] == "road"
    assert (body["status"], body["severity"]) == ("new", "medium")
    assert body["started_at"] == "2025-06-15T15:06:40Z"
    assert body["ended_at"] is None
    assert body["details"] == {"vehicles": 12}
    assert body["snapshot_url"] == "/api/incidents/1/snapshot.jpg"
    assert (body["clip_url"], body["clip_status"]) == (None, "pending")
    assert client.get("/api/incidents/2").json()["snapshot_url"] is None


def test_an_unknown_incident_is_404_with_a_detail(client: TestClient) -> None:
    for path in ("/api/incidents/99", "/api/incidents/99/snapshot.jpg", "/api/incidents/99/clip.mp4"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "incident 99 not found"}


@pytest.mark.usefixtures("three")
def test_the_snapshot_is_served_as_jpeg(client: TestClient) -> None:
    response = client.get("/api/incidents/1/snapshot.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == tiny_jpeg()


@pytest.mark.usefixtures("three")
def test_a_missing_snapshot_is_404_with_a_reason(client: TestClient) -> None:
    response = client.get("/api/incidents/2/snapshot.jpg")
    assert response.status_code == 404
    assert response.json() == {"detail": "incident 2 has no snapshot"}


def test_a_pending_or_failed_clip_is_404_with_the_reason(client: TestClient, recorder: IncidentRecorder) -> None:
    request = _open(recorder)
    pending = client.get("/api/incidents/1/clip.mp4")
    assert (pending.status_code, pending.json()) == (
        404,
        {"detail": "the clip of incident 1 is not ready yet (pending)"},
    )

    recorder.handle_clip_result(
        ClipResult(request.request_id, "simpang_lima", 1, request.path, ok=False, error="stream offline")
    )
    failed = client.get("/api/incidents/1/clip.mp4")
    assert (failed.status_code, failed.json()) == (
        404,
        {"detail": "the clip of incident 1 failed: stream offline"},
    )
    assert client.get("/api/incidents/1").json()["clip_status"] == "failed"


def test_a_ready_clip_whose_file_is_gone_is_404(
    client: TestClient, recorder: IncidentRecorder, store: EvidenceStore
) -> None:
    request = _open(recorder)
    _deliver(recorder, store, request)
    store.path_for(store.relpath_of(request.path)).unlink()
    response = client.get("/api/incidents/1/clip.mp4")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "the clip of incident 1 is no longer on disk"},
    )


@pytest.fixture
def clip_ready(recorder: IncidentRecorder, store: EvidenceStore) -> None:
    _deliver(recorder, store, _open(recorder))


@pytest.mark.usefixtures("clip_ready")
def test_a_ready_clip_is_linked_and_served_whole_as_mp4(client: TestClient) -> None:
    body = client.get("/api/incidents/1").json()
    assert (body["clip_url"], body["clip_status"]) == ("/api/incidents/1/clip.mp4", "ready")
    response = client.get(body["clip_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == CLIP


@pytest.mark.usefixtures("clip_ready")
@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 1023),
        ("bytes=-50", 974, 1023),
        ("bytes=1000-5000", 1000, 1023),  # an end past the file is cut to the file
        ("bytes=-5000", 0, 1023),  # a suffix longer than the file is the whole file
        ("bytes=1023-1023", 1023, 1023),
    ],
)
def test_a_clip_range_request_gets_206_with_exactly_those_bytes(
    client: TestClient, range_header: str, start: int, end: int
) -> None:
    response = client.get("/api/incidents/1/clip.mp4", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(CLIP)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == CLIP[start : end + 1]


@pytest.mark.usefixtures("clip_ready")
@pytest.mark.parametrize("range_header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_an_unsatisfiable_clip_range_is_416(client: TestClient, range_header: str) -> None:
    response = client.get("/api/incidents/1/clip.mp4", headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(CLIP)}"


def test_unexpected_errors_answer_internal_error_without_details(
    app: FastAPI, auth_headers: Callable[..., dict[str, str]]
) -> None:
    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret path /var/matakota")

    with TestClient(app, raise_server_exceptions=False, headers=auth_headers(UserRole.ADMIN)) as client:
        response = client.get("/api/boom")
    assert (response.status_code, response.json()) == (500, {"detail": "internal error"})
