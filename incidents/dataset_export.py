"""Reviewed incidents as a YOLO detection dataset: confirmed ones labelled, false alarms as hard negatives.

The layout is the one ``matakota models dataset`` checks and ``matakota models train`` reads::

    OUT/train/images/incident-12.jpg   OUT/train/labels/incident-12.txt
    OUT/val/images/...                 OUT/val/labels/...
    OUT/data.yaml                      (path, train, val, names)

Each image is the undrawn frame kept when the incident opened (evidence kind ``frame``). Dumped
objects are labelled with boxes (``class cx cy w h``, 0-1); a flood with its water outline
(``class x1 y1 x2 y2 ...``) when the rule stored one, else the box around the water. Detector
training reads an outline as its box; ``matakota models train --task segment`` on a flood-only
export trains a water segmentation model for the flood rule's ``model`` slot.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from core.errors import MataKotaError
from incidents.evidence import EvidenceStore
from incidents.models import EvidenceKind, EvidenceStatus, Incident, ReviewVerdict
from incidents.reviews import reviewed_incidents

# The class each exportable incident kind labels, in class-id order.
LABEL_CLASSES: dict[str, str] = {"dumping": "trash", "flood": "water"}
SPLITS = ("train", "val")


class DatasetExportError(MataKotaError):
    """The export cannot be made (bad arguments, an output folder in use, too few images)."""


@dataclass(frozen=True)
class _Item:
    incident_id: int
    image: Path
    lines: tuple[str, ...]  # empty for a hard negative


@dataclass
class ExportSummary:
    """What an export wrote and what it left out, and why."""

    out_dir: Path
    names: tuple[str, ...]
    positives: int = 0
    negatives: int = 0
    boxes: int = 0
    per_split: dict[str, int] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def data_yaml(self) -> Path:
        """The dataset's ``data.yaml``."""
        return self.out_dir / "data.yaml"

    def text(self) -> str:
        """The summary in a few lines, for the command line."""
        splits = ", ".join(f"{split} {self.per_split.get(split, 0)}" for split in SPLITS)
        lines = [
            f"{self.data_yaml}: classes {', '.join(self.names)}",
            f"positives {self.positives} ({self.boxes} boxes), hard negatives {self.negatives}; {splits}",
            f"skipped {sum(self.skipped.values())}" + (":" if self.skipped else ""),
        ]
        lines += [f"  {count} {reason}" for reason, count in sorted(self.skipped.items())]
        return "\n".join(lines)


