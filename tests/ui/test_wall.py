"""The camera wall: live video of a real RTSP camera reaches the browser over WebRTC, its frames advance, and
the analytics' current detections are drawn over it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.ui.helpers import CAMERA, CAMERA_NAME, OTHER_CAMERA

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

# Counts the frames the <video> presents for `ms` milliseconds (requestVideoFrameCallback), and how
# long each waited between arriving over the network and being shown (the frame's receiveTime and
# expectedDisplayTime, both on the page's clock).
FRAMES = """([camera, ms]) => new Promise((resolve) => {
  const video = document.querySelector(`figure[data-camera="${camera}"] video`);
  const start = video.currentTime;
  const shown = [];
  const onFrame = (now, meta) => {
    if (meta.receiveTime !== undefined) shown.push(meta.expectedDisplayTime - meta.receiveTime);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  setTimeout(() => resolve({
    frames: shown.length,
    advancedS: video.currentTime - start,
    width: video.videoWidth,
    receiveToDisplayMs: shown.length ? shown.reduce((a, b) => a + b, 0) / shown.length : null,
  }), ms);
})"""


def _connected(page: Page, camera: str) -> None:
    """Wait until the camera's tile shows WebRTC video (not the MJPEG fallback)."""
    page.wait_for_function(
        "(camera) => window.__mkWall && ['webrtc', 'fallback', 'busy', 'error'].includes(window.__mkWall.connected[camera])",
        arg=camera,
        timeout=30_000,
    )
    state = page.evaluate("(camera) => window.__mkWall.connected[camera]", camera)
    assert state == "webrtc", f"{camera}: the wall shows {state!r}, not WebRTC video"


def _measure(page: Page, camera: str) -> dict[str, Any]:
    frames: dict[str, Any] = page.evaluate(FRAMES, [camera, 2000])
    stats: dict[str, Any] = page.evaluate("(camera) => window.__mkWallStats(camera)", camera)
    return {**frames, **stats}


def test_the_camera_wall_shows_live_webrtc_video_of_every_camera(
    logged_in_page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page = logged_in_page
    page.goto("/ui/#/wall")
    page.wait_for_function("window.__mkWall && window.__mkWall.cameras === 2")
    for camera in (CAMERA, OTHER_CAMERA):
        _connected(page, camera)
    figures = {camera: _measure(page, camera) for camera in (CAMERA, OTHER_CAMERA)}
    for camera, seen in figures.items():
        print(
            f"wall {camera}: {seen['codec']} {seen['videoWidth']}x{seen['videoHeight']}, "
            f"time to first frame {seen['timeToFirstFrameMs']} ms (offer sent to first frame shown), "
            f"{seen['frames']} frames shown in 2 s, jitter buffer {seen['jitterBufferMs']:.0f} ms a frame, "
            f"received to shown {seen['receiveToDisplayMs']:.0f} ms, {seen['packetsLost']} packets lost"
        )
        assert seen["width"] > 0 and seen["videoWidth"] > 0, seen
        assert seen["frames"] >= 10 and seen["advancedS"] > 1, seen  # the footage is 25 frames a second
        assert seen["framesDecoded"] > 0 and seen["timeToFirstFrameMs"] is not None, seen
    # The analytics' current detections are drawn over the live video: the junction's traffic has vehicles.
    page.wait_for_function("(camera) => (window.__mkWall.detections[camera] || 0) > 0", arg=CAMERA, timeout=10_000)
    print(f"wall {CAMERA}: {page.evaluate('(camera) => window.__mkWall.detections[camera]', CAMERA)} boxes drawn")
    expect(page.get_by_role("link", name=CAMERA_NAME)).to_be_visible()
    screenshot(page, "wall")

    # One camera full size: its tile's heading is the camera's name.
    page.get_by_role("link", name=CAMERA_NAME).click()
    page.wait_for_url(f"**/ui/#/wall/{CAMERA}")
    page.wait_for_function("window.__mkWall && window.__mkWall.cameras === 1")
    _connected(page, CAMERA)
    seen = _measure(page, CAMERA)
    assert seen["frames"] >= 10 and seen["videoWidth"] > 0, seen
    expect(page.get_by_role("heading", name=CAMERA_NAME)).to_be_visible()
    screenshot(page, "wall-camera")


# Reads the simulator's clock strip (rtsp_server.py --clock) from `count` frames the <video> presents:
# each frame is drawn at its intrinsic size, the centre of every block of the strip's two rows (the
# stamp and its inverse) is thresholded, and the 40-bit stamp, the milliseconds at which the camera
# handed the frame to its encoder, is subtracted from the page's clock when the frame is presented.
# A frame whose two rows disagree somewhere (smeared by compression) is counted, not decoded.
GLASS_TO_GLASS = """([camera, count, ms]) => new Promise((resolve) => {
  const video = document.querySelector(`figure[data-camera="${camera}"] video`);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const samples = [];
  let smeared = 0;
  const done = () => resolve({ samples, smeared, width: video.videoWidth });
  const onFrame = () => {
    const now = Date.now() % 2 ** 40;
    const width = video.videoWidth;
    const block = Math.floor(width / 40);
    if (canvas.width !== width || canvas.height !== 2 * block) [canvas.width, canvas.height] = [width, 2 * block];
    context.drawImage(video, 0, 0, width, 2 * block, 0, 0, width, 2 * block);
    const red = context.getImageData(0, 0, width, 2 * block).data;
    const one = (x, y) => red[(y * width + x) * 4] >= 128;
    let stamp = 0;
    let clean = block > 0;
    for (let i = 0; i < 40 && clean; i++) {
      const x = i * block + (block >> 1);
      const bit = one(x, block >> 1);
      clean = bit !== one(x, block + (block >> 1));
      stamp = stamp * 2 + (bit ? 1 : 0);
    }
    if (clean) samples.push({ stamp, delayMs: now - stamp });
    else smeared += 1;
    if (samples.length + smeared < count) video.requestVideoFrameCallback(onFrame);
    else done();
  };
  video.requestVideoFrameCallback(onFrame);
  setTimeout(done, ms);
})"""


def test_the_live_view_shows_a_frame_within_seconds_of_the_camera_taking_it(logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto(f"/ui/#/wall/{CAMERA}")
    page.wait_for_function("window.__mkWall && window.__mkWall.cameras === 1")
    _connected(page, CAMERA)
    frames = 30
    seen: dict[str, Any] = page.evaluate(GLASS_TO_GLASS, [CAMERA, frames, 10_000])
    samples = seen["samples"]
    delays = sorted(sample["delayMs"] for sample in samples)
    assert len(samples) >= frames * 2 // 3, f"the clock strip was readable in {len(samples)} of {frames} frames: {seen}"
    print(
        f"wall {CAMERA}: glass to glass (camera encoder input to the browser's frame callback) over "
        f"{len(delays)} frames ({seen['smeared']} unreadable): p50 {delays[len(delays) // 2]:.0f} ms, "
        f"p95 {delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]:.0f} ms, max {delays[-1]:.0f} ms"
    )
    stamps = [sample["stamp"] for sample in samples]
    assert all(earlier < later for earlier, later in itertools.pairwise(stamps)), stamps
    assert delays[0] > 0 and delays[-1] < 5000, delays
