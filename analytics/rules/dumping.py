"""Illegal dumping: a new object left standing in a watched zone opens an event."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analytics.arrivals import Arrivals
from analytics.detections import Boxes
from analytics.rules.base import RuleEvent, RuleInput
from analytics.static_objects import StaticBlob, StaticObjectDetector, StaticObjectParams
from analytics.trash_piles import DetectedPiles
from core.config import DumpingRuleConfig
from core.messages import EventPhase, Severity

KIND = "dumping"
# A blob is under a detection when this share of its box lies inside the detection's box.
COVERED_SHARE = 0.5
# A blob under a person or vehicle in more than this share of its frames is that person or vehicle.
MAX_COVERED_FRAMES = 0.5


@dataclass
class _BlobStats:
    seen: int = 0
    covered: int = 0
    person_ts: float | None = None
    checked: bool = False  # the ghost test has been passed


@dataclass
class _Active:
    started_ts: float
    severity: Severity
    last_update_ts: float
    pile_ids: frozenset[int]
    details: dict[str, Any] = field(default_factory=dict)
    # The piles' boxes in the START frame (the one kept as evidence), whatever later updates say.
    start_boxes_norm: list[list[float]] = field(default_factory=list)


def _covered_share(box: tuple[float, float, float, float], others: Boxes) -> float:
    """The largest share of ``box`` that lies inside one of ``others``."""
    if len(others) == 0:
        return 0.0
    iw = np.clip(np.minimum(others[:, 2], box[2]) - np.maximum(others[:, 0], box[0]), 0, None)
    ih = np.clip(np.minimum(others[:, 3], box[3]) - np.maximum(others[:, 1], box[1]), 0, None)
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    return float((iw * ih).max() / area)


def _near(box: tuple[float, float, float, float], people: Boxes) -> bool:
    """Whether a person stands within about one body height of ``box``."""
    if len(people) == 0:
        return False
    reach = people[:, 3] - people[:, 1]
    return bool(
        np.any(
            (people[:, 0] - reach <= box[2])
            & (people[:, 2] + reach >= box[0])
            & (people[:, 1] - reach <= box[3])
            & (people[:, 3] + reach >= box[1])
        )
    )


class DumpingRule:
    """Watches a zone for new static objects (see :mod:`analytics.static_objects`).

    START once an object has stood ``min_static_s`` and covers at least ``min_area`` of the
    zone, UPDATE when the set of objects changes (at most every ``update_interval_s`` unless a
    new one appears), END after ``end_after_s`` with none left. Objects mostly under a person
    or vehicle detection that came there moving are those people or vehicles (a parked car is
    not trash; see :mod:`analytics.arrivals`). Whether a person was near an object around its
    onset is recorded as evidence of dumping.

    With a trained trash detector in ``model``, the objects are its boxes in the zone (given in
    ``frame.model``), followed by overlap; the background model is not run.
    """

    def __init__(self, config: DumpingRuleConfig) -> None:
        self.config = config
        # The background model's objects are told from people and vehicles that drove in by their tracks.
        self.needs_tracks = config.model is None
        self.zone = config.zone
        self.interval_s: float | None = config.interval_s
        self.model = config.model
        self.params = StaticObjectParams(
            short_s=config.short_s,
            long_s=config.long_s,
            learn_s=config.learn_s,
            forget_s=config.forget_s,
            miss_s=max(2 * config.short_s, 3 * config.interval_s),
            min_diff=config.min_diff,
            noise_k=config.noise_k,
        )
        self.detector: StaticObjectDetector | None = None
        self.arrivals = Arrivals(self.params.miss_s)
        self.trash: DetectedPiles | None = None
        self._image_size: tuple[int, int] | None = None
        self._stats: dict[int, _BlobStats] = {}
        self._people: deque[tuple[float, Boxes]] = deque()
        self._empty_since: float | None = None
        self._active: _Active | None = None

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Learn from the frame; report objects that have stood long enough."""
        now_ts = frame.now_ts
        height, width = frame.image.shape[:2]
        self._image_size = (width, height)
        self._remember_people(now_ts, frame.detections.of_classes(["person"]).xyxy)
        piles = self._detected(frame) if self.model is not None else self._background(frame)
        if piles:
            self._empty_since = None
            return self._report(now_ts, piles)
        if self._empty_since is None:
            self._empty_since = now_ts
        active = self._active
        if active is not None and now_ts - self._empty_since >= self.config.end_after_s:
            self._active = None
            return [self._event(EventPhase.END, now_ts, active, active.details)]
        return []

    def _background(self, frame: RuleInput) -> list[StaticBlob]:
        """New static objects from the background model, less those that are people or vehicles."""
        if self.detector is None:
            self.detector = StaticObjectDetector(self.params, frame.zone.polygon)
        blobs = self.detector.update(frame.image, frame.now_ts)
        standing = frame.detections.of_classes(self.config.exclude_classes)
        # Only a person or vehicle that came there moving explains an object away: a bag the
        # detector takes for a car appeared where it lies.
        excluded = standing.xyxy[self.arrivals.update(standing.xyxy, frame.now_ts, standing.track_id)]
        piles = [b for b in blobs if self._is_pile(b, frame.now_ts, excluded, frame)]
        self._stats = {k: v for k, v in self._stats.items() if k in self.detector.blobs}
        return piles

    def _detected(self, frame: RuleInput) -> list[StaticBlob]:
        """The trained detector's trash boxes in the zone that have stood long enough."""
        assert self.model is not None
        if self.trash is None:
            self.trash = DetectedPiles(frame.zone.polygon, self.params.miss_s)
        found = frame.model
        if found is not None and self.model.classes is not None:
            found = found.of_classes(self.model.classes)
        boxes = frame.zone.filter(found).xyxy if found is not None else np.zeros((0, 4), np.float32)
        piles = []
        for blob in self.trash.update(boxes, frame.now_ts, self._image_size or (1, 1)):
            stats = self._stats.setdefault(blob.blob_id, _BlobStats())
            if stats.person_ts is None and blob.age_s(frame.now_ts) <= self.config.person_window_s:
                stats.person_ts = next((ts for ts, people in self._people if _near(blob.xyxy, people)), None)
            if blob.age_s(frame.now_ts) >= self.config.min_static_s and blob.zone_fraction >= self.config.min_area:
                piles.append(blob)
        self._stats = {k: v for k, v in self._stats.items() if k in self.trash.piles}
        return piles

    def _remember_people(self, now_ts: float, people: Boxes) -> None:
        self._people.append((now_ts, people))
        while self._people and now_ts - self._people[0][0] > self.config.person_window_s:
            self._people.popleft()

    def _is_pile(self, blob: StaticBlob, now_ts: float, excluded: Boxes, frame: RuleInput) -> bool:
        stats = self._stats.setdefault(blob.blob_id, _BlobStats())
        stats.seen += 1
        covered = _covered_share(blob.xyxy, excluded) >= COVERED_SHARE
        stats.covered += int(covered)
        if stats.person_ts is None and blob.age_s(now_ts) <= self.config.person_window_s:
            # The remembered window reaches back before the onset, so one who left counts too.
            stats.person_ts = next((ts for ts, people in self._people if _near(blob.xyxy, people)), None)
        if covered or blob.age_s(now_ts) < self.config.min_static_s or blob.zone_fraction < self.config.min_area:
            return False
        if stats.covered > MAX_COVERED_FRAMES * stats.seen:
            return False
        if not stats.checked:
            assert self.detector is not None
            if self.detector.is_ghost(blob, frame.image):
                self.detector.absorb(blob)
                return False
            stats.checked = True
        return True

    def _report(self, now_ts: float, piles: list[StaticBlob]) -> list[RuleEvent]:
        ids = frozenset(b.blob_id for b in piles)
        details = self._details(now_ts, piles)
        severity = self._severity(sum(b.zone_fraction for b in piles))
        active = self._active
        if active is None:
            started = min(b.first_ts for b in piles)
            start_boxes = [pile["box_norm"] for pile in details["piles"]]
            self._active = _Active(started, severity, now_ts, ids, details, start_boxes)
            return [self._event(EventPhase.START, now_ts, self._active, details)]
        active.details = details
        new_pile = not ids <= active.pile_ids
        due = now_ts - active.last_update_ts >= self.config.update_interval_s
        if new_pile or (due and ids != active.pile_ids):
            active.severity = max(severity, active.severity, key=lambda s: s.rank)
            active.last_update_ts = now_ts
            active.pile_ids = ids
            return [self._event(EventPhase.UPDATE, now_ts, active, details)]
        return []

    def _severity(self, zone_fraction: float) -> Severity:
        ratio = zone_fraction / self.config.min_area
        if ratio >= 10:
            return Severity.HIGH
        if ratio >= 4:
            return Severity.MEDIUM
        return Severity.LOW

    def _details(self, now_ts: float, piles: list[StaticBlob]) -> dict[str, Any]:
        assert self._image_size is not None
        width, height = self._image_size
        described = []
        for blob in sorted(piles, key=lambda b: b.area_px, reverse=True):
            x1, y1, x2, y2 = blob.xyxy
            person_ts = self._stats[blob.blob_id].person_ts
            described.append(
                {
                    "box": [round(x1), round(y1), round(x2), round(y2)],
                    "box_norm": [
                        round(x1 / width, 4),
                        round(y1 / height, 4),
                        round(x2 / width, 4),
                        round(y2 / height, 4),
                    ],
                    "area_px": round(blob.area_px),
                    "zone_fraction": round(blob.zone_fraction, 5),
                    "standing_s": round(blob.age_s(now_ts), 1),
                    "person_at_onset": person_ts is not None,
                }
            )
        details: dict[str, Any] = {**described[0], "piles": described}
        if self.detector is not None:
            details["noise_sigma"] = round(self.detector.noise_sigma, 2)
        else:
            details["detector"] = self.model.name if self.model is not None else None
        return details

    def _event(self, phase: EventPhase, now_ts: float, active: _Active, details: dict[str, Any]) -> RuleEvent:
        count = len(details.get("piles", []))
        if phase == EventPhase.END:
            title = f"Dumped object in {self.zone} no longer seen"
        else:
            title = f"Dumped object in {self.zone}: {count} left standing"
            if details.get("person_at_onset"):
                title += ", a person was near when it appeared"
        return RuleEvent(
            kind=KIND,
            zone=self.zone,
            phase=phase,
            at_ts=now_ts,
            started_ts=active.started_ts,
            severity=active.severity,
            title=title,
            details={
                **details,
                "start_boxes_norm": active.start_boxes_norm,
                "duration_s": round(now_ts - active.started_ts, 1),
            },
        )
