"""The analytics process's loop: take the newest frame of each camera, detect, run rules, emit events."""

from __future__ import annotations

import logging
import threading
import time

from analytics.detector import Detector
from analytics.pipeline import CameraAnalytics
from core.config import AppConfig
from core.messages import Frame, Outbox
from core.settings import Settings
from ingest.frameslots import FrameSlots
from models.registry import resolve

logger = logging.getLogger(__name__)

SUMMARY_INTERVAL_S = 60.0
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
        self._processed = dict.fromkeys(self.cameras, 0)
        self._inference_ms = 0.0
        self._last_summary = time.monotonic()

    def run(self) -> None:
        """Process frames until told to stop."""
        logger.info("analytics running for %d camera(s)", len(self.cameras))
        while not self.stop.is_set():
            busy = False
            for camera_id, slots in self.frames.items():
                frame = slots.get_latest()
                if frame is None:
                    continue
                busy = True
                try:
                    self.step(frame)
                except Exception:  # loop boundary: one bad frame must not stop analytics
                    logger.exception("%s: analytics failed on frame %d", camera_id, frame.seq)
            if not busy:
                self.stop.wait(IDLE_WAIT_S)
            self._summary()

    def step(self, frame: Frame) -> None:
        """Detect on one frame and send its events up."""
        camera = self.cameras[frame.camera_id]
        detector = self.detectors[camera.detect.model]
        detections = detector.detect([frame.image], imgsz=camera.detect.imgsz, confidence=camera.detect.confidence)[0]
        self._inference_ms += detector.last_inference_ms
        self._processed[frame.camera_id] += 1
        for event in self.analytics[frame.camera_id].process(frame, detections):
            logger.info("%s: %s %s in %s (%s)", event.camera_id, event.kind, event.phase, event.zone, event.severity)
            self.bus.put(event)

    def _summary(self) -> None:
        now = time.monotonic()
        if now - self._last_summary < SUMMARY_INTERVAL_S:
            return
        total = sum(self._processed.values())
        if total:
            per_camera = ", ".join(f"{k} {v / (now - self._last_summary):.1f}/s" for k, v in self._processed.items())
            logger.info("analytics: %d frames, %.1f ms per frame (%s)", total, self._inference_ms / total, per_camera)
        self._processed = dict.fromkeys(self._processed, 0)
        self._inference_ms = 0.0
        self._last_summary = now
