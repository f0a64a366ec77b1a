"""The dual-background detector of new static objects, on real street footage with a real bag pasted in."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from analytics.static_objects import StaticBlob, StaticObjectDetector, StaticObjectParams, box_iou
from core.messages import Image
from tests.analytics.dumping_scene import bag, bag_box, paste, scene

# Production learns over minutes; the 50 s scene needs the same ratios in seconds.
PARAMS = StaticObjectParams(short_s=1.0, long_s=60.0, learn_s=4.0, forget_s=600.0, miss_s=2.0)
WHOLE_FRAME = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], np.float64)
PASTE_AT_S = 8.0
STANDING_S = 10.0  # what the tests call "persistent" (the rule's minimum in its tests)
# Noise and passing cars leave short-lived blobs; the longest seen is a car slowing to a stop where
# the footage turns back (about 4 s).
NOISE_LIFE_S = 6.0


def _run(
    assets_dir: Path, change: Callable[[float, Image], Image]
) -> tuple[StaticObjectDetector, list[tuple[float, list[StaticBlob]]]]:
    detector = StaticObjectDetector(PARAMS, WHOLE_FRAME)
    seen = []
    for ts, image in scene(assets_dir):
        blobs = detector.update(change(ts, image), ts)
        seen.append((ts, [StaticBlob(**vars(b)) for b in blobs]))
    return detector, seen


def _oldest(seen: list[tuple[float, list[StaticBlob]]]) -> float:
    return max((b.age_s(ts) for ts, blobs in seen for b in blobs), default=0.0)


def _with_bag(assets_dir: Path, start_s: float = PASTE_AT_S, end_s: float = 1e9) -> Callable[[float, Image], Image]:
    patch = bag(assets_dir)
    return lambda ts, image: paste(image, patch) if start_s <= ts < end_s else image


def _noisy_dusk(change: Callable[[float, Image], Image]) -> Callable[[float, Image], Image]:
    """Sensor noise as at night and a picture darkening to 60% over the scene."""
    rng = np.random.default_rng(7)
    # A bank of noise fields drawn from at random: as good as fresh noise per frame, and cheaper.
    bank = rng.normal(0.0, 12.0, (32, 360, 640, 3)).astype(np.float32)

    def darken(ts: float, image: Image) -> Image:
        gain = 1.0 - 0.4 * min(1.0, ts / 50.0)
        noise = bank[rng.integers(len(bank))]
        return np.clip(change(ts, image).astype(np.float32) * gain + noise, 0, 255).astype(np.uint8)

    return darken


@pytest.fixture
def untouched(assets_dir: Path) -> tuple[StaticObjectDetector, list[tuple[float, list[StaticBlob]]]]:
    return _untouched(assets_dir)


@lru_cache(maxsize=1)
def _untouched(assets_dir: Path) -> tuple[StaticObjectDetector, list[tuple[float, list[StaticBlob]]]]:
    return _run(assets_dir, lambda ts, image: image)


def test_a_bag_left_on_the_pavement_is_found_where_it_lies(assets_dir: Path) -> None:
    truth = bag_box(assets_dir)
    _, seen = _run(assets_dir, _with_bag(assets_dir))
    hits = [(ts, b) for ts, blobs in seen for b in blobs if box_iou(b.xyxy, truth) >= 0.5]
    assert hits, "the bag was never found"
    first_ts, first = hits[0]
    assert PASTE_AT_S <= first_ts <= PASTE_AT_S + 2.0
    last_ts, last = hits[-1]
    assert last.blob_id == first.blob_id and last_ts == seen[-1][0], "the bag was not followed as one blob"
    assert last.age_s(last_ts) > STANDING_S
    assert box_iou(last.xyxy, truth) >= 0.6
    others = [b.age_s(ts) for ts, blobs in seen for b in blobs if b.blob_id != first.blob_id]
    assert max(others, default=0.0) < NOISE_LIFE_S


def test_the_untouched_street_forms_no_lasting_blob(
    untouched: tuple[StaticObjectDetector, list[tuple[float, list[StaticBlob]]]],
) -> None:
    _, seen = untouched
    assert len(seen) == 748
    assert _oldest(seen) < NOISE_LIFE_S


def test_noise_and_falling_light_form_no_lasting_blob_but_the_bag_still_shows(
    assets_dir: Path, untouched: tuple[StaticObjectDetector, list[tuple[float, list[StaticBlob]]]]
) -> None:
    detector, seen = _run(assets_dir, _noisy_dusk(_with_bag(assets_dir)))
    assert detector.noise_sigma > untouched[0].noise_sigma, "the added noise was not measured"
    truth = bag_box(assets_dir)
    final_ts, final = seen[-1]
    (standing,) = [b for b in final if b.age_s(final_ts) > STANDING_S]
    assert box_iou(standing.xyxy, truth) >= 0.5
    others = [b.age_s(ts) for ts, blobs in seen for b in blobs if b.blob_id != standing.blob_id]
    assert max(others, default=0.0) < NOISE_LIFE_S


def test_an_object_that_leaves_is_a_ghost_and_is_learnt_away(assets_dir: Path) -> None:
    truth = bag_box(assets_dir)
    change = _with_bag(assets_dir, start_s=0.0, end_s=12.0)
    detector = StaticObjectDetector(PARAMS, WHOLE_FRAME)
    hole = None
    for ts, image in scene(assets_dir):
        frame = change(ts, image)
        blobs = detector.update(frame, ts)
        hole = next((b for b in blobs if box_iou(b.xyxy, truth) >= 0.4), None)
        if hole is not None and hole.age_s(ts) >= 2.0:
            assert detector.is_ghost(hole, frame)
            detector.absorb(hole)
            break
    assert hole is not None, "removing the learnt bag left no hole to test"
    for ts, image in scene(assets_dir):
        if ts > 2.0:
            break
        assert not any(box_iou(b.xyxy, truth) > 0.1 for b in detector.update(image, 20.0 + ts))
