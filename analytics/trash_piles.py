"""Trash piles from a trained detector (the dumping rule's ``trash`` slot), followed over time.

The background-model path (:mod:`analytics.static_objects`) finds new static regions without
labels; a city that has trained a trash detector gets its boxes instead. Either way the rule
sees :class:`StaticBlob` objects with an onset time, so the rest of the rule (how long a pile
must stand, a person near at its onset, updates and the end) is the same.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from analytics.detections import Boxes
from analytics.static_objects import StaticBlob, box_iou

# A box in this frame continues a pile of an earlier one when they overlap at least this much.
MATCH_IOU = 0.3


class DetectedPiles:
    """Matches each frame's trash boxes to the piles already seen, by overlap.

    A pile keeps its onset while it is found again within ``miss_s``; a detector that misses it
    for a frame or two does not restart its clock. A pile not seen for ``miss_s`` is forgotten.
    """

    def __init__(self, zone_polygon: npt.NDArray[np.float64], miss_s: float) -> None:
        self.zone_polygon = zone_polygon  # 0-1 image coordinates
        self.miss_s = miss_s
        self.piles: dict[int, StaticBlob] = {}
        self._next_id = 1

    def update(self, boxes: Boxes, now_ts: float, image_size: tuple[int, int]) -> list[StaticBlob]:
        """Follow this frame's boxes (pixels of an image of ``image_size``); returns the piles seen now."""
        zone_area = _polygon_area(self.zone_polygon * np.asarray(image_size, np.float64))
        seen: list[StaticBlob] = []
        free = dict(self.piles)
        for box in sorted(boxes.tolist(), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True):
            xyxy = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
            area = (xyxy[2] - xyxy[0]) * (xyxy[3] - xyxy[1])
            match = max(free.values(), key=lambda p: box_iou(p.xyxy, xyxy), default=None)
            fraction = area / zone_area if zone_area > 0 else 0.0
            if match is not None and box_iou(match.xyxy, xyxy) >= MATCH_IOU:
                del free[match.blob_id]
                pile = replace(match, last_ts=now_ts, xyxy=xyxy, area_px=area, zone_fraction=fraction)
            else:
                pile = StaticBlob(self._next_id, now_ts, now_ts, xyxy, area, fraction)
                self._next_id += 1
            self.piles[pile.blob_id] = pile
            seen.append(pile)
        for pile in free.values():
            if now_ts - pile.last_ts > self.miss_s:
                del self.piles[pile.blob_id]
        return seen


def _polygon_area(points: npt.NDArray[np.float64]) -> float:
    """Area of a simple polygon (shoelace formula)."""
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)
