"""One camera's ingest loop: read the stream, buffer packets, sample frames, cut clips, report health."""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, cast

import av

from core.backoff import Backoff
from core.config import CameraConfig
from core.messages import CameraState, CameraStatus, ClipRequest, ClipResult, Image, Inbox, Outbox
from core.redact import redact_url
from ingest.clips import write_clip
from ingest.ringbuffer import BufferedPacket, PacketRing, StreamParams

logger = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "srt://", "udp://")
REPORT_INTERVAL_S = 2.0
CLIP_GRACE_S = 5.0  # once the stream is down, cut what the buffer has this long after the clip's end


class FrameSink(Protocol):
    """Where sampled frames go (:class:`ingest.frameslots.FrameSlots` in production)."""

    def put(self, image: Image, captured_ts: float, /) -> None: ...

    @property
    def dropped(self) -> int:
        """Frames analytics never took."""
        ...


class StopFlag(Protocol):
    """The part of ``threading.Event`` the worker uses."""

    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class _RateMeter:
    """Events per second over a sliding window."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        return len(self._times) / self.window_s

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()


class CameraWorker:
    """Ingest for one camera; run it in its own process so a crashing decoder takes down only this camera."""

    def __init__(
        self,
        camera: CameraConfig,
        frames: FrameSink,
        control: Inbox,
        bus: Outbox,
        stop: StopFlag,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera = camera
        self.url = camera.input_for("detect").url
        self.live = self.url.startswith(LIVE_SCHEMES)
        self.frames = frames
        self.control = control  # receives ClipRequest
        self.bus = bus  # sends CameraStatus and ClipResult
        self.stop = stop
        self.clock = clock
        self.ring = PacketRing(camera.record.buffer_s)
        self.backoff = Backoff(camera.stream.reconnect_initial_s, camera.stream.reconnect_max_s)
        self.epoch = 0
        self.started_ts = clock()
        self.state = CameraState.STARTING
        self.state_since = self.started_ts
        self.reason: str | None = "connecting"
        self.reconnects = 0
        self.last_frame_ts: float | None = None
        self.size: tuple[int, int] | None = None
        self.codec: str | None = None
        self._fps_in = _RateMeter()
        self._fps_out = _RateMeter()
        self._next_sample_ts = 0.0
        self._last_report_ts = 0.0
        self._pending: list[ClipRequest] = []

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Read the stream until told to stop, reconnecting with backoff after every failure."""
        logger.info("%s: ingest starting on %s", self.camera.id, redact_url(self.url))
        while not self.stop.is_set():
            try:
                self._stream_once()
                if not self.live:
                    continue  # a replayed file loops at once, like a camera that never stops
            except av.ExitError:  # PyAV's interrupt: our read timeout, or a signal to stop
                if self.stop.is_set():
                    break
                self.reason = f"no data for {self.camera.stream.read_timeout_s:g} s (read timed out)"
                logger.warning("%s: stream failed: %s", self.camera.id, self.reason)
            except (av.FFmpegError, OSError) as err:
                self.reason = _describe_error(err)
                logger.warning("%s: stream failed: %s", self.camera.id, self.reason)
            except Exception:  # loop boundary: keep the camera alive, make the failure visible
                logger.exception("%s: ingest step failed", self.camera.id)
                self.reason = "internal error (see log)"
            if self.stop.is_set():
                break
            self._wait_before_reconnect(self.backoff.next_delay_s())
            self.reconnects += 1
        self._flush_clips(force=True)
        self._report(force=True)
        logger.info("%s: ingest stopped", self.camera.id)

    def _stream_once(self) -> None:
        options: dict[str, str] = {}
        if self.url.startswith("rtsp"):
            options["rtsp_transport"] = self.camera.stream.transport
            # socket I/O timeout in microseconds, so a silent server cannot block a read forever
            options["timeout"] = str(int(self.camera.stream.read_timeout_s * 1e6))
        timeouts = (self.camera.stream.open_timeout_s, self.camera.stream.read_timeout_s)
        with av.open(self.url, options=options, timeout=timeouts) as container:
            stream = container.streams.video[0]
            self.epoch += 1
            ctx = stream.codec_context
            time_base = stream.time_base or Fraction(1, 90000)
            self.codec = ctx.name
            self.ring.set_params(
                self.epoch,
                StreamParams(
                    ctx.name,
                    ctx.width,
                    ctx.height,
                    time_base.numerator,
                    time_base.denominator,
                    bytes(ctx.extradata) if ctx.extradata else None,
                ),
            )
            pace = None if self.live else _Pacer(self.clock)
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                self._on_packet(packet, pace)
        self.reason = "stream ended"

    def _on_packet(self, packet: av.Packet[Any], pace: _Pacer | None) -> None:
        if packet.size == 0:
            return
        if pace is not None and packet.pts is not None and packet.time_base is not None:
            pace.wait_for(float(packet.pts * packet.time_base), self.stop)
        now = self.clock()
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is not None:
            pts = packet.pts if packet.pts is not None else dts
            self.ring.append(BufferedPacket(bytes(packet), pts, dts, packet.is_keyframe, now, self.epoch))
        try:
            decoded = packet.decode()
        except av.InvalidDataError:
            decoded = []  # a damaged packet costs a frame, not the connection
        for frame in decoded:
            self._on_frame(frame, now)
        self._service(now)

    def _on_frame(self, frame: av.VideoFrame, now: float) -> None:
        self._fps_in.tick(now)
        self.last_frame_ts = now
        self.size = (frame.width, frame.height)
        if self.state != CameraState.ONLINE:
            self._set_state(CameraState.ONLINE, None, now)
            self.backoff.reset()
        if now < self._next_sample_ts:
            return
        period = 1.0 / self.camera.detect.fps
        step = self._next_sample_ts + period
        self._next_sample_ts = step if step > now else now + period
        width, height = frame.width, frame.height
        if width > self.camera.detect.max_width:
            height = round(height * self.camera.detect.max_width / width / 2) * 2
            width = self.camera.detect.max_width
        image = cast(Image, frame.to_ndarray(format="bgr24", width=width, height=height))
        self.frames.put(image, now)
        self._fps_out.tick(now)

    # -- between packets and while disconnected ---------------------------------------------------

    def _service(self, now: float) -> None:
        """Take clip requests, deliver due clips, mark the camera offline when frames stop, report."""
        while True:
            try:
                request = self.control.get_nowait()
            except queue.Empty:
                break
            if isinstance(request, ClipRequest):
                self._pending.append(request)
        self._flush_clips(force=False)
        silent_since = self.last_frame_ts or self.started_ts
        if self.state != CameraState.OFFLINE and now - silent_since > self.camera.stream.offline_after_s:
            self._set_state(CameraState.OFFLINE, self.reason or "no frames", now)
        self._report()

    def _wait_before_reconnect(self, delay_s: float) -> None:
        deadline = self.clock() + delay_s
        while not self.stop.is_set() and self.clock() < deadline:
            self._service(self.clock())
            self.stop.wait(min(0.25, max(0.0, deadline - self.clock())))

    def _flush_clips(self, *, force: bool) -> None:
        now = self.clock()
        newest = self.ring.newest_ts or 0.0
        keep = []
        for request in self._pending:
            if newest >= request.end_ts or now > request.end_ts + CLIP_GRACE_S or force:
                self.bus.put(self._cut(request))
            else:
                keep.append(request)
        self._pending = keep

    def _cut(self, request: ClipRequest) -> ClipResult:
        packets = self.ring.window(request.start_ts, request.end_ts)
        fail = ClipResult(request.request_id, request.camera_id, request.incident_id, request.path, ok=False)
        if not packets:
            return replace(fail, error="no video in the buffer for the clip's time range")
        try:
            info = write_clip(packets, self.ring.params(packets[0].epoch), Path(request.path))
        except (av.FFmpegError, OSError, ValueError) as err:
            logger.warning("%s: clip %s failed: %s", self.camera.id, request.request_id, err)
            return replace(fail, error=f"clip could not be written: {err}")
        logger.info("%s: clip for incident %d: %.1f s", self.camera.id, request.incident_id, info.duration_s)
        return ClipResult(
            request.request_id,
            request.camera_id,
            request.incident_id,
            request.path,
            ok=True,
            start_ts=info.start_ts,
            duration_s=info.duration_s,
            size_bytes=info.size_bytes,
            frames=info.frames,
        )

    # -- health -----------------------------------------------------------------------------------

    def _set_state(self, state: CameraState, reason: str | None, now: float) -> None:
        logger.info("%s: %s -> %s (%s)", self.camera.id, self.state, state, reason or "ok")
        self.state, self.reason, self.state_since = state, reason, now
        self._report(force=True)

    def _report(self, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_report_ts < REPORT_INTERVAL_S:
            return
        self._last_report_ts = now
        self.bus.put(self.status(now))

    def status(self, now: float) -> CameraStatus:
        """The camera's health as of ``now``."""
        return CameraStatus(
            camera_id=self.camera.id,
            state=self.state,
            reason=self.reason,
            since_ts=self.state_since,
            at_ts=now,
            fps_in=round(self._fps_in.rate(now), 2),
            fps_out=round(self._fps_out.rate(now), 2),
            frames_dropped=self.frames.dropped,
            reconnects=self.reconnects,
            last_frame_ts=self.last_frame_ts,
            width=self.size[0] if self.size else None,
            height=self.size[1] if self.size else None,
            codec=self.codec,
            buffer_s=round(self.ring.duration_s, 2),
        )


class _Pacer:
    """Replays a file at its own speed, as a camera would deliver it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.origin: tuple[float, float] | None = None

    def wait_for(self, media_s: float, stop: StopFlag) -> None:
        now = self.clock()
        if self.origin is None:
            self.origin = (now, media_s)
        delay = self.origin[0] + (media_s - self.origin[1]) - now
        if delay > 0:
            stop.wait(delay)


def _describe_error(err: BaseException) -> str:
    """A short, credential-free reason for a stream failure."""
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return redact_url(str(text))
