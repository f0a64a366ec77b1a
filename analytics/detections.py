"""The one typed container for detections; only ``from_ultralytics`` reads ultralytics' objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float32]
Polygon = npt.NDArray[np.float32]  # (K, 2) pixel (x, y) vertices of one instance's outline


@dataclass(frozen=True)
class Detections:
    """N boxes in pixel ``xyxy`` with confidences and class ids, for an image of ``image_size`` (w, h).

    ``outlines`` holds each instance's polygon when a segmentation model produced them.
    """

    xyxy: Boxes
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int32]
    names: Mapping[int, str]
    image_size: tuple[int, int]
    track_id: npt.NDArray[np.int64] | None = None  # set by a tracker; None when the camera is not tracked
    outlines: tuple[Polygon, ...] | None = None  # from a segmentation model; None for a detector
    _by_name: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.confidence.shape != (n,) or self.class_id.shape != (n,):
            raise ValueError("xyxy must be (N, 4) and confidence, class_id (N,)")
        if self.track_id is not None and self.track_id.shape != (n,):
            raise ValueError("track_id must be (N,) like the boxes")
        if self.outlines is not None and len(self.outlines) != n:
            raise ValueError("outlines must hold one polygon per box")
        object.__setattr__(self, "_by_name", {name: i for i, name in self.names.items()})

    @classmethod
    def empty(cls, names: Mapping[int, str], image_size: tuple[int, int]) -> Detections:
        """No detections."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), names, image_size)

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """Convert one ``ultralytics.engine.results.Results``."""
        boxes = result.boxes
        height, width = result.orig_shape
        masks = getattr(result, "masks", None)
        outlines = tuple(np.asarray(p, np.float32).reshape(-1, 2) for p in masks.xy) if masks is not None else None
        return cls(
            boxes.xyxy.cpu().numpy().astype(np.float32),
            boxes.conf.cpu().numpy().astype(np.float32),
            boxes.cls.cpu().numpy().astype(np.int32),
            dict(result.names),
            (int(width), int(height)),
            outlines=outlines,
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def filter(self, mask: npt.NDArray[np.bool_]) -> Detections:
        """The detections where ``mask`` is true."""
        tracks = self.track_id[mask] if self.track_id is not None else None
        outlines = None
        if self.outlines is not None:
            outlines = tuple(p for p, keep in zip(self.outlines, mask, strict=True) if keep)
        return Detections(
            self.xyxy[mask], self.confidence[mask], self.class_id[mask], self.names, self.image_size, tracks, outlines
        )

    def of_classes(self, names: Collection[str]) -> Detections:
        """The detections whose class name is in ``names`` (unknown names match nothing)."""
        ids = [self._by_name[n] for n in names if n in self._by_name]
        return self.filter(np.isin(self.class_id, ids))

    def bottom_centers(self) -> npt.NDArray[np.float32]:
        """(N, 2) bottom-centre points in pixels, where an object touches the ground."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @property
    def class_names(self) -> list[str]:
        """The class name of every detection."""
        return [self.names.get(int(i), str(int(i))) for i in self.class_id]

    def count_by_class(self) -> dict[str, int]:
        """How many detections of each class."""
        counts: dict[str, int] = {}
        for name in self.class_names:
            counts[name] = counts.get(name, 0) + 1
        return counts
