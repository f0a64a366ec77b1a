"""Live view: each camera's live stream to operators' browsers over WebRTC, or as MJPEG when WebRTC cannot connect.

The API process opens a camera's stream once, however many operators watch it (aiortc's
``MediaPlayer`` shared through a ``MediaRelay``), and closes it when the last one leaves. A
browser that can decode H.264 receives the camera's own H.264 packets, unchanged (no decoding, no
encoding: a few percent of a core per camera); any other gets VP8, which costs a decode and an
encode per viewer. The number of viewers per camera is bounded (``stream.live_viewers``), so live
viewing never takes the CPU the analytics need.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import av
import cv2
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from core.config import CameraConfig
from core.errors import CameraNotFound, LiveViewUnavailable, OfferInvalid, StreamUnavailable, ViewerLimitReached

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0  # a peer that has not connected by then is dropped, freeing its viewer slot
MJPEG_BOUNDARY = "mkframe"
MJPEG_QUALITY = 70


@dataclass
class _Source:
    """One opened stream of a camera: packets (H.264 passthrough) or decoded frames."""

    player: MediaPlayer
    relay: MediaRelay
    track: MediaStreamTrack
    subscribers: set[MediaStreamTrack] = field(default_factory=set)
    peers: set[RTCPeerConnection] = field(default_factory=set)


class LiveViews:
    """The cameras' live streams and who watches them, in the API process's event loop."""

    def __init__(self, cameras: Iterable[CameraConfig]) -> None:
        self._cameras = {camera.id: camera for camera in cameras}
        self._sources: dict[tuple[str, bool], _Source] = {}
        self._viewers: dict[str, set[object]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Future[None]] = set()  # referenced until done, so none is collected early

    def viewers(self, camera_id: str) -> int:
        """How many viewers (peer connections and MJPEG streams) the camera has now."""
        return len(self._viewers.get(camera_id, ()))

    def open_streams(self, camera_id: str) -> int:
        """How many streams of the camera are open now (0, 1, or 2 when H.264 and VP8 viewers mix)."""
        return sum(1 for key in self._sources if key[0] == camera_id)

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera's configuration.

        Raises:
            CameraNotFound: no such (enabled) camera in the configuration.
        """
        camera = self._cameras.get(camera_id)
        if camera is None:
            raise CameraNotFound(f"no camera {camera_id!r}")
        return camera

    async def answer(self, camera_id: str, sdp: str, kind: str) -> RTCSessionDescription:
        """Answer a browser's offer with the camera's live video; ICE candidates are gathered first.

        Raises:
            CameraNotFound: no such camera in the configuration.
            LiveViewUnavailable: the camera has no RTSP stream.
            ViewerLimitReached: the camera has as many viewers as it allows.
            StreamUnavailable: the stream could not be opened.
            OfferInvalid: the offer is not SDP that asks for video.
        """
        camera = self._camera(camera_id)
        if "m=video" not in sdp:
            raise OfferInvalid("the offer asks for no video: add a receive-only video transceiver")
        offer = RTCSessionDescription(sdp=sdp, type=kind)
        passthrough = "h264/90000" in sdp.lower()  # the browser decodes H.264: send the camera's own packets
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates only: no STUN server asked
        self._admit(camera, pc)
        source: _Source | None = None
        track: MediaStreamTrack | None = None
        try:
            source = await self._source(camera, passthrough=passthrough)
            track = self._subscribe(source, buffered=passthrough)  # dropping packets would break H.264
            sender = pc.addTrack(track)  # before the offer is read, so the offer's video goes to this sender
            transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
            mime = "video/H264" if passthrough else "video/VP8"
            codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == mime]
            transceiver.setCodecPreferences(codecs)
            try:
                await pc.setRemoteDescription(offer)
                self._watch(camera.id, pc, source, track)
                await pc.setLocalDescription(await pc.createAnswer())  # aiortc gathers every candidate here
            except ValueError as err:  # aiortc's word for an SDP it cannot read or use
                raise OfferInvalid(f"the offer cannot be used: {err}") from err
        except BaseException:
            await pc.close()
            if source is not None and track is not None:
                self._unsubscribe(source, track)
            await self._leave(camera.id, pc)
            raise
        logger.info("%s: live viewer joined (%s), %d now", camera.id, mime, self.viewers(camera.id))
        return pc.localDescription

    async def mjpeg(self, camera_id: str, fps: float) -> AsyncIterator[bytes]:
        """The camera's live video as ``multipart/x-mixed-replace`` JPEG parts, ``fps`` a second.

        Raises as :meth:`answer` does, before the first part.
        """
        camera = self._camera(camera_id)
        viewer = object()
        self._admit(camera, viewer)
        try:
            source = await self._source(camera, passthrough=False)
            track = self._subscribe(source, buffered=False)  # only the newest frame: the rest are skipped
        except BaseException:
            await self._leave(camera.id, viewer)
            raise
        return self._mjpeg_parts(camera.id, viewer, source, track, 1.0 / fps)

    async def close(self) -> None:
        """Close every stream and drop every viewer (the app is shutting down)."""
        for task in list(self._tasks):
            task.cancel()
        for camera_id, holders in list(self._viewers.items()):
            for viewer in list(holders):
                if isinstance(viewer, RTCPeerConnection):
                    await viewer.close()
                await self._leave(camera_id, viewer)
        for key in list(self._sources):
            self._close_source(key)

    def _camera(self, camera_id: str) -> CameraConfig:
        camera = self.camera(camera_id)
        url = camera.input_for("live").url
        if not url.lower().startswith(("rtsp://", "rtsps://")):
            raise LiveViewUnavailable(f"camera {camera_id!r} has no RTSP stream to watch live")
        return camera

    def _admit(self, camera: CameraConfig, viewer: object) -> None:
        holders = self._viewers.setdefault(camera.id, set())
        limit = camera.stream.live_viewers
        if len(holders) >= limit:
            raise ViewerLimitReached(
                f"camera {camera.id!r} already has {len(holders)} live viewer(s), the most it allows ({limit})"
            )
        holders.add(viewer)

    async def _source(self, camera: CameraConfig, *, passthrough: bool) -> _Source:
        key = (camera.id, passthrough)
        async with self._locks.setdefault(camera.id, asyncio.Lock()):
            if key not in self._sources:
                source = await asyncio.to_thread(_open, camera, passthrough)
                source.track.on("ended", lambda: self._source_ended(key, source))
                self._sources[key] = source
                logger.info("%s: live stream opened (%s)", camera.id, "H.264 passthrough" if passthrough else "decoded")
            return self._sources[key]

    def _source_ended(self, key: tuple[str, bool], source: _Source) -> None:
        """The camera's stream stopped (or was closed): forget it, and hang up on its viewers so they retry."""
        if self._sources.get(key) is source:
            del self._sources[key]
            logger.warning("%s: live stream ended", key[0])
        for pc in list(source.peers):
            self._spawn(pc.close())  # its connectionstatechange handler frees the viewer

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _subscribe(source: _Source, *, buffered: bool) -> MediaStreamTrack:
        track = source.relay.subscribe(source.track, buffered=buffered)
        source.subscribers.add(track)
        return track

    def _watch(self, camera_id: str, pc: RTCPeerConnection, source: _Source, track: MediaStreamTrack) -> None:
        source.peers.add(pc)

        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                source.peers.discard(pc)
                await pc.close()
                self._unsubscribe(source, track)
                await self._leave(camera_id, pc)

        async def expire() -> None:
            await asyncio.sleep(CONNECT_TIMEOUT_S)
            if pc.connectionState not in ("connected", "closed"):
                logger.info("%s: live viewer never connected: dropped", camera_id)
                await pc.close()
                await on_state()

        pc.on("connectionstatechange", on_state)
        self._spawn(expire())

    async def _mjpeg_parts(
        self, camera_id: str, viewer: object, source: _Source, track: MediaStreamTrack, period_s: float
    ) -> AsyncIterator[bytes]:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)  # a decoding player's track gives frames
                image = frame.to_ndarray(format="bgr24")
                ok, jpeg = await asyncio.to_thread(
                    cv2.imencode, ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, MJPEG_QUALITY]
                )
                if ok:
                    head = f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    yield head.encode() + jpeg.tobytes() + b"\r\n"
                await asyncio.sleep(period_s)
        except MediaStreamError:
            logger.warning("%s: live stream ended", camera_id)
        finally:
            self._unsubscribe(source, track)
            await self._leave(camera_id, viewer)

    def _unsubscribe(self, source: _Source, track: MediaStreamTrack) -> None:
        if track in source.subscribers:
            source.subscribers.discard(track)
            track.stop()

    async def _leave(self, camera_id: str, viewer: object) -> None:
        holders = self._viewers.get(camera_id, set())
        if viewer not in holders:
            return
        holders.discard(viewer)
        logger.info("%s: live viewer left, %d now", camera_id, len(holders))
        for key in [k for k, s in self._sources.items() if k[0] == camera_id and not s.subscribers]:
            self._close_source(key)

    def _close_source(self, key: tuple[str, bool]) -> None:
        source = self._sources.pop(key)
        source.peers.clear()  # closing, not ended: the viewers are gone already
        for track in list(source.subscribers):
            track.stop()
        source.track.stop()  # the player's last track: its reading thread ends and the stream closes
        logger.info("%s: live stream closed", key[0])


def _open(camera: CameraConfig, passthrough: bool) -> _Source:
    """Open the camera's live input (blocking: run in a thread)."""
    item = camera.input_for("live")
    options: dict[str, Any] = {"rtsp_transport": camera.stream.transport}
    try:
        player = MediaPlayer(
            item.url,
            format="rtsp",
            options=options,
            timeout=max(1, round(camera.stream.open_timeout_s)),
            decode=not passthrough,
        )
    except Exception as err:  # PyAV raises one class per FFmpeg error; all mean the same here
        logger.warning("%s: live stream %s could not be opened: %s", camera.id, item.safe_url, err)
        raise StreamUnavailable(f"camera {camera.id!r}: live stream could not be opened") from err
    if player.video is None:
        raise StreamUnavailable(f"camera {camera.id!r}: live stream has no video it can send (H.264 or VP8)")
    return _Source(player=player, relay=MediaRelay(), track=player.video)
