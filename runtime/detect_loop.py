"""The analytics process's loop: take the newest frame of each camera, detect, run rules, emit events.

With ``detectors.workers: 0`` it detects itself; otherwise it sends the frames that need detection to
a :class:`DetectorPool` (at most one in flight per camera, so each camera's rules see its frames in
order) and runs the rules as the answers come. Every few seconds it also reports each detector's
health (:class:`DetectorStatus`) for /metrics.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from analytics.detections import Detections
from analytics.detector import Detector
from analytics.motion import MotionGate
from analytics.pipeline import CameraAnalytics
from core.config import AppConfig, CameraConfig, ModelSlotConfig
from core.messages import DetectorStatus, Frame, Image, Outbox
from core.settings import Settings
from ingest.frameslots import capacity_for
from models.registry import resolve
from runtime.detector_pool import DetectorPool, DetectRequest, DetectResult
from runtime.live_detections import LiveDetections
from runtime.snapshot_service import SnapshotService

logger = logging.getLogger(__name__)

SUMMARY_INTERVAL_S = 60.0
STATUS_INTERVAL_S = 5.0
IDLE_WAIT_S = 0.01


class FrameSource(Protocol):
    """Where one camera's newest frames come from (:class:`FrameSlots`, or a fake in benchmarks)."""

    def get_latest(self) -> Frame | None: ...

    @property
    def dropped(self) -> int: ...


class RuleModels:
    """The rules' own trained models (their ``model`` slots), each loaded once, run in this process.

    They run at their rules' own intervals (seconds apart), so they do not go through the pool.
    """

    def __init__(self, cameras: Iterable[CameraConfig], settings: Settings) -> None:
        self.detectors: dict[str, Detector] = {}
        for camera in cameras:
            for slot in camera.rule_models:
                if slot.name not in self.detectors:
                    model = resolve(slot.name, settings)
                    logger.info("%s: loading rule model %s from %s", camera.id, slot.name, model.path)
                    self.detectors[slot.name] = Detector(model.path, task=model.spec.task)

    def __call__(self, slot: ModelSlotConfig, image: Image) -> Detections:
        """The model's detections (with outlines for a segmentation model) on one frame."""
        (found,) = self.detectors[slot.name].detect([image], imgsz=slot.imgsz, confidence=slot.confidence)
        return found


