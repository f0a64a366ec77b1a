"""The recording API over segments recorded from a real RTSP camera: listing, one-MP4 export, HTTP Range."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.messages import RecordingSegment as FinishedSegment
from core.settings import Settings
from incidents.models import RecordingSegment
from tests.fixtures.recording import GOP_S, index_copies, live_camera, record

pytestmark = pytest.mark.rtsp

CAMERA = "simpang_lima"
BASE = f"/api/cameras/{CAMERA}"


@pytest.fixture(scope="module")
def recorded(footage_dir: Path, system_python: str, tmp_path_factory: pytest.TempPathFactory) -> list[FinishedSegment]:
    """About seven seconds of a real camera in 2 s segments (recorded once for this module)."""
    directory = tmp_path_factory.mktemp("recorded")
    with live_camera(footage_dir, system_python) as url:
        segments = record(url, directory, seconds=7, segment_s=2, camera_id=CAMERA)
    assert len(segments) >= 3
    return segments


@pytest.fixture
def indexed(
    recorded: list[FinishedSegment], api_settings: Settings, session_factory: sessionmaker[Session]
) -> list[RecordingSegment]:
    """The module's segments, copied to where this test's service keeps recordings, and indexed."""
    return index_copies(recorded, api_settings.recordings_dir, session_factory)


def _range(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


def test_the_listing_shows_segments_and_one_unbroken_stretch(
    client: TestClient, indexed: list[RecordingSegment]
) -> None:
    start, end = indexed[0].start_at - timedelta(minutes=1), indexed[-1].end_at + timedelta(minutes=1)
    response = client.get(f"{BASE}/recordings", params=_range(start, end))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_segments"] == len(indexed)
    assert [datetime.fromisoformat(s["start_at"]) for s in body["segments"]] == [s.start_at for s in indexed]
    assert body["segments"][0]["size_bytes"] == indexed[0].size_bytes and body["segments"][0]["frames"] > 0
    (span,) = body["spans"]  # the segments abut
    assert datetime.fromisoformat(span["start"]) == indexed[0].start_at
    recorded_s = (indexed[-1].end_at - indexed[0].start_at).total_seconds()
    assert body["recorded_s"] == pytest.approx(recorded_s, abs=0.01)
    page = client.get(f"{BASE}/recordings", params={**_range(start, end), "limit": 1, "offset": 1}).json()
    assert [s["start_at"] for s in page["segments"]] == [body["segments"][1]["start_at"]]
    assert page["total_segments"] == len(indexed) and page["spans"] == body["spans"]


def test_an_export_across_segments_is_one_mp4_that_plays_from_its_first_frame_and_covers_the_range(
    client: TestClient, indexed: list[RecordingSegment], api_settings: Settings, tmp_path: Path
) -> None:
    start = indexed[0].start_at + timedelta(seconds=1.5)
    end = indexed[2].start_at + timedelta(seconds=0.5)
    response = client.get(f"{BASE}/recording.mp4", params=_range(start, end))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert datetime.fromisoformat(response.headers["x-recording-start"]) <= start
    target = tmp_path / "export.mp4"
    target.write_bytes(response.content)
    with av.open(str(target)) as container:
        frames = list(container.decode(video=0))
        seconds = float(container.duration or 0) / 1e6
    assert frames[0].key_frame
    wanted = (end - start).total_seconds()
    assert wanted <= seconds + 0.1 <= wanted + GOP_S + 0.2  # from the keyframe before the start
    assert float(response.headers["x-recorded-seconds"]) == pytest.approx(seconds, abs=0.05)
    exports = api_settings.resolved_cache_dir / "exports"
    assert not exports.exists() or not any(exports.iterdir())  # removed once sent


def test_http_range_requests_on_an_export_return_the_same_bytes(
    client: TestClient, indexed: list[RecordingSegment], api_settings: Settings
) -> None:
    params = _range(indexed[0].start_at, indexed[1].end_at)
    whole = client.get(f"{BASE}/recording.mp4", params=params).content
    part = client.get(f"{BASE}/recording.mp4", params=params, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    assert part.content == whole[1000:2000]  # the same export every time, so a player can seek through it
    tail = client.get(f"{BASE}/recording.mp4", params=params, headers={"Range": f"bytes={len(whole) - 10}-"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    beyond = client.get(f"{BASE}/recording.mp4", params=params, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416
    exports = api_settings.resolved_cache_dir / "exports"
    assert not any(exports.iterdir())  # every export was removed, after the refused range too


@pytest.mark.parametrize(
    ("path", "query", "status", "reason"),
    [
        ("recording.mp4", {"start": "2025-06-15T15:00:00", "end": "2025-06-15T15:10:00+00:00"}, 422, "timezone"),
        ("recording.mp4", {"start": "2025-06-15T15:00:00+00:00"}, 422, "Field required"),
        ("recording.mp4", {"start": "yesterday", "end": "2025-06-15T15:10:00+00:00"}, 422, "datetime"),
        ("recording.mp4", {"start": "2025-06-15T15:10:00Z", "end": "2025-06-15T15:10:00Z"}, 422, "must be after"),
        ("recording.mp4", {"start": "2025-06-15T15:00:00Z", "end": "2025-06-15T16:00:01Z"}, 422, "limit of 1 h"),
        ("recordings", {"start": "2025-06-15T15:00:00Z", "end": "2025-06-16T15:00:01Z"}, 422, "limit of 24 h"),
        ("recordings", {"start": "2025-06-15T16:00:00+07:00", "end": "2025-06-15T08:00:00Z"}, 422, "must be after"),
    ],
)
def test_a_bad_range_is_refused_with_the_reason(
    client: TestClient, path: str, query: dict[str, str], status: int, reason: str
) -> None:
    response = client.get(f"{BASE}/{path}", params=query)
    assert response.status_code == status
    assert reason in str(response.json()["detail"])


def test_an_unknown_camera_or_a_range_without_recording_is_not_found(
    client: TestClient, indexed: list[RecordingSegment]
) -> None:
    later = indexed[-1].end_at + timedelta(minutes=10)
    missing = client.get("/api/cameras/nope/recording.mp4", params=_range(later, later + timedelta(minutes=1)))
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    empty = client.get(f"{BASE}/recording.mp4", params=_range(later, later + timedelta(minutes=1)))
    assert empty.status_code == 404 and "recorded nothing" in empty.json()["detail"]
    listing = client.get(f"{BASE}/recordings", params=_range(later, later + timedelta(minutes=1))).json()
    assert (listing["segments"], listing["spans"], listing["recorded_s"]) == ([], [], 0)
