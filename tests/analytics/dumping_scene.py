"""A real street scene with a real photographed waste bag left on its pavement, for the dumping tests.

The footage (``bgslibrary-video.avi``, 640x360, a road with a pavement, cars passing) is read
once, every second frame kept and played forwards then backwards twice, so the scene lasts
50 s at 15 frames a second without a jump. The bag is cropped by its label box from a photo of
``eval/waste-bags-street`` and cloned onto the pavement at a fixed place. The footage and bag
handling is :mod:`analytics.evaluation.scenes`, which the dumping evaluation uses at length.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from analytics.evaluation import scenes
from core.messages import Image

FPS = 15.0
FOOTAGE = "bgslibrary-video.avi"
BAG_PHOTO = "test/images/Mixed_6_jpeg.rf.1f0584abd9d0496bf27669915ab82665.jpg"
BAG_WIDTH = 80
BAG_AT = (480, 270)  # top-left corner on the pavement, in pixels of the footage


@lru_cache(maxsize=1)
def _frames(assets_dir: Path) -> tuple[Image, ...]:
    kept = list(scenes.load_clip(assets_dir / "footage" / FOOTAGE).frames[::2])
    return tuple((kept + kept[::-1]) * 2)


def scene(assets_dir: Path) -> Iterator[tuple[float, Image]]:
    """(timestamp in seconds, BGR frame) of the untouched street."""
    for index, image in enumerate(_frames(assets_dir)):
        yield index / FPS, image


@lru_cache(maxsize=1)
def bag(assets_dir: Path) -> Image:
    """The photographed black bag, cropped by its label box and scaled to ``BAG_WIDTH``."""
    photo_path = assets_dir / scenes.BAGS / BAG_PHOTO
    photo = cv2.imread(str(photo_path))
    assert photo is not None, photo_path
    label = photo_path.parent.parent / "labels" / (photo_path.stem + ".txt")
    _, cx, cy, w, h = (float(v) for v in label.read_text().split()[:5])
    height, width = photo.shape[:2]
    x1, y1 = round((cx - w / 2) * width), round((cy - h / 2) * height)
    x2, y2 = round((cx + w / 2) * width), round((cy + h / 2) * height)
    return scenes.scaled(np.asarray(photo[y1:y2, x1:x2], np.uint8), BAG_WIDTH)


def paste(image: Image, patch: Image, at: tuple[int, int] = BAG_AT) -> Image:
    """``image`` with ``patch`` cloned in (Poisson blending) with its top-left corner at ``at``."""
    return scenes.paste(image, patch, at, blend="poisson")


def bag_box(assets_dir: Path, at: tuple[int, int] = BAG_AT) -> tuple[float, float, float, float]:
    """Where the pasted bag lies, ``xyxy`` in pixels of the footage."""
    return scenes.box_at(bag(assets_dir), at)
