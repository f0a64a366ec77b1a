"""Counting lines: tracked objects crossing a segment, by direction and class, in 1-minute buckets.

An object crosses when its box's bottom-centre (where it touches the road) passes from one side
of the line to the other and the point where it passes lies on the segment, end points included.
Seen from ``a`` towards ``b``, left to right is ``in`` and right to left is ``out``. A point closer
to the line than :data:`DEAD_BAND` keeps the side it had, so a box wobbling on the line is not
counted again and again. A track counts once per line until it crosses back the other way (which
counts once in that direction); detections without a track id (-1) are never counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analytics.detections import Detections
from core.config import LineConfig

Direction = Literal["in", "out"]

BUCKET_S = 60
DEAD_BAND = 0.005  # distance from the line, in image widths / heights, that decides no side
FORGET_AFTER_S = 30.0  # a track unseen this long is forgotten
ENDPOINT_TOLERANCE = 1e-6  # share of the line's length: boxes are float32, so an end point is hit only this closely


@dataclass(frozen=True)
class Crossing:
    """One tracked object crossing one line."""

    line: str
    track_id: int
    class_name: str
    direction: Direction
    at_ts: float


@dataclass
class _TrackState:
    side: int  # -1 left, +1 right of the line (never 0: a point on the line keeps the last side)
    point: tuple[float, float]  # where it last was on that side, 0-1 image coordinates
    counted: Direction | None
    seen_ts: float


class CountingLine:
    """One line of one camera; remembers where each track last was."""

    def __init__(self, config: LineConfig) -> None:
        self.config = config
        self.name = config.name
        self._a = np.asarray(config.a, np.float64)
        self._d = np.asarray(config.b, np.float64) - self._a
        self._length = float(np.hypot(*self._d))
        self._classes = set(config.classes)
        self._tracks: dict[int, _TrackState] = {}

    def update(self, detections: Detections, now_ts: float) -> list[Crossing]:
        """The crossings since the previous frame; ``detections`` must carry track ids."""
        if detections.track_id is None or self._length == 0:
            return []
        width, height = detections.image_size
        points = detections.bottom_centers() / np.asarray([width, height], np.float32)
        crossings: list[Crossing] = []
        for point, track_id, name in zip(points, detections.track_id, detections.class_names, strict=True):
            if track_id < 0 or name not in self._classes:
                continue
            crossing = self._follow(int(track_id), name, (float(point[0]), float(point[1])), now_ts)
            if crossing is not None:
                crossings.append(crossing)
        self._forget(now_ts)
        return crossings

    def _follow(self, track_id: int, class_name: str, point: tuple[float, float], now_ts: float) -> Crossing | None:
        side = self._side(point)
        state = self._tracks.get(track_id)
        if state is None:
            if side != 0:
                self._tracks[track_id] = _TrackState(side, point, None, now_ts)
            return None
        state.seen_ts = now_ts
        if side == 0 or side == state.side:
            if side != 0:
                state.point = point
            return None
        previous = state.point
        state.side, state.point = side, point
        if not self._on_segment(previous, point):
            return None
        direction: Direction = "in" if side > 0 else "out"
        if state.counted == direction:
            return None
        state.counted = direction
        return Crossing(self.name, track_id, class_name, direction, now_ts)

    def _cross(self, point: tuple[float, float]) -> float:
        """Signed distance from the line: negative on its left, positive on its right (image y points down)."""
        return float(self._d[0] * (point[1] - self._a[1]) - self._d[1] * (point[0] - self._a[0])) / self._length

    def _side(self, point: tuple[float, float]) -> int:
        distance = self._cross(point)
        return 0 if abs(distance) < DEAD_BAND else int(math.copysign(1, distance))

    def _on_segment(self, p: tuple[float, float], q: tuple[float, float]) -> bool:
        """Whether the move from ``p`` to ``q`` passes the line between ``a`` and ``b`` (end points included)."""
        cp, cq = self._cross(p), self._cross(q)
        t = cp / (cp - cq)
        x = np.asarray(p) + t * (np.asarray(q) - np.asarray(p))
        u = float(np.dot(x - self._a, self._d)) / self._length**2
        return -ENDPOINT_TOLERANCE <= u <= 1 + ENDPOINT_TOLERANCE

    def _forget(self, now_ts: float) -> None:
        stale = [t for t, s in self._tracks.items() if now_ts - s.seen_ts > FORGET_AFTER_S]
        for track_id in stale:
            del self._tracks[track_id]


@dataclass(frozen=True)
class BucketCount:
    """Crossings of one line, class and direction in the minute starting at ``bucket_start_ts``."""

    line: str
    class_name: str
    direction: Direction
    bucket_start_ts: float
    count: int


class LineCounter:
    """Every counting line of one camera, with their crossings summed into 1-minute buckets."""

    def __init__(self, lines: list[LineConfig]) -> None:
        self.lines = [CountingLine(c) for c in lines]
        self._buckets: dict[tuple[str, str, Direction, float], int] = {}

    def update(self, detections: Detections, now_ts: float) -> list[Crossing]:
        """Follow the tracks of one frame; its crossings are added to their minute."""
        crossings = [c for line in self.lines for c in line.update(detections, now_ts)]
        for c in crossings:
            key = (c.line, c.class_name, c.direction, float(math.floor(c.at_ts / BUCKET_S) * BUCKET_S))
            self._buckets[key] = self._buckets.get(key, 0) + 1
        return crossings

    def take(self, now_ts: float) -> list[BucketCount]:
        """The buckets whose minute is over by ``now_ts`` (each once), oldest first; the rest stay open."""
        closed = sorted((k for k in self._buckets if k[3] + BUCKET_S <= now_ts), key=lambda k: (k[3], k[:3]))
        return [BucketCount(*key, count=self._buckets.pop(key)) for key in closed]
