"""The dumping rule measured on real street footage with real photographed waste bags pasted in.

Each trial takes a fixed-camera clip (looped into minutes of scene time), a bag cut from a
held-out labelled photo, a place in the clip's pavement region and a moment after the rule's
warm-up; the bag is pasted from that moment on and the rule runs as in production: the
production detector on every frame the rule sees (so people and vehicles explain blobs away),
one frame every ``interval_s`` of scene time, the rule's default times. Control runs play
the same clips untouched. Everything drawn comes from one seeded generator.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from analytics.detections import Detections
from analytics.evaluation.progress import Progress, quiet
from analytics.evaluation.scenes import (
    BAGS,
    STREET_FOOTAGE,
    BagCrop,
    Box,
    Clip,
    Footage,
    box_at,
    foreground,
    load_bags,
    load_clip,
    paste,
    scaled,
)
from analytics.rules.base import RuleEvent, RuleInput
from analytics.rules.dumping import COVERED_SHARE, DumpingRule
from analytics.static_objects import box_iou
from analytics.tracking import Tracker
from analytics.zones import Zone
from core.config import DetectConfig, DumpingRuleConfig, ZoneConfig
from core.messages import EventPhase, Image
from core.settings import Settings

ZONE = Zone(ZoneConfig(name="street", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)]))
# An incident is about the pasted bag when one of its piles overlaps the bag's box this much:
# "at the same place", loose on purpose; how well it is located is measured apart (mean IoU).
MATCH_IOU = 0.1
# A bag not reported within this share of min_static_s after it could first have been counts as
# missed (60 s at the default 5 minutes).
GRACE = 0.2
# The bag arrives this long after the rule's warm-up ends, in shares of min_static_s (30-90 s at
# the default 5 minutes), so the rule has seen traffic pass over the empty place first.
PLACE_AFTER_WARMUP = (0.1, 0.3)


class DetectFn(Protocol):
    """Detections of one frame (the production detector, or a stand-in)."""

    def __call__(self, image: Image) -> Detections: ...


@dataclass(frozen=True)
class Trial:
    """One bag left in one clip."""

    footage: Footage
    bag: BagCrop
    width_px: int
    at: tuple[int, int]
    placed_s: float


@dataclass(frozen=True)
class TrialResult:
    """What the rule did in one trial."""

    trial: Trial
    bag_box: Box
    detected: bool
    time_to_detect_s: float | None  # from the moment the bag was pasted to the START that found it
    iou: float | None  # of the incident's best-matching pile box with the pasted bag's box
    false_alarms: int  # STARTs about something else
    scene_s: float
    called_as: str | None = None  # what the detector took the pasted bag for in most frames, if anything


@dataclass(frozen=True)
class ControlResult:
    """The rule on one untouched clip."""

    footage: Footage
    scene_s: float
    false_alarms: int


@dataclass
class DumpingEvaluation:
    """All trials and control runs, with the figures over them."""

    trials: list[TrialResult] = field(default_factory=list)
    controls: list[ControlResult] = field(default_factory=list)

    @property
    def detected(self) -> int:
        """Trials whose bag was reported."""
        return sum(t.detected for t in self.trials)

    @property
    def false_alarms(self) -> int:
        """STARTs not about a pasted bag, over trials and controls."""
        return sum(t.false_alarms for t in self.trials) + sum(c.false_alarms for c in self.controls)

    @property
    def precision(self) -> float:
        """Reported bags over all STARTs (trials and controls)."""
        called = self.detected + self.false_alarms
        return self.detected / called if called else 0.0

    @property
    def recall(self) -> float:
        """Reported bags over trials."""
        return self.detected / len(self.trials) if self.trials else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def mean_iou(self) -> float | None:
        """Mean location IoU over the reported bags."""
        ious = [t.iou for t in self.trials if t.iou is not None]
        return statistics.fmean(ious) if ious else None

    @property
    def median_time_to_detect_s(self) -> float | None:
        """Median seconds from a bag's arrival to its incident."""
        times = [t.time_to_detect_s for t in self.trials if t.time_to_detect_s is not None]
        return statistics.median(times) if times else None

    @property
    def control_hours(self) -> float:
        """Scene time of the control runs, in hours."""
        return sum(c.scene_s for c in self.controls) / 3600

    @property
    def false_alarms_per_hour(self) -> float | None:
        """STARTs per hour of untouched footage."""
        hours = self.control_hours
        return sum(c.false_alarms for c in self.controls) / hours if hours else None


