"""YOLO-format datasets (boxes, or outlines for segmentation): check image and label folders, write ``data.yaml``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import MataKotaError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
CLASS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
_SPLITS = {"train": ("train",), "val": ("valid", "val"), "test": ("test",)}
_SHOWN = 3


class DatasetError(MataKotaError):
    """A dataset or its ``data.yaml`` is unusable; the message says why."""


@dataclass(frozen=True)
class Dataset:
    """A checked dataset: absolute image folders per split and the class names by id."""

    train: tuple[Path, ...]
    val: tuple[Path, ...]
    names: tuple[str, ...]
    images: int
    boxes: int  # labelled objects, boxes and outlines together
    outlines: int = 0  # of which are polygons (``class x1 y1 x2 y2 x3 y3 ...``), for segmentation

    def as_yaml(self) -> dict[str, Any]:
        """The ``data.yaml`` content ultralytics reads, with absolute folders and nothing else."""
        return {
            "train": [str(p) for p in self.train],
            "val": [str(p) for p in self.val],
            "nc": len(self.names),
            "names": dict(enumerate(self.names)),
        }


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """The class names, once each is known to be a plain, unique label.

    Raises:
        DatasetError: for no names, a duplicate, or a name with characters other than letters, digits, `` _.-``.
    """
    if not names:
        raise DatasetError("no class names given")
    for name in names:
        if not isinstance(name, str) or not CLASS_NAME.match(name):
            raise DatasetError(f"bad class name {name!r}: use letters, digits, spaces, '_', '.', '-'")
    duplicates = sorted({n for n in names if list(names).count(n) > 1})
    if duplicates:
        raise DatasetError(f"class names appear twice: {', '.join(duplicates)}")
    return tuple(names)


def label_path(image: Path) -> Path:
    """Where ultralytics looks for an image's label file: the last ``images`` folder becomes ``labels``."""
    parts = list(image.parts)
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        parts[index] = "labels"
    return Path(*parts).with_suffix(".txt")


def check_split(folder: Path, classes: int) -> tuple[int, int]:
    """Count the images and labelled objects of one image folder after checking every label file.

    Raises:
        DatasetError: when the folder has no images, an image has no label file, a label file has no image,
            or a label line is neither ``class x y w h`` nor ``class x1 y1 x2 y2 x3 y3 ...`` with a known
            class id and coordinates in 0-1.
    """
    images, objects, _ = _check_split(folder, classes)
    return images, objects


def _check_split(folder: Path, classes: int) -> tuple[int, int, int]:
    if not folder.is_dir():
        raise DatasetError(f"image folder {folder} does not exist")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DatasetError(f"image folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    labels = {label_path(image) for image in images}
    unlabelled = [image.name for image in images if not label_path(image).is_file()]
    if unlabelled:
        raise DatasetError(f"{len(unlabelled)} image(s) in {folder} have no label file, e.g. {unlabelled[:_SHOWN]}")
    label_folder = label_path(images[0]).parent
    orphans = sorted(p.name for p in label_folder.glob("*.txt") if p not in labels and label_folder != folder)
    if orphans:
        raise DatasetError(f"{len(orphans)} label file(s) in {label_folder} have no image, e.g. {orphans[:_SHOWN]}")
    counts = [_check_label(label, classes) for label in sorted(labels)]
    return len(images), sum(c[0] for c in counts), sum(c[1] for c in counts)


def _check_label(label: Path, classes: int) -> tuple[int, int]:
    """The objects of one label file, and how many of them are outlines."""
    boxes = outlines = 0
    for number, line in enumerate(label.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            class_id, coords = int(fields[0]), [float(f) for f in fields[1:]]
        except (ValueError, IndexError) as err:
            raise DatasetError(f"{label}:{number}: not 'class x y w h': {line!r}") from err
        outline = len(coords) >= 6 and len(coords) % 2 == 0
        if not (len(coords) == 4 or outline) or not all(0.0 <= c <= 1.0 for c in coords):
            raise DatasetError(
                f"{label}:{number}: want 4 coordinates (a box) or 3 or more x y pairs (an outline) in 0-1 "
                f"after the class id: {line!r}"
            )
        if not 0 <= class_id < classes:
            raise DatasetError(f"{label}:{number}: class id {class_id} but only {classes} class name(s) are given")
        boxes += 1
        outlines += int(outline)
    return boxes, outlines


def _split_folder(root: Path, split: str) -> Path | None:
    for candidate in _SPLITS[split]:
        if (root / candidate / "images").is_dir():
            return root / candidate / "images"
    return None


def make_data_yaml(root: Path, out_dir: Path, names: Sequence[str]) -> Path:
    """Write ``out_dir/data.yaml`` for a dataset laid out as ``root/{train,valid|val,test}/{images,labels}``.

    The dataset is only read; the yaml points at its folders by absolute path, so ``out_dir`` may be
    anywhere writable (the cache) while ``root`` stays read-only. ``test`` is optional.

    Raises:
        DatasetError: when a required split is missing, images and labels do not match, or a name is bad.
    """
    class_names = check_names(names)
    root = root.resolve()
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    content: dict[str, Any] = {"path": str(root)}
    for split in _SPLITS:
        folder = _split_folder(root, split)
        if folder is None:
            if split == "test":
                continue
            wanted = " or ".join(f"{root / c / 'images'}" for c in _SPLITS[split])
            raise DatasetError(f"dataset {root} has no {split} split: expected {wanted}")
        check_split(folder, len(class_names))
        content[split] = str(folder.relative_to(root))
    content["names"] = dict(enumerate(class_names))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "data.yaml"
    target.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def load_data_yaml(path: Path) -> Dataset:
    """Read and check a ``data.yaml`` (train and val image folders, class names) and the labels it points at.

    A relative ``path`` key, or none, means the yaml's own folder.

    Raises:
        DatasetError: for a missing or malformed file, bad class names, or images and labels that do not match.
    """
    if not path.is_file():
        raise DatasetError(f"data file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DatasetError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise DatasetError(f"{path} must be a mapping with train, val and names")
    missing = [key for key in ("train", "val", "names") if key not in raw]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}")
    names = check_names(_names_list(path, raw["names"]))
    base = Path(raw.get("path") or ".")
    base = base if base.is_absolute() else (path.parent / base).resolve()
    folders: dict[str, tuple[Path, ...]] = {}
    images = boxes = outlines = 0
    for split in ("train", "val"):
        entries = raw[split] if isinstance(raw[split], list) else [raw[split]]
        if not entries or not all(isinstance(e, str) for e in entries):
            raise DatasetError(f"{path}: {split} must name one or more image folders")
        folders[split] = tuple(p if p.is_absolute() else base / p for p in map(Path, entries))
        for folder in folders[split]:
            counted = _check_split(folder, len(names))
            images, boxes, outlines = images + counted[0], boxes + counted[1], outlines + counted[2]
    return Dataset(folders["train"], folders["val"], names, images, boxes, outlines)


def _names_list(path: Path, names: object) -> list[str]:
    if isinstance(names, list):
        return names
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        return [names[i] for i in range(len(names))]
    raise DatasetError(f"{path}: names must be a list, or a mapping of ids 0, 1, 2, ... to names")
