"""Per-camera analytics: detections → zones → rules → events (with a snapshot on every start)."""

from __future__ import annotations

from analytics.annotate import draw, encode_jpeg
from analytics.detections import Detections
from analytics.rules import Rule, RuleEvent, RuleInput, build_rule
from analytics.zones import Zone
from core.config import CameraConfig
from core.messages import Event, EventPhase, Frame


class CameraAnalytics:
    """The zones and rules of one camera; pure apart from drawing the evidence snapshot."""

    def __init__(self, camera: CameraConfig) -> None:
        self.camera = camera
        self.zones = {z.name: Zone(z) for z in camera.zones}
        self.rules: list[Rule] = [build_rule(r) for r in camera.rules]
        self._last_run: dict[int, float] = {}

    def process(self, frame: Frame, detections: Detections) -> list[Event]:
        """Run every rule that is due on ``frame``'s detections; return the events they raise."""
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
            seen = RuleInput(frame.captured_ts, frame.image, detections, in_zone[rule.zone], zone)
            for candidate in rule.process(seen):
                snapshot = None
                if candidate.phase == EventPhase.START:
                    snapshot = self._snapshot(frame, detections, candidate, in_zone[rule.zone])
                events.append(self._event(candidate, snapshot))
        return events

    def _snapshot(self, frame: Frame, detections: Detections, event: RuleEvent, hot: Detections) -> bytes:
        drawn = draw(frame.image, detections, list(self.zones.values()), highlight_zone=event.zone, highlighted=hot)
        return encode_jpeg(drawn)

    def _event(self, candidate: RuleEvent, snapshot: bytes | None) -> Event:
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
        )
