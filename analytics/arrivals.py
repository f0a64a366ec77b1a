"""Which person and vehicle boxes came there moving, and which appeared where they stand.

A parked car or a standing person arrived: over the frames before it stopped its box came from
elsewhere. A bag that the detector takes for a car (a small, dark object far from the camera is
often called one) appears where it lies and never moved. The dumping rule lets only the first
kind explain a new static object away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.detections import Boxes

# A box continues a path when its centre lies within this many box sizes (the smaller of the two)
# of the path's last centre (a car braking to a stop moves about its own length between two
# looks), and the two sizes differ by at most this ratio: a bag is not the bus that passed it.
LINK_SIZES = 1.5
LINK_SIZE_RATIO = 1.5
# A path whose centre lies this many box sizes or more from where it was first seen has moved.
MOVED_SIZES = 0.5


@dataclass
class _Path:
    first: npt.NDArray[np.float64]  # centre when first seen
    centre: npt.NDArray[np.float64]
    size: float  # the larger side of the newest box
    last_ts: float


class Arrivals:
    """Follows boxes from look to look; a path unseen for ``miss_s`` ends.

    With track ids (the camera's tracker, which sees every analysed frame and predicts motion),
    a path is a track. Without, boxes are linked to the nearest path of a similar size, which a
    box passing close by can mislead in dense traffic.
    """

    def __init__(self, miss_s: float) -> None:
        self.miss_s = miss_s
        self._paths: list[_Path] = []
        self._tracks: dict[int, _Path] = {}

    def update(
        self, boxes: Boxes, now_ts: float, track_ids: npt.NDArray[np.int64] | None = None
    ) -> npt.NDArray[np.bool_]:
        """Follow this look's boxes; for each, whether it came there moving.

        A box without a track (id below zero) has no known path: it counts as not arrived.
        """
        centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
        sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        if track_ids is not None:
            return self._by_track(centres.astype(np.float64), sizes, track_ids, now_ts)
        self._paths = [p for p in self._paths if now_ts - p.last_ts <= self.miss_s]
        pairs = sorted(
            (float(np.hypot(*(centre - path.centre))), b, p)
            for b, centre in enumerate(centres.astype(np.float64))
            for p, path in enumerate(self._paths)
        )
        matched: dict[int, int] = {}
        taken: set[int] = set()
        for distance, b, p in pairs:
            small, large = sorted((self._paths[p].size, float(sizes[b])))
            if b in matched or p in taken or distance > LINK_SIZES * small or large > LINK_SIZE_RATIO * small:
                continue
            matched[b] = p
            taken.add(p)
        moved = np.zeros(len(boxes), np.bool_)
        for b, centre in enumerate(centres.astype(np.float64)):
            size = float(sizes[b])
            if b in matched:
                path = self._paths[matched[b]]
                path.centre, path.size, path.last_ts = centre, size, now_ts
            else:
                path = _Path(centre, centre, size, now_ts)
                self._paths.append(path)
            moved[b] = np.hypot(*(centre - path.first)) >= MOVED_SIZES * size
        return moved

    def _by_track(
        self,
        centres: npt.NDArray[np.float64],
        sizes: npt.NDArray[np.float32],
        ids: npt.NDArray[np.int64],
        now_ts: float,
    ) -> npt.NDArray[np.bool_]:
        self._tracks = {k: p for k, p in self._tracks.items() if now_ts - p.last_ts <= self.miss_s}
        moved = np.zeros(len(centres), np.bool_)
        for index, (centre, size, track) in enumerate(zip(centres, sizes.tolist(), ids.tolist(), strict=True)):
            if track < 0:
                continue
            path = self._tracks.setdefault(track, _Path(centre, centre, size, now_ts))
            path.centre, path.size, path.last_ts = centre, size, now_ts
            moved[index] = np.hypot(*(centre - path.first)) >= MOVED_SIZES * size
        return moved