def draw_trials(
    count: int, seed: int, assets_dir: Path, config: DumpingRuleConfig, footage: Iterable[Footage] = STREET_FOOTAGE
) -> list[Trial]:
    """``count`` trials, spread evenly over the clips, deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    clips = list(footage)
    bags = load_bags(assets_dir / BAGS)
    trials = []
    for index in range(count):
        chosen = clips[index % len(clips)]
        bag = bags[int(rng.integers(len(bags)))]
        width = int(rng.integers(chosen.bag_width_px[0], chosen.bag_width_px[1] + 1))
        patch = scaled(bag.image, width)
        frame_w, frame_h = load_clip(assets_dir / "footage" / chosen.file).size
        x1, y1, x2, y2 = chosen.region
        top_left_x = (round(x1 * frame_w), max(round(x1 * frame_w), round(x2 * frame_w) - patch.shape[1]))
        top_left_y = (round(y1 * frame_h), max(round(y1 * frame_h), round(y2 * frame_h) - patch.shape[0]))
        at = (int(rng.integers(*top_left_x, endpoint=True)), int(rng.integers(*top_left_y, endpoint=True)))
        placed = config.learn_s + config.min_static_s * float(rng.uniform(*PLACE_AFTER_WARMUP))
        trials.append(Trial(chosen, bag, width, at, round(placed, 1)))
    return trials


class _Scene:
    """One clip's frames and their detections, each detected once per process."""

    def __init__(self, clip: Clip, detect: DetectFn, excluded: list[str]) -> None:
        self.clip = clip
        self.detect = detect
        self.excluded = excluded
        self._detections: dict[int, Detections] = {}

    def untouched(self, index: int) -> Detections:
        if index not in self._detections:
            self._detections[index] = self.detect(self.clip.frames[index])
        return self._detections[index]


def run_trial(trial: Trial, scene: _Scene, config: DumpingRuleConfig) -> TrialResult:
    """Run the rule over one trial's scene until the bag is reported or its time is up."""
    patch = scaled(trial.bag.image, trial.width_px)
    bag_box = box_at(patch, trial.at)
    pasted: dict[int, tuple[Image, Detections]] = {}
    called: Counter[str] = Counter()

    def frame(scene_s: float) -> tuple[Image, Detections]:
        index = scene.clip.index_at(scene_s)
        if scene_s < trial.placed_s:
            return scene.clip.frames[index], scene.untouched(index)
        if index not in pasted:
            image = scene.clip.frames[index]
            boxes = scene.untouched(index).of_classes(scene.excluded).xyxy.tolist()
            with_bag = paste(image, patch, trial.at, foreground(scene.clip, index, [tuple(b) for b in boxes]))
            pasted[index] = (with_bag, scene.detect(with_bag))
        with_bag, found = pasted[index]
        called.update(_called_as(found, scene.untouched(index), scene.excluded, bag_box))
        return with_bag, found

    end_s = trial.placed_s + config.min_static_s * (1 + GRACE)
    false_alarms, found, frames = 0, None, 0
    for scene_s, events in _play(frame, config, end_s):
        frames += scene_s >= trial.placed_s
        for event in events:
            iou = _best_iou(event, bag_box) if scene_s >= trial.placed_s else 0.0
            if event.phase == EventPhase.START and iou < MATCH_IOU:
                false_alarms += 1
            elif event.phase != EventPhase.END and iou >= MATCH_IOU and found is None:
                found = (scene_s - trial.placed_s, iou)
        if found is not None:
            return TrialResult(trial, bag_box, True, round(found[0], 1), found[1], false_alarms, scene_s)
    name, count = called.most_common(1)[0] if called else (None, 0)
    return TrialResult(trial, bag_box, False, None, None, false_alarms, end_s, name if 2 * count > frames else None)


