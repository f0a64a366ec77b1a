"""Multi-object tracking with ByteTrack (ultralytics' implementation) over our :class:`Detections`.

Every detection keeps its box and its place; the tracker only gives it an id. A detection the
tracker holds no track for gets :data:`UNTRACKED` (-1): a low-confidence box that matched no track,
a degenerate box, and, above :data:`CONFIRM_ABOVE_FPS`, a new object until it is seen a second
time. Rules that need tracks skip ids below zero; rules that count boxes still see every detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.detections import Detections
from core.messages import Image

UNTRACKED = -1

# A lost object keeps its id this long (not a number of frames, so it holds at any analysis rate):
# long enough for a car passing behind a bus or a lamp post, short enough that a new car in the
# same lane does not inherit the id.
LOST_KEEP_S = 3.0
MIN_LOST_FRAMES = 5

# ultralytics' bytetrack.yaml, except ``match_thresh``. At 2-5 analysed frames a second a car
# moves a good part of its own length between frames, so its boxes on two frames overlap little;
# accepting a match up to a cost of 0.9 (rather than 0.8) and matching on widened boxes (below)
# keeps those ids, and the Kalman filter's velocity brings the prediction onto the box after the
# first match. Measured on a real motorway clip (30 s, YOLO11n int8), against bytetrack.yaml's 0.8
# on plain boxes: at 5 fps 90 tracks instead of 297, median length 13.5 frames instead of 2, and
# 86% of ids seen again on the next frame instead of 59%; at 2.5 fps 86 tracks instead of 300 and
# 69% instead of 18%.
BYTETRACK_ARGS: dict[str, Any] = {
    "tracker_type": "bytetrack",
    "track_high_thresh": 0.25,
    "track_low_thresh": 0.1,
    "new_track_thresh": 0.25,
    "match_thresh": 0.9,
    "fuse_score": True,
}

# Boxes are matched widened by this share of their width and height on every side (the
# "buffered IoU" of C-BIoU), so a car that moved beyond its own box still overlaps its track.
MATCH_BUFFER = 0.5


@dataclass(frozen=True)
class _Boxes:
    """The view of detections that ultralytics' trackers read: ``xywh``, ``xyxy``, ``conf``, ``cls``."""

    xyxy: npt.NDArray[np.float32]
    conf: npt.NDArray[np.float32]
    cls: npt.NDArray[np.float32]

    @property
    def xywh(self) -> npt.NDArray[np.float32]:
        """Centre x, centre y, width, height."""
        wh = self.xyxy[:, 2:4] - self.xyxy[:, 0:2]
        return np.concatenate([self.xyxy[:, 0:2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index], self.cls[index])


def _widened(xyxy: npt.NDArray[np.float32], buffer: float) -> npt.NDArray[np.float32]:
    """Boxes grown by ``buffer`` times their width and height on every side."""
    wh = xyxy[:, 2:4] - xyxy[:, 0:2]
    pad = np.concatenate([wh, wh], axis=1) * buffer
    return (xyxy + pad * np.array([-1, -1, 1, 1], np.float32)).astype(np.float32)


# ByteTrack confirms a new track only when it is matched again on the next frame. At a few frames
# a second that second match often fails (no velocity yet) and an object entering the picture is
# often past a counting line by then, so its position before the line is lost. Below this rate new
# tracks hold their id from their first frame. Measured on a real motorway clip (30 s, one
# carriageway): 22 crossings at 25 fps with confirmation; at 5 fps 14 with confirmation and 22
# without (the same vehicles, within 0.2 s); at 2.5 fps 4 and 17. At 25 fps, without confirmation
# the id switches it lets through added 5 double counts, so confirmation stays on there.
CONFIRM_ABOVE_FPS = 10.0


def _bytetrack(args: SimpleNamespace, *, confirm_new: bool) -> Any:
    """ultralytics' ByteTrack; with ``confirm_new`` false, new tracks hold their id from their first frame."""
    from ultralytics.trackers.byte_tracker import BYTETracker  # heavy: only the analytics process tracks

    class _ByteTrack(BYTETracker):
        def _init_new_tracks(self, u_detection: Any, detections: Any, activated: Any, refind: Any = None) -> None:
            super()._init_new_tracks(u_detection, detections, activated, refind)
            if not confirm_new:
                for track in activated:
                    track.is_activated = True

    return _ByteTrack(args)  # type: ignore[no-untyped-call]


class Tracker:
    """ByteTrack for one camera; feed it every analysed frame of that camera, in order."""

    def __init__(self, frame_rate: float) -> None:
        """Set up the tracker.

        Args:
            frame_rate: Frames a second the camera is analysed at; sets how many frames a lost
                object keeps its id (:data:`LOST_KEEP_S`) and whether new tracks wait for a
                second sighting (:data:`CONFIRM_ABOVE_FPS`).
        """
        self.frame_rate = frame_rate
        args = SimpleNamespace(**BYTETRACK_ARGS, track_buffer=max(MIN_LOST_FRAMES, round(frame_rate * LOST_KEEP_S)))
        self._tracker = _bytetrack(args, confirm_new=frame_rate > CONFIRM_ABOVE_FPS)

    def update(self, detections: Detections, image: Image | None = None) -> Detections:
        """The same detections, in the same order, with ``track_id`` set (:data:`UNTRACKED` where there is no track).

        Args:
            detections: This frame's detections.
            image: The frame (unused by ByteTrack; kept so a tracker with camera-motion
                compensation can take its place).
        """
        boxes = _Boxes(
            _widened(detections.xyxy, MATCH_BUFFER), detections.confidence, detections.class_id.astype(np.float32)
        )
        tracks = self._tracker.update(boxes, image)
        ids = np.full(len(detections), UNTRACKED, np.int64)
        if len(tracks):
            ids[tracks[:, -1].astype(np.int64)] = tracks[:, 4].astype(np.int64)
        return Detections(
            detections.xyxy, detections.confidence, detections.class_id, detections.names, detections.image_size, ids
        )
