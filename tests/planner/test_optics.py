"""EN 62676-4 pixel density against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.model import CameraModel
from planner.optics import (
    ground_range_for_ppm,
    ground_ranges_for_ppm,
    ppm_at_ground_distance,
    ppm_at_slant,
    ppms_at_ground_distance,
    scene_width_factor,
    slant_range_for_ppm,
    slant_ranges_for_ppm,
)


def _model(px: int = 1920, hfov: float = 90.0, mount: float = 6.0) -> CameraModel:
    return CameraModel("test", px, px * 9 // 16, hfov, mount, bitrate_kbps=4096.0)


@pytest.mark.parametrize(
    ("px", "hfov", "slant", "ppm"),
    [
        (1920, 90.0, 10.0, 96.0),  # tan(45°) = 1: 1920 / (2 * 10 * 1) = 96
        (1920, 90.0, 38.4, 25.0),  # 1920 / (2 * 38.4) = 25
        (2560, 90.0, 20.0, 64.0),  # 2560 / (2 * 20) = 64
        (1920, 60.0, 10.0, 166.27687752661222),  # 2 * tan(30°) = 1.1547: 1920 / 11.547 = 166.28
        (3840, 360.0, 10.0, 61.11549814728074),  # panoramic: the arc 2π * 10 = 62.83 m: 3840 / 62.83 = 61.12
    ],
)
def test_density_at_a_slant_distance_is_pixels_over_the_scene_width(
    px: int, hfov: float, slant: float, ppm: float
) -> None:
    assert ppm_at_slant(_model(px, hfov), slant) == pytest.approx(ppm)
    assert slant_range_for_ppm(_model(px, hfov), ppm) == pytest.approx(slant)


@pytest.mark.parametrize(
    ("px", "hfov", "mount", "ppm", "ground"),
    [
        (1920, 90.0, 6.0, 25.0, 38.07308760791538),  # slant 38.4, drop 6 - 1 = 5: sqrt(38.4² - 5²) = 38.07
        (1920, 90.0, 6.0, 96.0, 8.660254037844387),  # slant 10, drop 5: sqrt(100 - 25) = 8.66
        (1920, 90.0, 1.0, 25.0, 38.4),  # lens at the target's height: ground range = slant range
        (1920, 90.0, 6.0, 250.0, 0.0),  # slant 3.84 < drop 5: even the foot of the pole is too far
        (1920, 90.0, 16.0, 96.0, 0.0),  # slant 10 < drop 15: a tall pole cannot give 96 px/m anywhere
    ],
)
def test_ground_range_takes_the_mount_height_off_the_slant_range(
    px: int, hfov: float, mount: float, ppm: float, ground: float
) -> None:
    model = _model(px, hfov, mount)
    assert ground_range_for_ppm(model, ppm) == pytest.approx(ground)
    assert ground_ranges_for_ppm(model, np.array([ppm]))[0] == pytest.approx(ground)


def test_density_at_the_ground_range_is_the_density_asked_for() -> None:
    model = _model()
    for ppm in (12.5, 25.0, 62.5):
        assert ppm_at_ground_distance(model, ground_range_for_ppm(model, ppm)) == pytest.approx(ppm)


def test_a_taller_target_is_closer_to_the_lens_and_reached_farther() -> None:
    model = _model()
    assert ground_range_for_ppm(model, 25.0, target_height_m=1.8) > ground_range_for_ppm(model, 25.0)


def test_vectorised_versions_match_the_scalar_ones() -> None:
    model = _model(2560, 75.0, 8.0)
    ppm = np.array([12.5, 25.0, 62.5, 125.0, 250.0])
    assert slant_ranges_for_ppm(model, ppm) == pytest.approx([slant_range_for_ppm(model, p) for p in ppm])
    assert ground_ranges_for_ppm(model, ppm) == pytest.approx([ground_range_for_ppm(model, p) for p in ppm])
    ground = np.array([0.0, 5.0, 30.0])
    assert ppms_at_ground_distance(model, ground) == pytest.approx([ppm_at_ground_distance(model, g) for g in ground])


def test_density_right_at_the_lens_is_unbounded() -> None:
    assert math.isinf(ppm_at_slant(_model(), 0.0))


@pytest.mark.parametrize("hfov", [0.0, -10.0])
def test_a_field_of_view_that_is_not_positive_is_refused(hfov: float) -> None:
    with pytest.raises(ValueError, match="hfov_deg"):
        scene_width_factor(hfov)


def test_a_density_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="ppm"):
        slant_range_for_ppm(_model(), 0.0)
    with pytest.raises(ValueError, match="ppm"):
        slant_ranges_for_ppm(_model(), [25.0, -1.0])
