"""Per-camera analytics: detections → zones → rules → events (a snapshot and the raw frame on every start)."""

from __future__ import annotations

from collections.abc import Callable

from analytics.annotate import draw, encode_jpeg
from analytics.detections import Detections
from analytics.lines import LineCounter
from analytics.rules import Rule, RuleEvent, RuleInput, build_rule
from analytics.tracking import Tracker
from analytics.zones import Zone
from core.config import CameraConfig, ModelSlotConfig
from core.messages import Event, EventPhase, Frame, Image, TrafficCount

RAW_FRAME_QUALITY = 90  # JPEG quality of the undrawn frame kept for training datasets


# Runs a rule's own trained model (its ``model`` slot) on a frame; the analytics process provides it.
ModelRunner = Callable[[ModelSlotConfig, Image], Detections]


class CameraAnalytics:
    """The zones and rules of one camera; pure apart from drawing the evidence snapshot."""

    def __init__(self, camera: CameraConfig, run_model: ModelRunner | None = None) -> None:
        self.camera = camera
        self.zones = {z.name: Zone(z) for z in camera.zones}
        self.rules: list[Rule] = [build_rule(r) for r in camera.rules]
        if run_model is None and any(rule.model is not None for rule in self.rules):
            raise ValueError(f"{camera.id}: a rule has its own model but no model runner was given")
        self.run_model = run_model
        self._last_run: dict[int, float] = {}
        tracked = bool(camera.lines) or any(rule.needs_tracks for rule in self.rules)
        self.tracker = Tracker(camera.detect.fps) if tracked else None
        self.lines = LineCounter(camera.lines) if camera.lines else None
        # The last frame's detections as the rules saw them: with track ids when the camera is tracked.
        self.last_detections: Detections | None = None

    def process(self, frame: Frame, detections: Detections) -> list[Event]:
        """Run every rule that is due on ``frame``'s detections; return the events they raise."""
        if self.tracker is not None:
            detections = self.tracker.update(detections, frame.image)
        self.last_detections = detections
        if self.lines is not None:
            self.lines.update(detections, frame.captured_ts)
        in_zone: dict[str, Detections] = {}
        events: list[Event] = []
        for index, rule in enumerate(self.rules):
            last = self._last_run.get(index)
            if rule.interval_s is not None and last is not None and frame.captured_ts - last < rule.interval_s:
                continue
            self._last_run[index] = frame.captured_ts
            zone = self.zones[rule.zone]
            if rule.zone not in in_zone:
                in_zone[rule.zone] = zone.filter(detections)
            own = self.run_model(rule.model, frame.image) if rule.model is not None and self.run_model else None
            seen = RuleInput(frame.captured_ts, frame.image, detections, in_zone[rule.zone], zone, own)
            for candidate in rule.process(seen):
                snapshot = raw = None
                if candidate.phase == EventPhase.START:
                    snapshot = self._snapshot(frame, detections, candidate, in_zone[rule.zone])
                    # Undrawn and a little finer than the snapshot: what a training set needs.
                    raw = encode_jpeg(frame.image, quality=RAW_FRAME_QUALITY)
                events.append(self._event(candidate, snapshot, raw))
        return events

    def take_counts(self, now_ts: float) -> list[TrafficCount]:
        """The line counts of every minute that is over by ``now_ts``, each minute once."""
        if self.lines is None:
            return []
        return [
            TrafficCount(self.camera.id, b.line, b.class_name, b.direction, b.bucket_start_ts, b.count)
            for b in self.lines.take(now_ts)
        ]

    def _snapshot(self, frame: Frame, detections: Detections, event: RuleEvent, hot: Detections) -> bytes:
        drawn = draw(frame.image, detections, list(self.zones.values()), highlight_zone=event.zone, highlighted=hot)
        return encode_jpeg(drawn)

    def _event(self, candidate: RuleEvent, snapshot: bytes | None, raw: bytes | None) -> Event:
        return Event(
            camera_id=self.camera.id,
            kind=candidate.kind,
            zone=candidate.zone,
            phase=candidate.phase,
            at_ts=candidate.at_ts,
            started_ts=candidate.started_ts,
            severity=candidate.severity,
            title=candidate.title,
            details=candidate.details,
            snapshot_jpeg=snapshot,
            frame_jpeg=raw,
        )
