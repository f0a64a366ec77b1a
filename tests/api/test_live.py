"""Live view: a real RTSP camera watched over WebRTC by an aiortc peer (as a browser would), and as MJPEG."""

from __future__ import annotations

import asyncio
import json
import time

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.detections import Detections
from api.app import create_app
from api.live import LiveViews
from core.config import AppConfig
from core.config_loader import parse_config
from core.settings import Settings
from incidents.accounts import UserRole
from ingest.simulator import Simulator
from runtime.live_detections import LiveDetections, detections_file
from tests.api.conftest import AuthHeaders
from tests.fixtures.rtsp import CameraServerFactory

FOOTAGE = "bgslibrary-video02.avi"
WATCH_S = 30.0  # every wait of these tests is bounded by this


def _config(url: str, viewers: int = 2) -> str:
    return f"""
version: 1
cameras:
  - id: sudirman
    name: Jl. Sudirman
    stream: {{live_viewers: {viewers}}}
    inputs:
      - url: {url}
        roles: [detect]
    location: {{lat: -2.99, lon: 104.75}}
    zones:
      - name: road
        polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
    lines:
      - {{name: stop_line, a: [0.1, 0.8], b: [0.9, 0.8]}}
  - id: replay
    name: Replay only
    inputs:
      - url: /var/footage/replay.mp4
        roles: [detect]
    location: {{lat: -2.99, lon: 104.75}}
"""


@pytest.fixture
def simulator(rtsp_camera_server: CameraServerFactory) -> Simulator:
    return rtsp_camera_server({"sudirman": FOOTAGE})


@pytest.fixture
def config(simulator: Simulator) -> AppConfig:
    """Two cameras: ``sudirman`` on a real RTSP server (two viewers at most), ``replay`` with a file only."""
    return parse_config(_config(simulator.url("sudirman")), source="test-live")


@pytest.fixture
def app(api_settings: Settings, session_factory: object, config: AppConfig) -> FastAPI:
    return create_app(api_settings, config)


@pytest.fixture
def views(app: FastAPI) -> LiveViews:
    live: LiveViews = app.state.live_views
    return live


class Viewer:
    """An aiortc peer receiving a camera's video, as the camera wall's browser does."""

    def __init__(self, *, codec: str | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = self.pc.addTransceiver("video", direction="recvonly")
        if codec is not None:
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == codec])
        self.track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self.pc.on("track", self.track.set_result)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}

    async def accept(self, answer: dict[str, str]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))

    async def frames(self, count: int) -> list[av.VideoFrame]:
        track = await asyncio.wait_for(self.track, WATCH_S)
        frames = []
        for _ in range(count):
            frame = await asyncio.wait_for(track.recv(), WATCH_S)
            assert isinstance(frame, av.VideoFrame)
            frames.append(frame)
        return frames


async def _watch(
    client: TestClient, codec: str | None, count: int = 10
) -> tuple[Viewer, str, list[av.VideoFrame], float]:
    """Offer, answer, receive ``count`` frames; the answer's SDP and the time from the offer to the first frame."""
    viewer = Viewer(codec=codec)
    offer = await viewer.offer()
    started = time.monotonic()
    response = await asyncio.to_thread(client.post, "/api/cameras/sudirman/webrtc", json=offer)
    assert response.status_code == 200, response.text
    answer = response.json()
    await viewer.accept(answer)
    first = await viewer.frames(1)
    first_frame_s = time.monotonic() - started
    return viewer, answer["sdp"], first + await viewer.frames(count - 1), first_frame_s


def _wait_until(condition: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    ("codec", "sent"),
    [(None, "H264"), ("video/VP8", "VP8")],
    ids=["h264-passthrough-when-offered", "vp8-when-h264-is-not-offered"],
)
def test_viewer_receives_live_frames_over_webrtc(
    client: TestClient, views: LiveViews, codec: str | None, sent: str
) -> None:
    async def scenario() -> None:
        viewer, sdp, frames, first_frame_s = await _watch(client, codec)
        try:
            assert f"{sent}/90000" in sdp and ("VP8/90000" in sdp) == (sent == "VP8")
            assert all(frame.width > 0 and frame.height > 0 for frame in frames)
            assert len({frame.pts for frame in frames}) == len(frames)  # frames advance
            assert views.viewers("sudirman") == 1
            print(f"{sent}: first frame {first_frame_s:.2f} s after the offer, {frames[0].width}x{frames[0].height}")
        finally:
            await viewer.pc.close()

    asyncio.run(asyncio.wait_for(scenario(), WATCH_S * 2))
    # The server sees the peer go away (ICE consent) or drops it; either way its stream closes.
    assert _wait_until(lambda: views.open_streams("sudirman") == 0, WATCH_S + 5)
    assert views.viewers("sudirman") == 0


def test_viewers_share_one_stream_and_a_third_is_refused(client: TestClient, views: LiveViews) -> None:
    async def scenario() -> None:
        first, _, _, _ = await _watch(client, None, count=2)
        second, _, _, _ = await _watch(client, None, count=2)
        try:
            assert views.viewers("sudirman") == 2 and views.open_streams("sudirman") == 1
            third = Viewer()
            refused = await asyncio.to_thread(client.post, "/api/cameras/sudirman/webrtc", json=await third.offer())
            await third.pc.close()
            assert refused.status_code == 503
            assert "2 live viewer(s)" in refused.json()["detail"]
        finally:
            await first.pc.close()
            await second.pc.close()

    asyncio.run(asyncio.wait_for(scenario(), WATCH_S * 2))


