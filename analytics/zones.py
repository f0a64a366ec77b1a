"""Zones: polygons in 0-1 image coordinates; an object is inside when its box's bottom-centre is."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from analytics.detections import Detections
from core.config import ZoneConfig


class Zone:
    """A configured zone, able to test detections of any image size."""

    def __init__(self, config: ZoneConfig) -> None:
        self.name = config.name
        self.kind = config.kind
        self.polygon = np.asarray(config.polygon, dtype=np.float64)
        self.calibration = config.calibration  # ground points in metres, for speeds

    def contains_points(self, points: npt.NDArray[np.floating], image_size: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """Which (N, 2) pixel points lie inside (even-odd ray casting; edges count as inside)."""
        width, height = image_size
        px = points[:, 0:1] / width
        py = points[:, 1:2] / height
        x1, y1 = self.polygon[:, 0], self.polygon[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside: npt.NDArray[np.bool_] = np.logical_and(crosses, px < x_at).sum(axis=1) % 2 == 1
        return inside | self._on_edge(px, py, x1, y1, x2, y2)

    @staticmethod
    def _on_edge(
        px: npt.NDArray[np.floating],
        py: npt.NDArray[np.floating],
        x1: npt.NDArray[np.floating],
        y1: npt.NDArray[np.floating],
        x2: npt.NDArray[np.floating],
        y2: npt.NDArray[np.floating],
    ) -> npt.NDArray[np.bool_]:
        cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
        within = (np.minimum(x1, x2) - 1e-9 <= px) & (px <= np.maximum(x1, x2) + 1e-9)
        within &= (np.minimum(y1, y2) - 1e-9 <= py) & (py <= np.maximum(y1, y2) + 1e-9)
        on_edge: npt.NDArray[np.bool_] = np.any((np.abs(cross) < 1e-9) & within, axis=1)
        return on_edge

    def filter(self, detections: Detections) -> Detections:
        """The detections whose bottom-centre is in this zone."""
        if len(detections) == 0:
            return detections
        return detections.filter(self.contains_points(detections.bottom_centers(), detections.image_size))

    def pixel_polygon(self, image_size: tuple[int, int]) -> npt.NDArray[np.int32]:
        """The polygon in pixels of an image of ``image_size`` (w, h), for drawing."""
        scale = np.array(image_size, dtype=np.float64)
        return np.round(self.polygon * scale).astype(np.int32)
