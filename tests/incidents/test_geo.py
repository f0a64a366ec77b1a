"""Distances, bearings and view sectors on real places in Palembang."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from incidents.geo import angle_diff_deg, bearing_deg, distance_m, in_view

AMPERA = (-2.99167, 104.76333)  # Jembatan Ampera, the middle of the bridge
AIR_MANCUR = (-2.98867, 104.75996)  # Bundaran Air Mancur, in front of Masjid Agung
CHARITAS = (-2.97870, 104.75030)  # Simpang Charitas, Jl. Jenderal Sudirman
BKB = (-2.99220, 104.75810)  # Benteng Kuto Besak, on the Musi
M_PER_DEG = 111_195.08  # metres per degree of latitude on the mean sphere


@dataclass(frozen=True)
class Cam:
    lat: float
    lon: float
    heading: float
    fov_deg: float = 90.0
    range_m: float = 100.0


# Expected values: the spherical law of cosines (a different formula on the same sphere), and by hand:
# Air Mancur -> Charitas is 0.00997 deg north and 0.00966 deg west: 1108.6 m and 1072.1 m, hypot 1542.6 m.
@pytest.mark.parametrize(
    ("a", "b", "expected_m", "expected_bearing"),
    [
        (AIR_MANCUR, CHARITAS, 1542.62, 315.94),
        (AIR_MANCUR, AMPERA, 501.32, 131.71),
        (AIR_MANCUR, BKB, 443.54, 207.75),
        (AMPERA, CHARITAS, 2042.91, 314.91),
        (BKB, CHARITAS, 1733.09, 330.02),
        (AMPERA, AMPERA, 0.0, None),
    ],
)
def test_distance_and_bearing_between_palembang_landmarks(
    a: tuple[float, float], b: tuple[float, float], expected_m: float, expected_bearing: float | None
) -> None:
    assert distance_m(*a, *b) == pytest.approx(expected_m, abs=1.0)
    assert distance_m(*b, *a) == pytest.approx(expected_m, abs=1.0)
    if expected_bearing is not None:
        assert bearing_deg(*a, *b) == pytest.approx(expected_bearing, abs=0.05)
        assert bearing_deg(*b, *a) == pytest.approx((expected_bearing + 180) % 360, abs=0.05)


def test_one_thousandth_of_a_degree_of_latitude_is_111_metres() -> None:
    assert distance_m(-2.98867, 104.75996, -2.98767, 104.75996) == pytest.approx(M_PER_DEG / 1000, abs=0.01)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0, 0, 0), (10, 350, 20), (350, 10, 20), (90, 270, 180), (359, 1, 2), (200, 90, 110), (45, 405, 0)],
)
def test_angle_difference_takes_the_short_way_round(a: float, b: float, expected: float) -> None:
    assert angle_diff_deg(a, b) == pytest.approx(expected)


def _offset(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    """A point ``north_m`` / ``east_m`` metres from ``origin`` (flat earth: fine over 200 m)."""
    lat, lon = origin
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


# The Air Mancur camera looks east along Jl. Merdeka (heading 90, 90 deg wide, 100 m).
AIR_MANCUR_CAM = Cam(*AIR_MANCUR, heading=90)


@pytest.mark.parametrize(
    ("camera", "north_m", "east_m", "seen"),
    [
        (AIR_MANCUR_CAM, 0, 60, True),  # straight ahead
        (AIR_MANCUR_CAM, 40, 60, True),  # 33.7 deg left of the axis: inside the 45 deg half-angle
        (AIR_MANCUR_CAM, 70, 60, False),  # 49.4 deg off: beside the view
        (AIR_MANCUR_CAM, 0, -60, False),  # behind the camera
        (AIR_MANCUR_CAM, 0, 150, False),  # ahead but past its range
        (AIR_MANCUR_CAM, 0, 0.5, True),  # at its foot
        (Cam(*AIR_MANCUR, heading=90, fov_deg=360), 0, -60, True),  # omnidirectional: behind is seen
        (Cam(*AIR_MANCUR, heading=90, fov_deg=360), 0, -150, False),  # ... within its range only
        (Cam(*CHARITAS, heading=350, fov_deg=60), 80, -10, True),  # heading across north: 357 deg
        (Cam(*CHARITAS, heading=350, fov_deg=60), 80, 40, False),  # 26.6 deg: 36.6 deg off the axis
    ],
)
def test_in_view_needs_range_and_the_view_sector(camera: Cam, north_m: float, east_m: float, seen: bool) -> None:
    assert in_view(camera, *_offset((camera.lat, camera.lon), north_m, east_m)) is seen


def test_ampera_is_not_seen_from_air_mancur_camera_range() -> None:
    # 500 m south-east: in the direction the camera looks (131.7 deg vs 90 + 45) but far beyond 100 m.
    assert not in_view(Cam(*AIR_MANCUR, heading=130, range_m=100), *AMPERA)
    assert in_view(Cam(*AIR_MANCUR, heading=130, range_m=600), *AMPERA)