def test_mjpeg_sends_jpeg_parts_and_frees_its_slot(client: TestClient, views: LiveViews) -> None:
    with client.stream("GET", "/api/cameras/sudirman/mjpeg?fps=5") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        received = b""
        for chunk in response.iter_bytes():
            received += chunk
            if received.count(b"\xff\xd9") >= 2:  # two whole JPEGs
                break
        assert received.startswith(b"--mkframe\r\nContent-Type: image/jpeg")
        assert views.viewers("sudirman") == 1
    assert _wait_until(lambda: views.viewers("sudirman") == 0 and views.open_streams("sudirman") == 0)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/cameras/nowhere/webrtc", 404), ("/api/cameras/replay/webrtc", 409)],
    ids=["unknown-camera", "camera-without-rtsp-stream"],
)
def test_webrtc_refuses_what_cannot_be_watched(client: TestClient, path: str, status: int) -> None:
    response = client.post(path, json={"sdp": "v=0\r\n", "type": "offer"})
    assert response.status_code == status, response.text


def test_live_view_needs_credentials(anon_client: TestClient) -> None:
    assert anon_client.post("/api/cameras/sudirman/webrtc", json={"sdp": "v=0", "type": "offer"}).status_code == 401
    assert anon_client.get("/api/cameras/sudirman/mjpeg").status_code == 401


def test_overlay_gives_the_zones_and_lines_of_the_configuration(client: TestClient) -> None:
    body = client.get("/api/cameras/sudirman/overlay").json()
    assert body["zones"] == [{"name": "road", "kind": "road", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]
    assert body["lines"] == [{"name": "stop_line", "points": [[0.1, 0.8], [0.9, 0.8]]}]
    assert client.get("/api/cameras/nowhere/overlay").status_code == 404


def test_detections_are_the_ones_the_analytics_last_published(client: TestClient, api_settings: Settings) -> None:
    assert client.get("/api/cameras/nowhere/detections").status_code == 404
    missing = client.get("/api/cameras/sudirman/detections")
    assert missing.status_code == 404 and "no detections published" in missing.json()["detail"]

    found = Detections(
        np.array([[64, 240, 320, 480]], np.float32), np.array([0.8], np.float32), np.array([2], np.int32),
        {2: "car"}, (640, 480), track_id=np.array([7], np.int64),
    )  # fmt: skip
    assert LiveDetections(api_settings.live_dir).publish("sudirman", found)
    body = client.get("/api/cameras/sudirman/detections").json()
    assert body["camera_id"] == "sudirman" and (body["width"], body["height"]) == (640, 480)
    assert body["boxes"] == [{"box": [0.1, 0.5, 0.5, 1.0], "class": "car", "confidence": 0.8, "track_id": 7}]
    assert 0 <= body["age_s"] < 3 and body["stale"] is False

    old = {**json.loads(detections_file(api_settings.live_dir, "sudirman").read_text()), "at": time.time() - 10}
    detections_file(api_settings.live_dir, "sudirman").write_text(json.dumps(old))
    body = client.get("/api/cameras/sudirman/detections").json()
    assert body["stale"] is True and body["age_s"] >= 10


def test_detections_need_credentials(anon_client: TestClient) -> None:
    assert anon_client.get("/api/cameras/sudirman/detections").status_code == 401


def test_app_shutdown_closes_the_live_streams(app: FastAPI, views: LiveViews, auth_headers: AuthHeaders) -> None:
    client = TestClient(app, headers=auth_headers(UserRole.OPERATOR))
    client.__enter__()

    async def scenario() -> None:
        viewer, _, _, _ = await _watch(client, None, count=2)
        assert views.open_streams("sudirman") == 1
        await asyncio.to_thread(client.__exit__, None, None, None)  # the app's lifespan ends
        assert views.open_streams("sudirman") == 0 and views.viewers("sudirman") == 0
        await viewer.pc.close()

    asyncio.run(asyncio.wait_for(scenario(), WATCH_S * 2))


def test_a_camera_that_stops_streaming_frees_its_viewers(
    client: TestClient, views: LiveViews, simulator: Simulator
) -> None:
    async def scenario() -> None:
        viewer, _, _, _ = await _watch(client, None, count=2)
        try:
            await asyncio.to_thread(simulator.close)  # the camera goes away
            deadline = time.monotonic() + WATCH_S
            while views.viewers("sudirman") and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert views.viewers("sudirman") == 0 and views.open_streams("sudirman") == 0
        finally:
            await viewer.pc.close()

    asyncio.run(asyncio.wait_for(scenario(), WATCH_S * 2))


def test_an_offer_that_is_not_usable_sdp_is_refused_and_frees_its_slot(client: TestClient, views: LiveViews) -> None:
    response = client.post("/api/cameras/sudirman/webrtc", json={"sdp": "v=0\r\n", "type": "offer"})
    assert response.status_code == 400, response.text
    assert views.viewers("sudirman") == 0 and views.open_streams("sudirman") == 0