def export_dataset(
    out_dir: Path,
    *,
    session: Session,
    store: EvidenceStore,
    kinds: Sequence[str] = tuple(LABEL_CLASSES),
    since: datetime | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> ExportSummary:
    """Write the reviewed incidents of ``kinds`` as a YOLO dataset in ``out_dir`` (new or empty).

    Each incident counts by its latest review. Incidents without a readable raw frame, and confirmed
    ones whose details hold no location to label, are skipped and counted by reason.

    Raises:
        DatasetExportError: for an unknown kind, a bad ``val_fraction``, a non-empty ``out_dir``, or
            fewer than two usable incidents (both splits need an image).
    """
    chosen = _check_arguments(out_dir, kinds, val_fraction)
    names = tuple(LABEL_CLASSES[kind] for kind in LABEL_CLASSES if kind in chosen)
    summary = ExportSummary(out_dir=out_dir.resolve(), names=names)
    items: list[_Item] = []
    for incident, review in reviewed_incidents(session=session, kinds=sorted(chosen), since=since):
        item, reason = _item(incident, review.verdict, store, names)
        if item is None:
            summary.skipped[reason] += 1
        else:
            items.append(item)
    if len(items) < len(SPLITS):
        raise DatasetExportError(
            f"only {len(items)} usable reviewed incident(s) of {', '.join(sorted(chosen))}: "
            f"train and val need one image each ({sum(summary.skipped.values())} skipped)"
        )
    for split, members in _split(items, val_fraction, seed).items():
        _write_split(summary.out_dir / split, members)
        summary.per_split[split] = len(members)
    summary.positives = sum(1 for item in items if item.lines)
    summary.negatives = len(items) - summary.positives
    summary.boxes = sum(len(item.lines) for item in items)
    content: dict[str, Any] = {"path": str(summary.out_dir), "train": "train/images", "val": "val/images"}
    content["names"] = dict(enumerate(names))
    summary.data_yaml.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return summary


def _check_arguments(out_dir: Path, kinds: Sequence[str], val_fraction: float) -> set[str]:
    unknown = sorted(set(kinds) - set(LABEL_CLASSES))
    if unknown or not kinds:
        raise DatasetExportError(
            f"cannot export kind(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(LABEL_CLASSES)}"
        )
    if not 0.0 < val_fraction < 1.0:
        raise DatasetExportError(f"val fraction {val_fraction} must lie between 0 and 1")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DatasetExportError(f"{out_dir} exists and is not an empty folder: choose a new one")
    return set(kinds)


def _item(
    incident: Incident, verdict: ReviewVerdict, store: EvidenceStore, names: tuple[str, ...]
) -> tuple[_Item | None, str]:
    """The incident as a dataset item, or None and the reason it is skipped."""
    frame = incident.latest_evidence(EvidenceKind.FRAME)
    if frame is None:
        return None, "no raw frame (recorded before raw frames were kept)"
    if frame.status != EvidenceStatus.READY:
        return None, f"raw frame {frame.status}"
    try:
        image = store.path_for(frame.path)
    except ValueError:
        return None, "raw frame path outside the evidence directory"
    if not image.is_file():
        return None, "raw frame file missing"
    if verdict == ReviewVerdict.FALSE_POSITIVE:
        return _Item(incident.id, image, ()), ""
    class_id = names.index(LABEL_CLASSES[incident.kind])
    outline = label_outline(incident.kind, incident.details)
    if outline:
        lines: tuple[str, ...] = (f"{class_id} {' '.join(f'{x:.6f} {y:.6f}' for x, y in outline)}",)
    else:
        lines = tuple(f"{class_id} {_yolo_box(box)}" for box in label_boxes(incident.kind, incident.details))
    if not lines:
        return None, "confirmed, but its details hold no box to label"
    return _Item(incident.id, image, lines), ""


def label_boxes(kind: str, details: dict[str, Any]) -> list[tuple[float, float, float, float]]:
    """The 0-1 ``x1, y1, x2, y2`` boxes to label in the incident's raw frame, from its rule's details.

    Dumping: the piles seen in the START frame (``start_boxes_norm``), else every pile's ``box_norm``;
    flood: the box around the water in the START frame (``start_water_box_norm``), else ``water_box_norm``.
    Boxes that are malformed or empty are dropped.
    """
    if kind == "dumping":
        raw: Any = details.get("start_boxes_norm") or [p.get("box_norm") for p in details.get("piles", [])]
        if not raw and details.get("box_norm"):
            raw = [details["box_norm"]]
    elif kind == "flood":
        box = details.get("start_water_box_norm") or details.get("water_box_norm")
        raw = [box] if box else []
    else:
        raw = []
    boxes = []
    for box in raw if isinstance(raw, list) else []:
        if not isinstance(box, list | tuple) or len(box) != 4:
            continue
        try:
            x1, y1, x2, y2 = (min(1.0, max(0.0, float(v))) for v in box)
        except (TypeError, ValueError):
            continue
        if x2 > x1 and y2 > y1:
            boxes.append((x1, y1, x2, y2))
    return boxes


def label_outline(kind: str, details: dict[str, Any]) -> list[tuple[float, float]]:
    """A flood's water outline in its START frame (``start_water_polygon``, else ``water_polygon``), in 0-1.

    Empty for other kinds, and for an outline that is malformed or has fewer than 3 points.
    """
    if kind != "flood":
        return []
    raw = details.get("start_water_polygon") or details.get("water_polygon")
    if not isinstance(raw, list) or len(raw) < 3:
        return []
    points = []
    for point in raw:
        if not isinstance(point, list | tuple) or len(point) != 2:
            return []
        try:
            points.append((min(1.0, max(0.0, float(point[0]))), min(1.0, max(0.0, float(point[1])))))
        except (TypeError, ValueError):
            return []
    return points


def _yolo_box(box: tuple[float, float, float, float]) -> str:
    x1, y1, x2, y2 = box
    return f"{(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}"


def _split(items: list[_Item], val_fraction: float, seed: int) -> dict[str, list[_Item]]:
    """Positives and negatives shuffled apart into train and val, so both splits get some of each."""
    rng = random.Random(seed)
    train: list[_Item] = []
    val: list[_Item] = []
    for group in ([i for i in items if i.lines], [i for i in items if not i.lines]):
        rng.shuffle(group)
        cut = round(len(group) * val_fraction)
        val += group[:cut]
        train += group[cut:]
    # Either split may come out empty for tiny sets; one image moves over so both can be checked.
    if not val:
        val.append(train.pop())
    elif not train:
        train.append(val.pop())
    return {"train": train, "val": val}


def _write_split(folder: Path, items: list[_Item]) -> None:
    images, labels = folder / "images", folder / "labels"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for item in sorted(items, key=lambda i: i.incident_id):
        name = f"incident-{item.incident_id}"
        shutil.copyfile(item.image, images / f"{name}.jpg")
        (labels / f"{name}.txt").write_text("".join(f"{line}\n" for line in item.lines), encoding="utf-8")