def _called_as(found: Detections, untouched: Detections, excluded: list[str], bag_box: Box) -> list[str]:
    """Classes of detections over the bag that the frame without it does not have: the bag mistaken."""
    before = [_box(b) for b in untouched.of_classes(excluded).xyxy]
    over = found.of_classes(excluded)
    names = []
    for xyxy, class_id in zip(over.xyxy, over.class_id, strict=True):
        box = _box(xyxy)
        new = not any(box_iou(box, b) > 0.5 for b in before)
        if new and _share_inside(bag_box, box) >= COVERED_SHARE:
            names.append(over.names[int(class_id)])
    return names[:1]


def _box(xyxy: Iterable[float]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return (x1, y1, x2, y2)


def _share_inside(box: Box, other: Box) -> float:
    """The share of ``box`` that lies inside ``other`` (the rule's test for a covered blob)."""
    iw = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
    ih = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
    return iw * ih / max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))


def run_control(footage: Footage, scene: _Scene, config: DumpingRuleConfig, scene_s: float) -> ControlResult:
    """Run the rule over the untouched clip for ``scene_s`` seconds; count its STARTs."""

    def frame(at_s: float) -> tuple[Image, Detections]:
        index = scene.clip.index_at(at_s)
        return scene.clip.frames[index], scene.untouched(index)

    starts = sum(e.phase == EventPhase.START for _, events in _play(frame, config, scene_s) for e in events)
    return ControlResult(footage, scene_s, starts)


def _play(
    frame: Callable[[float], tuple[Image, Detections]], config: DumpingRuleConfig, end_s: float
) -> Iterator[tuple[float, list[RuleEvent]]]:
    rule = DumpingRule(config)
    # The service tracks every analysed frame (5 a second by default); here the tracker sees only
    # the rule's frames, which makes it lose fast cars more often: a pessimistic stand-in.
    tracker = Tracker(1.0 / config.interval_s) if rule.needs_tracks else None
    steps = int(end_s / config.interval_s) + 1
    for step in range(steps):
        scene_s = step * config.interval_s
        image, found = frame(scene_s)
        if tracker is not None:
            found = tracker.update(found, image)
        yield scene_s, rule.process(RuleInput(scene_s, image, found, ZONE.filter(found), ZONE))


def _best_iou(event: RuleEvent, bag_box: Box) -> float:
    piles = event.details.get("piles", [])
    return max((box_iou(tuple(p["box"]), bag_box) for p in piles), default=0.0)


def evaluate_dumping(
    assets_dir: Path,
    detect: DetectFn,
    *,
    trials: int = 24,
    seed: int = 0,
    control_s: float = 1800.0,
    config: DumpingRuleConfig | None = None,
    footage: Iterable[Footage] = STREET_FOOTAGE,
    progress: Progress = quiet,
) -> DumpingEvaluation:
    """Measure the rule: ``trials`` bags left in the clips, and ``control_s`` of each clip untouched.

    Args:
        assets_dir: the folder holding ``footage/`` and ``eval/waste-bags-street``.
        detect: the object detector the service uses (or a stand-in in unit tests).
        trials: how many bags are left, spread evenly over the clips.
        seed: seeds every draw (clip, bag, size, place, moment).
        control_s: scene seconds each clip is played untouched (0: no control runs).
        config: the rule's settings (default: production defaults over a whole-frame zone).
        footage: the clips to use.
        progress: shows how far the trials and control runs are.
    """
    config = config or DumpingRuleConfig(type="dumping", zone=ZONE.name)
    chosen = list(footage)
    excluded = list(config.exclude_classes)
    scenes = {f.file: _Scene(load_clip(assets_dir / "footage" / f.file), detect, excluded) for f in chosen}
    result = DumpingEvaluation()
    drawn = draw_trials(trials, seed, assets_dir, config, chosen)
    for trial in progress(drawn, "dumping trials"):
        result.trials.append(run_trial(trial, scenes[trial.footage.file], config))
    if control_s > 0:
        for item in progress(chosen, "dumping controls"):
            result.controls.append(run_control(item, scenes[item.file], config, control_s))
    return result


def production_detector(settings: Settings, detect_config: DetectConfig | None = None) -> DetectFn:
    """The service's detector (``models.registry.resolve`` of a camera's default model), as a function."""
    from analytics.detector import Detector
    from models.registry import resolve

    config = detect_config or DetectConfig()
    detector = Detector(resolve(config.model, settings).path)

    def detect(image: Image) -> Detections:
        (found,) = detector.detect([image], imgsz=config.imgsz, confidence=config.confidence)
        return found

    return detect