class DetectLoop:
    """Round-robin over the cameras' newest frames so one busy camera cannot starve the others."""

    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        frames: Mapping[str, FrameSource],
        bus: Outbox,
        stop: threading.Event,
        snapshots: SnapshotService | None = None,
    ) -> None:
        self.cameras = {c.id: c for c in config.enabled_cameras}
        self.frames: dict[str, FrameSource] = dict(frames)
        self.bus = bus
        self.stop = stop
        self.snapshots = snapshots  # operators' requests for a camera's current picture
        self.live = LiveDetections(settings.live_dir)  # each camera's boxes for the camera wall, twice a second
        self.detectors: dict[str, Detector] = {}
        self.pool: DetectorPool | None = None
        self._weights: dict[str, str] = {}
        models = {}
        for name in sorted({c.detect.model for c in self.cameras.values()}):
            model = resolve(name, settings)
            models[name] = (model.path, model.spec.task)
            self._weights[name] = model.path.name
        if config.detectors.workers:
            logger.info("starting %d detector worker(s) for %s", config.detectors.workers, ", ".join(models))
            sizes = {c.detect.imgsz for c in self.cameras.values()}
            largest = max(capacity_for(c.detect.max_width) for c in self.cameras.values())
            queue_size = max(1, len(self.cameras))  # one request per camera at most
            self.pool = DetectorPool(
                config.detectors, settings, models, queue_size=queue_size, imgsz=sizes, frame_bytes=largest
            )
            self.pool.start()
        else:
            for name, (path, task) in models.items():
                logger.info("loading %s from %s", name, path)
                self.detectors[name] = Detector(path, task=task)
                self.detectors[name].warm_up()
        self.rule_models = RuleModels(self.cameras.values(), settings)
        self.analytics = {cid: CameraAnalytics(c, self.rule_models) for cid, c in self.cameras.items()}
        self.motion = {
            cid: MotionGate(min_changed_fraction=c.detect.motion_min_changed, max_skip_s=c.detect.motion_max_skip_s)
            for cid, c in self.cameras.items()
            if c.detect.motion_gating
        }
        self._processed = dict.fromkeys(self.cameras, 0)
        self._inference_ms = 0.0
        self._last_summary = time.monotonic()
        self._health = {name: _DetectorHealth() for name in models}
        self._last_status = time.monotonic()
        self._in_flight: dict[str, Frame] = {}  # camera id -> the frame its pool request is for
        self._request_ids = itertools.count(1)
        self.dropped = 0  # frames whose pool request failed or timed out (their rules did not run)

    def run(self) -> None:
        """Process frames until told to stop."""
        logger.info("analytics running for %d camera(s)", len(self.cameras))
        try:
            while not self.stop.is_set():
                found = self._round()
                if self.pool is not None:
                    found += self.collect(IDLE_WAIT_S if not found else 0.0)
                elif not found:
                    self.stop.wait(IDLE_WAIT_S)
                self._summary()
                self._report()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the detector pool, if there is one."""
        if self.pool is not None:
            self.pool.stop()

    def _round(self) -> int:
        """One turn over every camera, taking the frame each has waiting; returns how many had one."""
        waiting = dict.fromkeys(self._health, 0)
        for camera_id, slots in self.frames.items():
            if camera_id in self._in_flight:
                continue  # its rules wait for the frame with the pool; newer frames wait in its slots
            frame = slots.get_latest()
            if frame is None:
                continue
            if self.snapshots is not None:
                self.snapshots.offer(frame)  # a dict look-up: the picture is written by the service's thread
            waiting[self.cameras[camera_id].detect.model] += 1
            try:
                if self.pool is None:
                    self.step(frame)
                else:
                    self.submit(frame)
            except Exception:  # loop boundary: one bad frame must not stop analytics
                logger.exception("%s: analytics failed on frame %d", camera_id, frame.seq)
        for name, health in self._health.items():
            health.waiting = waiting[name] if self.pool is None else self.pool.waiting(name)
        return sum(waiting.values())

    def step(self, frame: Frame) -> None:
        """Detect on one frame in this process and send its events up."""
        camera = self.cameras[frame.camera_id]
        detector = self.detectors[camera.detect.model]
        gate = self.motion.get(frame.camera_id)
        if gate is not None and not gate.needs_detection(frame.image, frame.captured_ts) and gate.last is not None:
            detections = gate.last  # nothing moved since the detector last looked: its answer still holds
        else:
            (detections,) = detector.detect(
                [frame.image], imgsz=camera.detect.imgsz, confidence=camera.detect.confidence
            )
            self._detected(frame, detections, detector.last_inference_ms)
        self._rules(frame, detections)

    def submit(self, frame: Frame) -> None:
        """Send one frame to the pool, or run its rules at once when the motion gate says nothing moved."""
        assert self.pool is not None
        camera = self.cameras[frame.camera_id]
        gate = self.motion.get(frame.camera_id)
        if gate is not None and not gate.needs_detection(frame.image, frame.captured_ts) and gate.last is not None:
            self._rules(frame, gate.last)
            return
        request = DetectRequest(
            next(self._request_ids), frame.camera_id, frame.seq,
            camera.detect.model, camera.detect.imgsz, camera.detect.confidence, frame.image,
        )  # fmt: skip
        if self.pool.submit(request):
            self._in_flight[frame.camera_id] = frame
        else:
            self.dropped += 1

    def collect(self, timeout_s: float = 0.0) -> int:
        """Run the rules of every frame the pool answered (waiting up to ``timeout_s`` for the first)."""
        assert self.pool is not None
        done = 0
        try:
            result = self.pool.results.get(timeout=timeout_s) if timeout_s > 0 else self.pool.results.get_nowait()
            while True:
                done += 1
                try:
                    self._answered(result)
                except Exception:  # loop boundary: one bad frame must not stop analytics
                    logger.exception("%s: analytics failed on frame %d", result.camera_id, result.seq)
                result = self.pool.results.get_nowait()
        except queue.Empty:
            return done

    def _answered(self, result: DetectResult) -> None:
        frame = self._in_flight.get(result.camera_id)
        if frame is None or frame.seq != result.seq:
            return  # not the frame this camera waits for (cannot happen with one request per camera)
        del self._in_flight[result.camera_id]
        if result.detections is None:
            self.dropped += 1
            logger.warning("%s: frame %d dropped: %s", result.camera_id, result.seq, result.error)
            return
        self._detected(frame, result.detections, result.inference_ms)
        self._rules(frame, result.detections)

    def _detected(self, frame: Frame, detections: Detections, inference_ms: float) -> None:
        gate = self.motion.get(frame.camera_id)
        if gate is not None:
            gate.detected(frame.image, detections, frame.captured_ts)
        self._inference_ms += inference_ms
        self._processed[frame.camera_id] += 1
        self._health[self.cameras[frame.camera_id].detect.model].add(inference_ms)

    def _rules(self, frame: Frame, detections: Detections) -> None:
        analytics = self.analytics[frame.camera_id]
        events = analytics.process(frame, detections)
        # Published after the rules ran, so a tracked camera's boxes carry their track ids.
        tracked = analytics.last_detections
        self.live.publish(frame.camera_id, tracked if tracked is not None else detections)
        for event in events:
            logger.info("%s: %s %s in %s (%s)", event.camera_id, event.kind, event.phase, event.zone, event.severity)
            self.bus.put(event)
        for count in analytics.take_counts(frame.captured_ts):
            self.bus.put(count)

    def _summary(self) -> None:
        now = time.monotonic()
        if now - self._last_summary < SUMMARY_INTERVAL_S:
            return
        total = sum(self._processed.values())
        if total:
            per_camera = ", ".join(f"{k} {v / (now - self._last_summary):.1f}/s" for k, v in self._processed.items())
            spared = sum(gate.skipped for gate in self.motion.values())
            logger.info(
                "analytics: %d frames detected, %.1f ms per frame (%s); %d frames spared by motion gating so far",
                total, self._inference_ms / total, per_camera, spared,
            )  # fmt: skip
        self._processed = dict.fromkeys(self._processed, 0)
        self._inference_ms = 0.0
        self._last_summary = now

    def _report(self) -> None:
        """Send each detector's status up, every :data:`STATUS_INTERVAL_S`."""
        now = time.monotonic()
        if now - self._last_status < STATUS_INTERVAL_S:
            return
        for name, health in self._health.items():
            skipped = sum(slots.dropped for cid, slots in self.frames.items() if self.cameras[cid].detect.model == name)
            self.bus.put(health.status(name, self._weights[name], now - self._last_status, skipped))
        self._last_status = now


class _DetectorHealth:
    """One detector's counts between two status reports, and since the process started."""

    def __init__(self) -> None:
        self.frames_total = 0
        self.waiting = 0  # frames found waiting for this detector in the last round
        self._frames = 0
        self._inference_ms = 0.0

    def add(self, inference_ms: float) -> None:
        """Count one frame the detector processed."""
        self.frames_total += 1
        self._frames += 1
        self._inference_ms += inference_ms

    def status(self, name: str, model: str, window_s: float, skipped: int) -> DetectorStatus:
        """The report for the window that ends now; the next window starts empty."""
        status = DetectorStatus(
            name=name,
            model=model,
            at_ts=time.time(),
            inference_ms=self._inference_ms / self._frames if self._frames else 0.0,
            frames_per_s=self._frames / window_s if window_s > 0 else 0.0,
            queue_depth=self.waiting,
            frames_total=self.frames_total,
            skipped_total=skipped,
        )
        self._frames, self._inference_ms = 0, 0.0
        return status
