"""Illegal dumping: a new object left standing in a watched zone opens an event."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analytics.detections import Boxes
from analytics.rules.base import RuleEvent, RuleInput
from analytics.static_objects import StaticBlob, StaticObjectDetector, StaticObjectParams
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
    or vehicle detection are those people or vehicles (a parked car is not trash). Whether a
    person was near an object around its onset is recorded as evidence of dumping.
    """

    needs_tracks = False

    def __init__(self, config: DumpingRuleConfig) -> None:
        self.config = config
        self.zone = config.zone
        self.interval_s: float | None = config.interval_s
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
        self._stats: dict[int, _BlobStats] = {}
        self._people: deque[tuple[float, Boxes]] = deque()
        self._empty_since: float | None = None
        self._active: _Active | None = None

    def process(self, frame: RuleInput) -> list[RuleEvent]:
        """Learn from the frame; report objects that have stood long enough."""
        now_ts = frame.now_ts
        if self.detector is None:
            self.detector = StaticObjectDetector(self.params, frame.zone.polygon)
        blobs = self.detector.update(frame.image, now_ts)
        self._remember_people(now_ts, frame.detections.of_classes(["person"]).xyxy)
        excluded = frame.detections.of_classes(self.config.exclude_classes).xyxy
        piles = [b for b in blobs if self._is_pile(b, now_ts, excluded, frame)]
        self._stats = {k: v for k, v in self._stats.items() if k in self.detector.blobs}
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
            self._active = _Active(started, severity, now_ts, ids, details)
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
        assert self.detector is not None and self.detector.image_size is not None
        width, height = self.detector.image_size
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
        return {**described[0], "piles": described, "noise_sigma": round(self.detector.noise_sigma, 2)}

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
            details={**details, "duration_s": round(now_ts - active.started_ts, 1)},
        )
