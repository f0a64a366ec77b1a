"""Evidence images: the frame with zones and boxes drawn, encoded as JPEG."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from analytics.detections import Detections
from analytics.zones import Zone
from core.messages import Image

_ZONE = (0, 200, 255)
_ZONE_HOT = (0, 0, 255)
_BOX = (60, 220, 60)
_BOX_HOT = (0, 140, 255)


def draw(
    image: Image,
    detections: Detections,
    zones: Sequence[Zone],
    *,
    highlight_zone: str | None = None,
    highlighted: Detections | None = None,
) -> Image:
    """A copy of ``image`` with zones, every box, and the boxes that triggered the event stand out."""
    canvas = image.copy()
    size = (image.shape[1], image.shape[0])
    thickness = max(1, round(max(size) / 640))
    for zone in zones:
        colour = _ZONE_HOT if zone.name == highlight_zone else _ZONE
        points = zone.pixel_polygon(size).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], isClosed=True, color=colour, thickness=thickness)
        x, y = points[0, 0]
        cv2.putText(canvas, zone.name, (int(x) + 3, int(y) + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    hot = {tuple(np.round(b).astype(int)) for b in highlighted.xyxy} if highlighted is not None else set()
    for box, name, conf in zip(detections.xyxy, detections.class_names, detections.confidence, strict=True):
        x1, y1, x2, y2 = (int(v) for v in np.round(box))
        colour = _BOX_HOT if (x1, y1, x2, y2) in hot else _BOX
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        label = f"{name} {conf:.2f}"
        cv2.putText(canvas, label, (x1, max(10, y1 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
    return canvas


def encode_jpeg(image: Image, quality: int = 85) -> bytes:
    """JPEG bytes of a BGR image."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the image could not be encoded as JPEG")
    return bytes(buffer.tobytes())
