"""A trained water segmentation model (the flood rule's ``model`` slot) measured on the WATSEN frames.

The labelled frames are for evaluation only: a model trained on them must never ship. So that a
model's figures are comparable with the dry-road model's (:mod:`analytics.evaluation.flood`), the
frames are split the same way (in time order: even-indexed frames to train on, odd-indexed ones
held out), and the same frame-level threshold and IoU (unlabelled pixels ignored) are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from analytics.detector import Detector
from analytics.evaluation.flood import DEFAULT_THRESHOLD, FrameResult, Scores, frames_in_time_order, read, scores

WATER = "water"
# Labelled water regions smaller than this many pixels are left out of the outlines.
MIN_REGION_PX = 50
# Outline simplification, in pixels: close to the hand-drawn edge, a few dozen vertices a region.
OUTLINE_TOLERANCE_PX = 2.0


@dataclass(frozen=True)
class SegmentationEvaluation:
    """A segmentation model's frame results and scores on the held-out (odd-indexed) frames."""

    weights: Path
    frames: list[FrameResult]
    held_out: Scores


def write_dataset(data_dir: Path, out_dir: Path) -> Path:
    """Write the frames as a one-class (``water``) YOLO segmentation dataset; returns its ``data.yaml``.

    Even-indexed frames (time order) go to ``train``, odd-indexed ones to ``val``; dry frames get an
    empty label file (negatives).
    """
    for split in ("train", "val"):
        (out_dir / split / "images").mkdir(parents=True, exist_ok=True)
        (out_dir / split / "labels").mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(frames_in_time_order(data_dir)):
        image, water, _ = _labelled(path)
        split = "train" if index % 2 == 0 else "val"
        cv2.imwrite(str(out_dir / split / "images" / f"{path.stem}.jpg"), image)
        lines = [f"0 {' '.join(f'{v:.4f}' for v in outline.ravel())}" for outline in water_outlines(water)]
        (out_dir / split / "labels" / f"{path.stem}.txt").write_text("\n".join(lines), encoding="utf-8")
    data = out_dir / "data.yaml"
    data.write_text(f"path: {out_dir.resolve()}\ntrain: train/images\nval: val/images\nnames: [{WATER}]\n")
    return data


def water_outlines(water: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.float64]]:
    """The outlines of a water mask's regions, in 0-1 image coordinates, for YOLO segmentation labels."""
    height, width = water.shape
    contours, _ = cv2.findContours(water.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        if cv2.contourArea(contour) < MIN_REGION_PX:
            continue
        points = cv2.approxPolyDP(contour, OUTLINE_TOLERANCE_PX, True).reshape(-1, 2).astype(np.float64)
        if len(points) >= 3:
            outlines.append(points / (width, height))
    return outlines


def evaluate_segmentation(weights: Path, data_dir: Path, *, imgsz: int = 640) -> SegmentationEvaluation:
    """Run the model on the held-out frames; score them as the dry-road model's evaluation does."""
    detector = Detector(weights)
    results = []
    for path in frames_in_time_order(data_dir)[1::2]:
        image, water, labelled = _labelled(path)
        (found,) = detector.detect([image], imgsz=imgsz, confidence=0.25)
        predicted = np.zeros(water.shape, np.uint8)
        outlines = [np.round(p).astype(np.int32) for p in found.outlines or () if len(p) >= 3]
        if outlines:
            cv2.fillPoly(predicted, outlines, 1)
        hit = predicted > 0
        union = int((labelled & (hit | water)).sum())
        iou = float((labelled & hit & water).sum()) / union if water.any() and union else None
        results.append(FrameResult(path.stem, float(hit.mean()), float(water.mean()), iou))
    return SegmentationEvaluation(weights, results, scores("odd (held out)", results, DEFAULT_THRESHOLD))


def _labelled(path: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """A frame, its water mask and where it is labelled at all (water, or blue: labelled not water)."""
    image = read(path, cv2.IMREAD_COLOR)
    labels = read(path.with_name(f"{path.stem}_mask.tiff"), cv2.IMREAD_UNCHANGED)
    if image is None or labels is None:
        raise FileNotFoundError(f"cannot read {path} or its mask")
    water: npt.NDArray[np.bool_] = labels[..., 1] > 0  # read as BGR: index 1 is green
    return image, water, water | (labels[..., 0] > 0)


def report(evaluation: SegmentationEvaluation) -> str:
    """One line of figures, in the dry-road model's table format."""
    s = evaluation.held_out
    return (
        f"segmentation model {evaluation.weights}: {s.frames} held-out frames, threshold {s.threshold:.3f}: "
        f"precision {s.precision:.2f} recall {s.recall:.2f} F1 {s.f1:.2f} mean IoU {s.mean_iou:.2f} "
        f"(TP {s.true_positives} FP {s.false_positives} FN {s.false_negatives})"
    )
