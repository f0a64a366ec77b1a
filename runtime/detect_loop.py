"""The analytics process's loop: take the newest frame of each camera, detect, run rules, emit events.

Every few seconds it also reports each detector's health (:class:`DetectorStatus`) for /metrics.
"""

from __future__ import annotations

import logging
import threading
import time

from analytics.detector import Detector
from analytics.motion import MotionGate
from analytics.pipeline import CameraAnalytics
from core.config import AppConfig
from core.messages import DetectorStatus, Frame, Outbox
from core.settings import Settings
from ingest.frameslots import FrameSlots
from models.registry import resolve

logger = logging.getLogger(__name__)

SUMMARY_INTERVAL_S = 60.0
STATUS_INTERVAL_S = 5.0
IDLE_WAIT_S = 0.01


class DetectLoop:
    """Round-robin over the cameras' newest frames so one busy camera cannot starve the others."""

    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        frames: dict[str, FrameSlots],
        bus: Outbox,
        stop: threading.Event,
    ) -> None:
        self.cameras = {c.id: c for c in config.enabled_cameras}
        self.frames = frames
        self.bus = bus
        self.stop = stop
        self.detectors: dict[str, Detector] = {}
        for name in sorted({c.detect.model for c in self.cameras.values()}):
            model = resolve(name, settings)
            logger.info("loading %s from %s (%s)", name, model.path, model.source)
            self.detectors[name] = Detector(model.path, task=model.spec.task)
            self.detectors[name].warm_up()
        self.analytics = {cid: CameraAnalytics(c) for cid, c in self.cameras.items()}
        self.motion = {
            cid: MotionGate(min_changed_fraction=c.detect.motion_min_changed, max_skip_s=c.detect.motion_max_skip_s)
            for cid, c in self.cameras.items()
            if c.detect.motion_gating
        }
        self._processed = dict.fromkeys(self.cameras, 0)
        self._inference_ms = 0.0
        self._last_summary = time.monotonic()
        self._health = {name: _DetectorHealth() for name in self.detectors}
        self._last_status = time.monotonic()

    def run(self) -> None:
        """Process frames until told to stop."""
        logger.info("analytics running for %d camera(s)", len(self.cameras))
        while not self.stop.is_set():
            if not self._round():
                self.stop.wait(IDLE_WAIT_S)
            self._summary()
            self._report()

    def _round(self) -> int:
        """One turn over every camera, taking the frame each has waiting; returns how many had one."""
        waiting = dict.fromkeys(self._health, 0)
        for camera_id, slots in self.frames.items():
            frame = slots.get_latest()
            if frame is None:
                continue
            waiting[self.cameras[camera_id].detect.model] += 1
            try:
                self.step(frame)
            except Exception:  # loop boundary: one bad frame must not stop analytics
                logger.exception("%s: analytics failed on frame %d", camera_id, frame.seq)
        for name, health in self._health.items():
            health.waiting = waiting[name]
        return sum(waiting.values())

    def step(self, frame: Frame) -> None:
        """Detect on one frame and send its events up."""
        camera = self.cameras[frame.camera_id]
        detector = self.detectors[camera.detect.model]
        gate = self.motion.get(frame.camera_id)
        if gate is not None and not gate.needs_detection(frame.image, frame.captured_ts) and gate.last is not None:
            detections = gate.last  # nothing moved since the detector last looked: its answer still holds
        else:
            (detections,) = detector.detect(
                [frame.image], imgsz=camera.detect.imgsz, confidence=camera.detect.confidence
            )
            if gate is not None:
                gate.detected(frame.image, detections, frame.captured_ts)
            self._inference_ms += detector.last_inference_ms
            self._processed[frame.camera_id] += 1
            self._health[camera.detect.model].add(detector.last_inference_ms)
        for event in self.analytics[frame.camera_id].process(frame, detections):
            logger.info("%s: %s %s in %s (%s)", event.camera_id, event.kind, event.phase, event.zone, event.severity)
            self.bus.put(event)
        for count in self.analytics[frame.camera_id].take_counts(frame.captured_ts):
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
            self.bus.put(health.status(name, self.detectors[name].weights.name, now - self._last_status, skipped))
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
