"""Each camera's current detections, published for the camera wall to draw over the live video.

After a camera's frame is analysed, :class:`LiveDetections` writes its boxes to
``<data_dir>/live/<camera_id>.json`` (at most every :data:`PUBLISH_INTERVAL_S` a camera), replacing the
file atomically (temp file, then rename) so the API never reads half of one. The API answers them at
``GET /api/cameras/{camera_id}/detections``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analytics.detections import Detections
from analytics.tracking import UNTRACKED

logger = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.5


def detections_file(directory: Path, camera_id: str) -> Path:
    """Where a camera's current detections are published."""
    return directory / f"{camera_id}.json"


def to_json(camera_id: str, detections: Detections, at: float) -> dict[str, Any]:
    """The published form: boxes in 0-1 image coordinates with their class, confidence and track."""
    width, height = detections.image_size
    scale = np.array([width, height, width, height], np.float64) if width > 0 and height > 0 else np.inf
    normalised = np.clip(detections.xyxy / scale, 0.0, 1.0).round(4).tolist()
    confidences = detections.confidence.astype(np.float64).round(3).tolist()
    tracks: list[int | None] = [None] * len(detections)
    if detections.track_id is not None:  # a detection the tracker kept no track for has UNTRACKED (-1): null
        tracks = [track if track != UNTRACKED else None for track in detections.track_id.tolist()]
    names = detections.names
    boxes = [
        {"box": box, "class": names.get(class_id, str(class_id)), "confidence": confidence, "track_id": track}
        for box, class_id, confidence, track in zip(
            normalised, detections.class_id.tolist(), confidences, tracks, strict=True
        )
    ]
    return {"camera_id": camera_id, "at": at, "width": width, "height": height, "boxes": boxes}


class LiveDetections:
    """Writes each camera's newest detections, at most every ``interval_s`` per camera; never raises."""

    def __init__(
        self,
        directory: Path,
        interval_s: float = PUBLISH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}  # camera id -> clock reading of its last write
        self._failed = False  # a failure is logged once; publishing keeps trying

    def publish(self, camera_id: str, detections: Detections) -> bool:
        """Write the camera's detections unless it was written less than ``interval_s`` ago; True if written."""
        now = self._clock()
        last = self._last.get(camera_id)
        if last is not None and now - last < self.interval_s:
            return False
        self._last[camera_id] = now
        try:
            self._write(camera_id, to_json(camera_id, detections, time.time()))
        except Exception:  # the live overlay is a convenience: analytics must go on without it
            if not self._failed:
                logger.exception("%s: cannot publish live detections to %s", camera_id, self.directory)
                self._failed = True
            return False
        return True

    def _write(self, camera_id: str, body: dict[str, Any]) -> None:
        target = detections_file(self.directory, camera_id)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            temp.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
        except FileNotFoundError:
            self.directory.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
        temp.replace(target)  # os.replace: atomic, readers see the old file or the new one
