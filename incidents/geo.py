"""Distances, bearings and cameras' view sectors on the WGS84 globe (a sphere is plenty at city scale)."""

from __future__ import annotations

import math
from typing import Protocol

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG); the sphere is within 0.5 % of the ellipsoid
HERE_M = 1.0  # closer than this the bearing means nothing: a camera sees what stands at its foot


class Viewpoint(Protocol):
    """Where a camera stands and what it sees: a camera row or a camera's location config."""

    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def heading(self) -> float: ...
    @property
    def fov_deg(self) -> float: ...
    @property
    def range_m(self) -> float: ...


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north, in [0, 360)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlam = math.radians(lon2 - lon1)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    return math.degrees(math.atan2(y, x)) % 360.0


def angle_diff_deg(a: float, b: float) -> float:
    """The smaller angle between two directions, degrees, in [0, 180]."""
    diff = abs(a - b) % 360.0
    return 360.0 - diff if diff > 180.0 else diff


def in_view(camera: Viewpoint, lat: float, lon: float) -> bool:
    """Whether the point is within the camera's range and inside its view sector (heading ± fov/2)."""
    dist = distance_m(camera.lat, camera.lon, lat, lon)
    if dist > camera.range_m:
        return False
    if camera.fov_deg >= 360.0 or dist < HERE_M:
        return True
    return angle_diff_deg(bearing_deg(camera.lat, camera.lon, lat, lon), camera.heading) <= camera.fov_deg / 2
