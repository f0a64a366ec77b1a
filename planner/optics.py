"""EN 62676-4 pixel density: how far a camera model resolves a given number of pixels per metre.

A camera with ``W`` horizontal pixels and a horizontal field of view ``h`` spreads its pixels over a
scene ``2 * D * tan(h / 2)`` metres wide at slant distance ``D``, so the density there is
``W / (2 * D * tan(h / 2))`` pixels per metre. The ground range is the horizontal distance from the
pole at which a target ``target_height_m`` tall is at that slant distance from a lens mounted
``mount_height_m`` high.

A lens of 180 degrees or more has no finite ``tan(h / 2)``; such cameras (fisheye, panoramic, 360
degrees) are treated as spreading their pixels along the arc they see at distance ``D``
(``D * h`` metres, ``h`` in radians), as a dewarped panorama does.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from planner.model import CameraModel, FloatArray

PANORAMIC_DEG = 180.0  # at or above this, the pinhole width 2 * tan(h / 2) is replaced by the arc h


def scene_width_factor(hfov_deg: float) -> float:
    """Metres of scene width per metre of slant distance: ``2 * tan(hfov / 2)``, or the arc for panoramic lenses."""
    if hfov_deg <= 0:
        raise ValueError(f"hfov_deg must be positive, got {hfov_deg}")
    if hfov_deg >= PANORAMIC_DEG:
        return math.radians(hfov_deg)
    return 2.0 * math.tan(math.radians(hfov_deg) / 2.0)


def ppm_at_slant(model: CameraModel, slant_m: float) -> float:
    """Pixels per metre on a target ``slant_m`` metres from the lens (infinite at the lens itself)."""
    if slant_m <= 0:
        return math.inf
    return model.sensor_px_w / (slant_m * scene_width_factor(model.hfov_deg))


def slant_range_for_ppm(model: CameraModel, ppm: float) -> float:
    """The farthest slant distance (metres) at which ``model`` still gives ``ppm`` pixels per metre."""
    if ppm <= 0:
        raise ValueError(f"ppm must be positive, got {ppm}")
    return model.sensor_px_w / (ppm * scene_width_factor(model.hfov_deg))


def _drop(model: CameraModel, target_height_m: float) -> float:
    return model.mount_height_m - target_height_m


def ground_range_for_ppm(model: CameraModel, ppm: float, target_height_m: float = 1.0) -> float:
    """The farthest ground distance from the pole (metres) at which a target still gets ``ppm``.

    Zero when even a target straight below the lens is too far away (the slant range is shorter
    than the height difference).
    """
    slant = slant_range_for_ppm(model, ppm)
    drop = _drop(model, target_height_m)
    if slant <= abs(drop):
        return 0.0
    return math.sqrt(slant * slant - drop * drop)


def ppm_at_ground_distance(model: CameraModel, ground_m: float, target_height_m: float = 1.0) -> float:
    """Pixels per metre on a target ``target_height_m`` tall standing ``ground_m`` metres from the pole."""
    return ppm_at_slant(model, math.hypot(ground_m, _drop(model, target_height_m)))


def slant_ranges_for_ppm(model: CameraModel, ppm: npt.ArrayLike) -> FloatArray:
    """:func:`slant_range_for_ppm` over an array of densities."""
    values = np.asarray(ppm, dtype=np.float64)
    if np.any(values <= 0):
        raise ValueError("every ppm must be positive")
    return model.sensor_px_w / (values * scene_width_factor(model.hfov_deg))


def ground_ranges_for_ppm(model: CameraModel, ppm: npt.ArrayLike, target_height_m: float = 1.0) -> FloatArray:
    """:func:`ground_range_for_ppm` over an array of densities (zero where the slant range is too short)."""
    slant = slant_ranges_for_ppm(model, ppm)
    drop = _drop(model, target_height_m)
    return np.sqrt(np.clip(slant * slant - drop * drop, 0.0, None))


def ppms_at_ground_distance(model: CameraModel, ground_m: npt.ArrayLike, target_height_m: float = 1.0) -> FloatArray:
    """:func:`ppm_at_ground_distance` over an array of ground distances."""
    slant = np.hypot(np.asarray(ground_m, dtype=np.float64), _drop(model, target_height_m))
    with np.errstate(divide="ignore"):
        return model.sensor_px_w / (slant * scene_width_factor(model.hfov_deg))
