"""One camera's ingest: read the stream(s), buffer packets, sample frames, cut clips, judge and report health.

A camera has one input for detection and, optionally, a separate full-resolution input for
clips and recording (Frigate's roles). The detect input is read and decoded on the worker's
main thread; a separate record input is only demuxed, on a thread of its own, into the packet
ring that clips and continuous recording come from.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, cast

import av
import av.bitstream
import cv2

from core.backoff import Backoff
from core.config import CameraConfig, InputConfig
from core.messages import CameraState, CameraStatus, ClipRequest, ClipResult, Image, Inbox, Outbox
from core.redact import redact_url
from ingest.clips import write_clip
from ingest.health import TamperWatch
from ingest.ringbuffer import BufferedPacket, PacketRing, StreamParams

logger = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "srt://", "udp://")
REPORT_INTERVAL_S = 2.0
CLIP_GRACE_S = 5.0  # once the stream is down, cut what the buffer has this long after the clip's end
RATE_WINDOW_S = 5.0
FPS_SETTLE_S = 10.0  # a fresh connection gets this long before a low frame rate counts as degraded
HOUR_S = 3600.0
EVALUATE_INTERVAL_S = 0.25  # health is judged this often while frames flow (not on every packet)


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


class SegmentSink(Protocol):
    """Continuous recording (:class:`ingest.segments.SegmentWriter`): gets every packet of the record input."""

    def add(self, packet: BufferedPacket, params: StreamParams, /) -> None: ...
    def close(self) -> None: ...


class _RateMeter:
    """Events (or bytes) per second over a sliding window; thread-safe enough for one writer."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._events: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def tick(self, now: float, amount: float = 1.0) -> None:
        self._events.append((now, amount))
        self.total += amount
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        return sum(amount for _, amount in list(self._events)) / self.window_s

    def mean(self, now: float) -> float:
        """Mean amount per event over the window (0 without events)."""
        self._trim(now)
        events = list(self._events)
        return sum(amount for _, amount in events) / len(events) if events else 0.0

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window_s:
            self._events.popleft()


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why a connection attempt or a stream failed, and the state that failure means."""

    reason: str
    state: CameraState | None = None  # set for failures that need no waiting to be sure of


def classify_error(err: BaseException, read_timeout_s: float) -> _Failure:
    """A short, credential-free reason for a stream failure, and its state when it is definitive."""
    if isinstance(err, av.HTTPUnauthorizedError):
        return _Failure("authentication refused (RTSP 401): check the user and password", CameraState.AUTH_FAILED)
    if isinstance(err, av.HTTPForbiddenError):
        return _Failure("access forbidden (RTSP 403): the camera refuses this user", CameraState.AUTH_FAILED)
    if isinstance(err, av.HTTPNotFoundError):
        return _Failure("stream not found (RTSP 404): check the path in the url", CameraState.OFFLINE)
    if isinstance(err, av.ExitError):
        return _Failure(f"no data for {read_timeout_s:g} s (read timed out)")
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return _Failure(redact_url(str(text)).lower() if isinstance(err, OSError) else redact_url(str(text)))


def to_bgr(frame: av.VideoFrame, max_width: int) -> Image:
    """The frame as a BGR image no wider than ``max_width`` (even height when scaled).

    Planar 4:2:0 (what H.264 cameras send) is converted by OpenCV, about ten times faster than
    FFmpeg's swscale here (0.3 ms against 3.3 ms for a 720p frame); other formats go through swscale.
    """
    width, height = frame.width, frame.height
    scaled = width > max_width
    if scaled:
        height = round(height * max_width / width / 2) * 2
        width = max_width
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        image = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
        if scaled:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return cast(Image, image)
    return cast(Image, frame.to_ndarray(format="bgr24", width=width, height=height))


def _open(url: str, camera: CameraConfig) -> av.container.InputContainer:
    options: dict[str, str] = {}
    if url.startswith("rtsp"):
        options["rtsp_transport"] = camera.stream.transport
        # socket I/O timeout in microseconds, so a silent server cannot block a read forever
        options["timeout"] = str(int(camera.stream.read_timeout_s * 1e6))
    timeouts = (camera.stream.open_timeout_s, camera.stream.read_timeout_s)
    return av.open(url, options=options, timeout=timeouts)


def _buffered(packet: av.Packet[Any], now: float, epoch: int) -> BufferedPacket | None:
    dts = packet.dts if packet.dts is not None else packet.pts
    if dts is None:
        return None
    pts = packet.pts if packet.pts is not None else dts
    return BufferedPacket(bytes(packet), pts, dts, packet.is_keyframe, now, epoch)


class _Recording:
    """Where record-input packets go: the clip ring and, when on, continuous recording.

    Packets are kept in Annex B form, with the parameter sets in-band, as RTSP delivers them. A
    file or HTTP source in MP4 form (length-prefixed NAL units, parameter sets only in the
    container's ``avcC``) is converted on the way in, so a clip cut from it plays on its own.
    """

    def __init__(self, ring: PacketRing, segments: SegmentSink | None) -> None:
        self.ring = ring
        self.segments = segments
        self.epoch = 0
        self.params: StreamParams | None = None
        self._to_annexb: av.bitstream.BitStreamFilterContext | None = None

    def new_connection(self, stream: av.video.stream.VideoStream) -> int:
        params = StreamParams.of(stream)
        self._to_annexb = None
        if params.codec in ("h264", "hevc") and params.extradata and params.extradata[0] == 1:
            self._to_annexb = av.bitstream.BitStreamFilterContext(f"{params.codec}_mp4toannexb", stream)
            params = replace(params, extradata=None)  # the filter puts the parameter sets in-band
        self.epoch += 1
        self.params = params
        self.ring.set_params(self.epoch, params)
        return self.epoch

    def add(self, packet: av.Packet[Any], now: float) -> None:
        if self.params is None:
            return
        if self._to_annexb is None:
            self._keep(packet, now)
            return
        copy = av.Packet(bytes(packet))  # the filter takes over what it is given; decoding still needs the original
        copy.pts, copy.dts, copy.time_base, copy.is_keyframe = (
            packet.pts,
            packet.dts,
            packet.time_base,
            packet.is_keyframe,
        )
        for converted in self._to_annexb.filter(copy):
            self._keep(converted, now)

    def _keep(self, packet: av.Packet[Any], now: float) -> None:
        buffered = _buffered(packet, now, self.epoch)
        if buffered is None:
            return
        assert self.params is not None  # add() checked
        self.ring.append(buffered)
        if self.segments is not None:
            self.segments.add(buffered, self.params)


class _RecordReader:
    """Reads a separate record input on its own thread: packets into the ring, never decoded."""

    def __init__(self, worker: CameraWorker, source: InputConfig) -> None:
        self.worker = worker
        self.camera = worker.camera
        self.url = source.url
        self.live = self.url.startswith(LIVE_SCHEMES)
        self.backoff = Backoff(self.camera.stream.reconnect_initial_s, self.camera.stream.reconnect_max_s)
        self.bytes = _RateMeter()
        self.failure: _Failure | None = _Failure("connecting")
        self.last_packet_ts: float | None = None
        self.thread = threading.Thread(target=self.run, name=f"record-{self.camera.id}", daemon=True)

    def run(self) -> None:
        worker = self.worker
        logger.info("%s: record input on %s", self.camera.id, redact_url(self.url))
        while not worker.stop.is_set():
            try:
                self._read()
                if not self.live:
                    continue
                self.failure = _Failure("stream ended")
            except (av.FFmpegError, OSError) as err:
                if worker.stop.is_set():
                    break
                self.failure = classify_error(err, self.camera.stream.read_timeout_s)
                logger.warning("%s: record input failed: %s", self.camera.id, self.failure.reason)
            except Exception:  # thread boundary: keep recording alive, make the failure visible
                logger.exception("%s: record input step failed", self.camera.id)
                self.failure = _Failure("internal error (see log)")
            if worker.stop.is_set():
                break
            worker.reconnects += 1
            worker.stop.wait(self.backoff.next_delay_s())

    def _read(self) -> None:
        worker = self.worker
        with _open(self.url, self.camera) as container:
            stream = container.streams.video[0]
            worker.recording.new_connection(stream)
            pace = None if self.live else _Pacer(worker.clock)
            for packet in container.demux(stream):
                if worker.stop.is_set():
                    return
                if packet.size == 0:
                    continue
                if pace is not None and packet.pts is not None and packet.time_base is not None:
                    pace.wait_for(float(packet.pts * packet.time_base), worker.stop)
                now = worker.clock()
                self.bytes.tick(now, packet.size)
                worker.recording.add(packet, now)
                if self.failure is not None:
                    if self.failure.reason != "connecting":
                        worker.note_recovery(now)
                    self.failure = None
                    self.backoff.reset()
                self.last_packet_ts = now

    def state(self, now: float) -> tuple[CameraState, str | None]:
        """The record input's own state."""
        silent_since = self.last_packet_ts or self.worker.started_ts
        if self.failure is None and now - silent_since <= self.camera.stream.offline_after_s:
            return CameraState.ONLINE, None
        failure = self.failure or _Failure("no packets")
        if failure.state is not None:
            return failure.state, failure.reason
        if now - silent_since > self.camera.stream.offline_after_s:
            return CameraState.OFFLINE, failure.reason
        return CameraState.STARTING, failure.reason


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
        segments: SegmentSink | None = None,
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
        self.recording = _Recording(self.ring, segments)
        self.record_reader = _RecordReader(self, camera.input_for("record")) if camera.separate_record_input else None
        self.backoff = Backoff(camera.stream.reconnect_initial_s, camera.stream.reconnect_max_s)
        self.tamper = TamperWatch(camera.health)
        self.started_ts = clock()
        self.state = CameraState.STARTING
        self.state_since = self.started_ts
        self.reason: str | None = "connecting"
        self.failure: _Failure | None = _Failure("connecting")
        self.connected_ts: float | None = None
        self.reconnects = 0
        self._reconnect_times: deque[float] = deque()
        self.last_frame_ts: float | None = None
        self.size: tuple[int, int] | None = None
        self.codec: str | None = None
        self.nominal_fps: float | None = None
        self._fps_in = _RateMeter()
        self._fps_out = _RateMeter()
        self._bytes = _RateMeter()
        self._decode_ms = _RateMeter()
        self._next_sample_ts = 0.0
        self._last_report_ts = 0.0
        self._evaluated_ts = 0.0
        self._pending: list[ClipRequest] = []

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Read the stream until told to stop, reconnecting with backoff after every failure."""
        logger.info("%s: ingest starting on %s", self.camera.id, redact_url(self.url))
        # One camera per process: OpenCV's thread pool would only spin on these small conversions.
        cv2.setNumThreads(1)
        if self.record_reader is not None:
            self.record_reader.thread.start()
        try:
            self._loop()
        finally:
            if self.record_reader is not None:
                self.record_reader.thread.join(timeout=self.camera.stream.read_timeout_s + 2)
            if self.recording.segments is not None:
                self.recording.segments.close()
        self._flush_clips(force=True)
        self._report(force=True)
        logger.info("%s: ingest stopped", self.camera.id)

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                self._stream_once()
                if not self.live:
                    continue  # a replayed file loops at once, like a camera that never stops
                self.failure = _Failure("stream ended")
            except (av.FFmpegError, OSError) as err:  # av.ExitError: our read timeout, or a stop signal
                if self.stop.is_set():
                    break
                self.failure = classify_error(err, self.camera.stream.read_timeout_s)
                logger.warning("%s: stream failed: %s", self.camera.id, self.failure.reason)
            except Exception:  # loop boundary: keep the camera alive, make the failure visible
                logger.exception("%s: ingest step failed", self.camera.id)
                self.failure = _Failure("internal error (see log)")
            if self.stop.is_set():
                break
            self.connected_ts = None
            self.tamper.reset()
            self._evaluate(self.clock())
            self._wait_before_reconnect(self.backoff.next_delay_s())
            self.reconnects += 1

    def note_recovery(self, now: float) -> None:
        """Count a link (of any input) that came back after it was lost, for the per-hour figure.

        Failed attempts during an outage do not count: a long outage is offline, not flapping.
        """
        self._reconnect_times.append(now)

    def _stream_once(self) -> None:
        with _open(self.url, self.camera) as container:
            stream = container.streams.video[0]
            params = StreamParams.of(stream)
            self.codec = params.codec
            rate = stream.average_rate or stream.guessed_rate
            self.nominal_fps = float(rate) if rate else None
            if self.record_reader is None:
                self.recording.new_connection(stream)
            self.connected_ts = self.clock()
            pace = None if self.live else _Pacer(self.clock)
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                self._on_packet(packet, pace)

    def _on_packet(self, packet: av.Packet[Any], pace: _Pacer | None) -> None:
        if packet.size == 0:
            return
        if pace is not None and packet.pts is not None and packet.time_base is not None:
            pace.wait_for(float(packet.pts * packet.time_base), self.stop)
        now = self.clock()
        self._bytes.tick(now, packet.size)
        if self.record_reader is None:
            self.recording.add(packet, now)
        started = time.perf_counter()
        try:
            decoded = packet.decode()
        except av.InvalidDataError:
            decoded = []  # a damaged packet costs a frame, not the connection
        if decoded:
            self._decode_ms.tick(now, (time.perf_counter() - started) * 1000 / len(decoded))
        for frame in decoded:
            self._on_frame(frame, now)
        self._service(now)

    def _on_frame(self, frame: av.VideoFrame, now: float) -> None:
        self._fps_in.tick(now)
        self.last_frame_ts = now
        self.size = (frame.width, frame.height)
        if self.failure is not None:
            if self.failure.reason != "connecting":
                self.note_recovery(now)
            self.failure = None
            self.backoff.reset()
        if now < self._next_sample_ts:
            return
        period = 1.0 / self.camera.detect.fps
        step = self._next_sample_ts + period
        self._next_sample_ts = step if step > now else now + period
        image = to_bgr(frame, self.camera.detect.max_width)
        if self.tamper.wants_sample(now):
            self.tamper.add(image, now)
        self.frames.put(image, now)
        self._fps_out.tick(now)

    # -- between packets and while disconnected ---------------------------------------------------

    def _service(self, now: float) -> None:
        """Take clip requests, deliver due clips, judge the camera's health, report."""
        while True:
            try:
                request = self.control.get_nowait()
            except queue.Empty:
                break
            if isinstance(request, ClipRequest):
                self._pending.append(request)
        self._flush_clips(force=False)
        if now - self._evaluated_ts >= EVALUATE_INTERVAL_S:
            self._evaluate(now)
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

    def judge(self, now: float) -> tuple[CameraState, str | None]:
        """The camera's state and reason as of ``now``, from the link, the images and the record input."""
        health = self.camera.health
        silent_since = self.last_frame_ts or self.started_ts
        flowing = self.failure is None and now - silent_since <= self.camera.stream.offline_after_s
        if not flowing:
            failure = self.failure or _Failure(f"no frames for {now - silent_since:.0f} s")
            if failure.state is not None:
                return failure.state, failure.reason
            if now - silent_since > self.camera.stream.offline_after_s:
                return CameraState.OFFLINE, failure.reason
            return self.state, failure.reason  # a short gap: keep the state until offline_after_s
        tampered = self.tamper.verdict(now)
        if tampered is not None:
            return CameraState.TAMPERED, tampered
        problems = []
        fps_in = self._fps_in.rate(now)
        settled = self.connected_ts is not None and now - self.connected_ts > FPS_SETTLE_S
        if settled and self.nominal_fps and fps_in < health.min_fps_ratio * self.nominal_fps:
            problems.append(f"low frame rate: {fps_in:.1f} of {self.nominal_fps:.1f} fps")
        reconnects = self._reconnects_last_hour(now)
        if reconnects > health.max_reconnects_per_hour:
            problems.append(f"unstable link: lost and regained {reconnects} times in the last hour")
        if self.record_reader is not None:
            record_state, record_reason = self.record_reader.state(now)
            if record_state != CameraState.ONLINE and record_state != CameraState.STARTING:
                problems.append(f"record input {record_state}: {record_reason}")
        if problems:
            return CameraState.DEGRADED, "; ".join(problems)
        return CameraState.ONLINE, None

    def _evaluate(self, now: float) -> None:
        self._evaluated_ts = now
        state, reason = self.judge(now)
        if state != self.state:
            logger.info("%s: %s -> %s (%s)", self.camera.id, self.state, state, reason or "ok")
            self.state, self.reason, self.state_since = state, reason, now
            self._report(force=True)
        else:
            self.reason = reason

    def _reconnects_last_hour(self, now: float) -> int:
        while self._reconnect_times and self._reconnect_times[0] < now - HOUR_S:
            self._reconnect_times.popleft()
        return len(self._reconnect_times)

    def _report(self, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_report_ts < REPORT_INTERVAL_S:
            return
        self._last_report_ts = now
        self.bus.put(self.status(now))

    def status(self, now: float) -> CameraStatus:
        """The camera's health as of ``now``."""
        record_bytes = self.record_reader.bytes if self.record_reader is not None else self._bytes
        record_state = record_reason = None
        if self.record_reader is not None:
            record_state, record_reason = self.record_reader.state(now)
        buffer_s = self.ring.duration_s
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
            buffer_s=round(buffer_s, 2),
            buffer_fill=round(min(1.0, buffer_s / self.camera.record.buffer_s), 3),
            nominal_fps=round(self.nominal_fps, 2) if self.nominal_fps else None,
            bitrate_kbps=round(record_bytes.rate(now) * 8 / 1000, 1),
            bytes_in=int(self._bytes.total + (record_bytes.total if self.record_reader is not None else 0)),
            decode_ms=round(self._decode_ms.mean(now), 2),
            reconnects_hour=self._reconnects_last_hour(now),
            record_state=record_state,
            record_reason=record_reason,
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
