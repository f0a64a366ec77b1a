"""Camera simulator: serves footage files, looping forever, as live H.264 RTSP cameras.

Run it with Debian's Python, which has GStreamer's introspection bindings (``gi``); it imports
nothing from the project so that it runs outside the project's virtual environment::

    /usr/bin/python3 ingest/rtsp_server.py --port 8554 gate=/path/gate.avi lobby=/path/lobby.mp4

Each camera has an always-running *feeder* that decodes its file at real time (like a real
camera, it runs whether or not anyone watches) and restarts it at the end. The RTSP side is one
shared media per camera whose ``appsrc`` receives copies of the feeder's frames and encodes
them to constrained-baseline H.264. When every feeder has produced its first frame and the
server listens, exactly one line ``READY rtsp://HOST:PORT`` is printed to stdout.

With ``--clock`` every frame carries the wall-clock time at which the feeder handed it to the
encoders, as a binary strip in its top rows (see ``ClockStrip``): a viewer on the same machine
that reads it back measures the live view's glass-to-glass delay.

Exit status: 0 after SIGTERM / SIGINT, 2 on bad arguments or unusable footage.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstVideo", "1.0")
# GstApp is imported for its side effect: it gives appsink its try_pull_sample() method.
from gi.repository import GLib, Gst, GstApp, GstRtspServer, GstVideo  # noqa: E402, F401

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
FIRST_FRAME_TIMEOUT_S = 15.0
PULL_TIMEOUT_NS = 100 * Gst.MSECOND
SILENT_END_S = 0.25  # no frame for this long after most of the file: it ended without EOS
STUCK_S = 5.0  # no frame for this long anywhere: the decoder is stuck, restart it
MAX_LAG_S = 1.0  # further behind schedule than this: skip ahead instead of bursting
FALLBACK_FPS = 25.0
AUTH_ROLE = "viewer"
CLOCK_BITS = 40  # milliseconds modulo 2**40: about 35 years before the stamp wraps
CLOCK_MIN_BLOCK = 8  # pixels: a block smaller than this does not survive H.264 at camera bitrates
LUMA_ONE, LUMA_ZERO = 235, 16  # video-range white and black

# decodebin is linked by hand (see Feeder._on_pad_added), so it is not in this description.
FEEDER_TAIL = "videoconvert name=convert ! video/x-raw,format=I420 ! appsink name=sink sync=false max-buffers=2"
# videoconvert stays although the feeder already gives I420: it is what negotiates if a
# feeder's caps ever change (e.g. a different file behind the same name after a restart).
# sliced-threads=false: tune=zerolatency turns slices on, and rtph264pay's config-interval=-1
# then repeats SPS/PPS before every IDR slice, which splits each keyframe into two access
# units for FFmpeg. scenecut=0 keeps a camera-like fixed GOP, even where the file loops.
MEDIA_LAUNCH = (
    "( appsrc name=src is-live=true do-timestamp=true format=time "
    "max-buffers=8 leaky-type=downstream "
    "! videoconvert ! x264enc tune=zerolatency speed-preset=superfast bframes=0 key-int-max={gop} bitrate={kbps} "
    "sliced-threads=false option-string=scenecut=0 "
    "! video/x-h264,profile=constrained-baseline "
    "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)


class ClockStrip:
    """Burns a millisecond wall-clock stamp into the top rows of I420 frames.

    The stamp is ``CLOCK_BITS`` bits, most significant first: bit ``i`` is a square block of
    ``block`` pixels (the frame's width divided by ``CLOCK_BITS``, at least ``CLOCK_MIN_BLOCK``)
    at ``x = i * block``, ``y = 0 .. block - 1``, luma 235 for a 1 and 16 for a 0. Right below it,
    ``y = block .. 2 * block - 1``, the same bits are repeated inverted, so a reader can tell a
    bit that compression smeared (both rows alike) from a real one. The chroma under the strip
    is made neutral, so it is pure grey and its RGB channels all follow the luma.
    """

    def __init__(self, caps):
        info = GstVideo.VideoInfo.new_from_caps(caps)
        self.width, self.height = info.width, info.height
        self.strides, self.offsets = list(info.stride)[:3], list(info.offset)[:3]
        self.block = self.width // CLOCK_BITS
        if self.block < CLOCK_MIN_BLOCK or self.height < 2 * self.block:
            raise ValueError(
                f"{self.width}x{self.height} frames are too small for the clock strip "
                f"(at least {CLOCK_BITS * CLOCK_MIN_BLOCK}x{2 * CLOCK_MIN_BLOCK})"
            )

    def stamp(self, buffer, now_ms):
        """A deep copy of ``buffer`` with ``now_ms`` (modulo 2**CLOCK_BITS) in its strip."""
        value = int(now_ms) % (1 << CLOCK_BITS)
        bits = [(value >> (CLOCK_BITS - 1 - i)) & 1 for i in range(CLOCK_BITS)]
        row = bytearray(self.block * CLOCK_BITS)
        inverted = bytearray(len(row))
        for i, bit in enumerate(bits):
            start, end = i * self.block, (i + 1) * self.block
            row[start:end] = bytes([LUMA_ONE if bit else LUMA_ZERO]) * self.block
            inverted[start:end] = bytes([LUMA_ZERO if bit else LUMA_ONE]) * self.block
        copy = buffer.copy_deep()  # the original may be replayed, and is shared with the decoder
        for y in range(2 * self.block):
            copy.fill(self.offsets[0] + y * self.strides[0], bytes(row if y < self.block else inverted))
        neutral = bytes([128]) * (len(row) // 2)  # I420's chroma planes: half the width and height
        for plane in (1, 2):
            for y in range(self.block):
                copy.fill(self.offsets[plane] + y * self.strides[plane], neutral)
        return copy


class Feeder:
    """Decodes one footage file at real time, forever, and hands frames to registered appsrcs.

    A file is restarted at its end (restarting, not seeking: seeking a GIF fails with
    "invalid block label", a restart works for every container). A file whose decoded frames
    fit in ``memory_loop_bytes`` is decoded once and then looped from memory.
    """

    def __init__(self, name, path, memory_loop_bytes):
        self.name = name
        self.path = path
        self.memory_loop_bytes = memory_loop_bytes
        self.strip = None  # a ClockStrip with --clock, once the frames' size is known
        self.caps = None
        self.error = None
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._appsrcs = []
        self._due = None  # monotonic time at which the next frame is due
        self._run_frames = 0  # frames pulled since the pipeline (re)started
        self._run_seconds = 0.0  # and their total duration
        self._file_seconds = None  # the file's duration, when the demuxer knows it
        self._waiting_since = 0.0
        self._frames_per_run = None  # learnt when a file ends without EOS (see _on_silence)
        self._recording = []  # first pass's frames, while they fit in memory_loop_bytes
        self._recorded_bytes = 0
        self._replay = None  # the whole file, once it is looped from memory
        self.pipeline = self._build_pipeline()
        self.sink = self.pipeline.get_by_name("sink")
        self._thread = threading.Thread(target=self._run, name=f"feeder-{name}", daemon=True)

    def _build_pipeline(self):
        pipeline = Gst.parse_launch(f"filesrc name=file ! decodebin name=decode {FEEDER_TAIL}")
        # Set by property, not in the launch string, so no path needs quoting.
        pipeline.get_by_name("file").set_property("location", str(self.path))
        # A launch string's "decodebin ! videoconvert" links only the first pad decodebin ever
        # adds: after a restart its new pad stays unlinked and the file stops with
        # "not-linked". This handler links the video pad of every run.
        pipeline.get_by_name("decode").connect("pad-added", self._on_pad_added)
        return pipeline

    def _on_pad_added(self, _decodebin, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        if not caps.get_structure(0).get_name().startswith("video/"):
            return  # audio and subtitles are not a camera's business
        sink_pad = self.pipeline.get_by_name("convert").get_static_pad("sink")
        if not sink_pad.is_linked():
            pad.link(sink_pad)

    def start(self):
        """Starts decoding; ``ready`` is set at the first frame or at a fatal error."""
        self._waiting_since = time.monotonic()
        self.pipeline.set_state(Gst.State.PLAYING)
        self._thread.start()

    def stop(self):
        """Stops the puller thread and releases the decoding pipeline."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self.pipeline.set_state(Gst.State.NULL)

    def fps(self):
        """Frames per second announced by the decoder, or a fallback when it gives none."""
        ok, num, den = self.caps.get_structure(0).get_fraction("framerate")
        if not ok or num <= 0 or den <= 0:
            return FALLBACK_FPS
        return num / den

    def size(self):
        """(width, height) of the decoded frames."""
        structure = self.caps.get_structure(0)
        return structure.get_value("width"), structure.get_value("height")

    def register(self, appsrc):
        with self._lock:
            self._appsrcs.append(appsrc)

    def unregister(self, appsrc):
        with self._lock:
            if appsrc in self._appsrcs:
                self._appsrcs.remove(appsrc)

    def _run(self):
        try:
            self._pull_forever()
        except Exception as err:  # thread boundary: make the failure visible, never hang startup
            log(f"camera {self.name}: feeder crashed: {err!r}")
            self.error = self.error or repr(err)
            self.ready.set()

    def _pull_forever(self):
        while not self._stop.is_set() and self.error is None:
            if self._replay is not None:
                for buffer in self._replay:
                    if self._stop.is_set():
                        return
                    self._push(buffer)
                continue
            sample = self.sink.try_pull_sample(PULL_TIMEOUT_NS)
            if sample is not None:
                self._on_sample(sample)
            else:
                self._on_silence()

    def _on_sample(self, sample):
        if self.caps is None:
            self.caps = sample.get_caps()
            ok, duration = self.pipeline.query_duration(Gst.Format.TIME)
            self._file_seconds = duration / Gst.SECOND if ok and duration > 0 else None
            self.ready.set()
        buffer = sample.get_buffer()
        self._record(buffer)
        self._push(buffer)
        self._run_frames += 1
        self._waiting_since = time.monotonic()
        if self._run_frames == self._frames_per_run:
            self._end_of_file(complete=True)

    def _on_silence(self):
        failure = self._bus_error()
        if failure is not None and not self.ready.is_set():
            self.error = failure  # unusable footage: reported before the server starts
            self.ready.set()
        elif failure is not None:
            log(f"camera {self.name}: decoding failed, restarting {self.path}: {failure}")
            self._recording = None  # incomplete: this file is not looped from memory
            self._stop.wait(1.0)  # do not spin on a file that fails every time
            self._rewind()
        elif self.sink.is_eos():
            self._end_of_file(complete=True)
        elif self._ended_silently():
            # GStreamer's GIF demuxer never sends EOS after the last frame (it spins on
            # "invalid block label"): a decoder that goes quiet at the end has finished.
            complete = self._covered_file()
            if complete:  # learnt, so later loops restart right after the last frame
                self._frames_per_run = self._frames_per_run or self._run_frames
            self._due = None  # start the next loop on time instead of catching up the gap
            self._end_of_file(complete)

    def _ended_silently(self):
        silent_s = time.monotonic() - self._waiting_since
        return silent_s > STUCK_S or (silent_s > SILENT_END_S and self._covered_file())

    def _covered_file(self):
        # 90%: GIF frame delays need not add up to the duration the demuxer reports.
        return self._file_seconds is not None and self._run_seconds >= 0.9 * self._file_seconds

    def _record(self, buffer):
        if self._recording is None:
            return
        self._recorded_bytes += buffer.get_size()
        if self._recorded_bytes > self.memory_loop_bytes:
            self._recording = None
        else:
            # A deep copy: holding the decoder's own buffers could starve its buffer pool.
            self._recording.append(buffer.copy_deep())

    def _end_of_file(self, complete):
        recording, self._recording = self._recording, None
        if recording and complete:
            # The whole file fitted: loop it from memory and stop decoding for good.
            log(f"camera {self.name}: looping {len(recording)} frames from memory")
            self._replay = recording
            self.pipeline.set_state(Gst.State.NULL)
        else:
            self._rewind()

    def _rewind(self):
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.set_state(Gst.State.PLAYING)
        self._run_frames = 0
        self._run_seconds = 0.0
        self._waiting_since = time.monotonic()

    def _push(self, buffer):
        self._wait_until_due(buffer)
        with self._lock:
            targets = list(self._appsrcs)
        if targets and self.strip is not None:
            # Stamped now, as it goes to the encoders: a real camera's moment of capture.
            buffer = self.strip.stamp(buffer, time.time() * 1000)
        for appsrc in targets:
            copy = buffer.copy()
            # Cleared so that the appsrc stamps its own running time: the file's timestamps
            # restart at every loop (and are all zero in a GIF) and would mislead the encoder.
            copy.pts = Gst.CLOCK_TIME_NONE
            copy.dts = Gst.CLOCK_TIME_NONE
            appsrc.emit("push-buffer", copy)

    def _wait_until_due(self, buffer):
        # Paced here by frame durations, not by appsink sync: GStreamer's GIF demuxer stamps
        # every frame with pts 0, so a clock-synced sink would flush a whole GIF at once.
        now = time.monotonic()
        if self._due is None or now - self._due > MAX_LAG_S:
            self._due = now  # first frame, or far behind: resynchronise rather than burst
        elif self._due > now:
            self._stop.wait(self._due - now)
        has_duration = buffer.duration != Gst.CLOCK_TIME_NONE and buffer.duration > 0
        step_s = buffer.duration / Gst.SECOND if has_duration else 1.0 / self.fps()
        self._due += step_s
        self._run_seconds += step_s

    def _bus_error(self):
        message = self.pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if message is None:
            return None
        err, debug = message.parse_error()
        return f"{err.message} ({debug})" if debug else err.message


def log(message):
    print(f"rtsp_server: {message}", file=sys.stderr, flush=True)


def parse_camera(spec):
    """Parses ``NAME=FILE``; raises ValueError with a message naming what is wrong."""
    name, sep, file = spec.partition("=")
    if not sep or not file:
        raise ValueError(f"camera spec {spec!r} is not NAME=FILE")
    if not NAME_PATTERN.match(name):
        raise ValueError(f"camera name {name!r} must match {NAME_PATTERN.pattern}")
    path = Path(file).expanduser()
    if not path.is_file():
        raise ValueError(f"camera {name}: footage file {path} does not exist or is not a file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"camera {name}: footage file {path} is not readable")
    return name, path


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Serve footage files as looping RTSP cameras.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--gop-seconds", type=float, default=2.0, help="seconds between keyframes")
    parser.add_argument("--bitrate-kbps", type=int, default=0, help="0: derived from the resolution")
    parser.add_argument(
        "--memory-loop-mb",
        type=int,
        default=32,
        help="loop a file from memory when its decoded frames fit in this many MiB (0: never)",
    )
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="quit when stdin closes, so a parent that dies without stopping us leaks no server",
    )
    parser.add_argument(
        "--clock",
        action="store_true",
        help="burn the wall-clock time into each frame as a binary strip, for measuring the live delay",
    )
    parser.add_argument("cameras", nargs="+", metavar="NAME=FILE")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not in 1..65535")
    if args.memory_loop_mb < 0:
        parser.error("--memory-loop-mb must not be negative")
    if args.gop_seconds <= 0:
        parser.error("--gop-seconds must be positive")
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    try:
        args.cameras = [parse_camera(spec) for spec in args.cameras]
    except ValueError as err:
        parser.error(str(err))
    names = [name for name, _ in args.cameras]
    if len(set(names)) != len(names):
        parser.error(f"camera names must be unique: {names}")
    return args


def default_bitrate_kbps(width, height, fps):
    """About 0.1 bit per pixel: enough for CCTV-like scenes at these sizes."""
    return max(256, min(4000, round(width * height * fps * 0.1 / 1000)))


def make_factory(feeder, gop_seconds, bitrate_kbps):
    width, height = feeder.size()
    fps = feeder.fps()
    kbps = bitrate_kbps or default_bitrate_kbps(width, height, fps)
    gop = max(1, round(gop_seconds * fps))
    log(f"camera {feeder.name}: {width}x{height} @ {fps:.2f} fps, keyframe every {gop}, {kbps} kbps")
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(MEDIA_LAUNCH.format(gop=gop, kbps=kbps))
    # One media for every client, like a camera: clients share one encoder.
    factory.set_shared(True)
    factory.connect("media-configure", on_media_configure, feeder)
    return factory


def on_media_configure(_factory, media, feeder):
    appsrc = media.get_element().get_by_name_recurse_up("src")
    appsrc.set_property("caps", feeder.caps)
    feeder.register(appsrc)
    media.connect("unprepared", lambda _media: feeder.unregister(appsrc))


def make_auth(user, password):
    """Basic auth: only the token given to these credentials may open the mounted media."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, AUTH_ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    return auth


def viewer_permissions():
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{AUTH_ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
    )
    return permissions


def wait_for_first_frames(feeders):
    """Returns an error line per feeder that failed or produced no frame in time."""
    deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_S
    errors = []
    for feeder in feeders:
        if not feeder.ready.wait(max(0.0, deadline - time.monotonic())):
            errors.append(f"camera {feeder.name}: no frame decoded from {feeder.path} in time")
        elif feeder.error is not None:
            errors.append(f"camera {feeder.name}: cannot decode {feeder.path}: {feeder.error}")
    return errors


def add_clock_strips(feeders):
    """Gives every feeder its ClockStrip; returns an error line per camera too small for one."""
    errors = []
    for feeder in feeders:
        try:
            feeder.strip = ClockStrip(feeder.caps)
        except ValueError as err:
            errors.append(f"camera {feeder.name}: --clock: {err}")
    return errors


def build_server(args, feeders):
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    if args.user is not None:
        server.set_auth(make_auth(args.user, args.password))
    mounts = server.get_mount_points()
    for feeder in feeders:
        factory = make_factory(feeder, args.gop_seconds, args.bitrate_kbps)
        if args.user is not None:
            factory.set_permissions(viewer_permissions())
        mounts.add_factory(f"/{feeder.name}", factory)
    return server


def install_quit_handlers(loop, exit_with_stdin):
    # GLib's main loop ignores SIGTERM unless told; without this, servers leak.
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    if exit_with_stdin:

        def on_stdin(_fd, _condition):
            if not os.read(0, 4096):
                log("stdin closed, quitting")
                loop.quit()
                return GLib.SOURCE_REMOVE
            return GLib.SOURCE_CONTINUE

        GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, 0, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)


def serve(args):
    memory_loop_bytes = args.memory_loop_mb * 1024 * 1024
    feeders = [Feeder(name, path, memory_loop_bytes) for name, path in args.cameras]
    try:
        for feeder in feeders:
            feeder.start()
        errors = wait_for_first_frames(feeders)
        if args.clock and not errors:
            errors = add_clock_strips(feeders)
        if errors:
            for line in errors:
                log(line)
            return 2
        loop = GLib.MainLoop()
        install_quit_handlers(loop, args.exit_with_stdin)
        server = build_server(args, feeders)
        if server.attach(None) == 0:
            log(f"cannot listen on {args.host}:{args.port}")
            return 2
        print(f"READY rtsp://{args.host}:{args.port}", flush=True)
        loop.run()
        return 0
    finally:
        for feeder in feeders:
            feeder.stop()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    Gst.init(None)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
