"""The object detector: an ultralytics YOLO model (OpenVINO, ONNX or PyTorch) over BGR frames."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from analytics.detections import Detections
from core.messages import Image

logger = logging.getLogger(__name__)


class Detector:
    """Wraps one loaded model; ultralytics chooses the backend from the weights' format."""

    def __init__(self, weights: Path, *, task: str = "detect") -> None:
        from ultralytics import YOLO  # type: ignore[attr-defined]  # heavy: import only in the process that detects

        self.weights = weights
        self.model = YOLO(str(weights), task=task)
        self.names: dict[int, str] = dict(self.model.names)
        self.last_inference_ms = 0.0

    def warm_up(self, imgsz: int = 640) -> None:
        """Run once so the first real frame is not slow (graph compilation, allocation)."""
        import numpy as np

        self.detect([np.zeros((imgsz, imgsz, 3), np.uint8)], imgsz=imgsz)

    def detect(self, images: Sequence[Image], *, imgsz: int = 640, confidence: float = 0.3) -> list[Detections]:
        """Detections for each image, in order."""
        start = time.perf_counter()
        results = self.model.predict(list(images), imgsz=imgsz, conf=confidence, verbose=False)
        self.last_inference_ms = (time.perf_counter() - start) * 1000 / max(len(images), 1)
        return [Detections.from_ultralytics(r) for r in results]
