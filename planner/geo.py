"""The planner's metric frame (a projected CRS, by default the local UTM zone) and view-sector drawing.

Compass convention throughout the planner: a heading is a bearing in degrees clockwise from north,
so 0 looks along +y (north) and 90 along +x (east).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from shapely import Polygon
from shapely.geometry.base import BaseGeometry

from planner.model import FloatArray

G = TypeVar("G", bound=BaseGeometry)

SECTOR_STEP_DEG = 5.0  # arc resolution of drawn sectors: fine enough for a map, few vertices


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding ``(lon, lat)`` (326xx north, 327xx south)."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"({lon}, {lat}) is not a WGS84 longitude/latitude")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


class LocalFrame:
    """A projected, metric coordinate frame with conversions to and from WGS84 longitude/latitude."""

    def __init__(self, crs: str) -> None:
        """Build the frame of a projected CRS given as any string pyproj reads (``EPSG:32748``...).

        Raises:
            ValueError: the CRS is unknown or not projected (its units would not be metres).
        """
        try:
            self._crs = CRS.from_user_input(crs)
        except Exception as err:  # pyproj raises its own CRSError; callers want a ValueError
            raise ValueError(f"unknown CRS {crs!r}: {err}") from err
        if not self._crs.is_projected:
            raise ValueError(f"CRS {crs!r} is not projected: the planner needs metres")
        self._forward = Transformer.from_crs("EPSG:4326", self._crs, always_xy=True)
        self._inverse = Transformer.from_crs(self._crs, "EPSG:4326", always_xy=True)

    @classmethod
    def around(cls, lon: float, lat: float, crs: str | None = None) -> LocalFrame:
        """The frame of ``crs``, or of the UTM zone of the centre ``(lon, lat)`` when ``crs`` is None."""
        return cls(crs if crs is not None else f"EPSG:{utm_epsg(lon, lat)}")

    @classmethod
    def for_geometries(cls, geometries: Iterable[BaseGeometry], crs: str | None = None) -> LocalFrame:
        """The frame of ``crs``, or the UTM zone of the centre of WGS84 ``geometries``' bounds.

        Raises:
            ValueError: no geometry and no ``crs`` to go by.
        """
        if crs is not None:
            return cls(crs)
        geoms = [g for g in geometries if not g.is_empty]
        if not geoms:
            raise ValueError("no geometry to centre the metric frame on")
        west, south, east, north = shapely.total_bounds(np.asarray(geoms, dtype=object))
        return cls.around((west + east) / 2.0, (south + north) / 2.0)

    @property
    def crs(self) -> str:
        """The CRS as ``AUTHORITY:CODE`` when it has one, else its name."""
        authority = self._crs.to_authority()
        return f"{authority[0]}:{authority[1]}" if authority else str(self._crs.name)

    @property
    def crs_name(self) -> str:
        """The CRS's human name, e.g. ``WGS 84 / UTM zone 48S``."""
        return str(self._crs.name)

    def to_xy(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Metres in this frame of WGS84 longitudes and latitudes (scalars or arrays)."""
        x, y = self._forward.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """WGS84 longitudes and latitudes of metres in this frame (scalars or arrays)."""
        lon, lat = self._inverse.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_xy(self, geom: G) -> G:
        """A WGS84 geometry in this frame's metres."""
        return shapely.transform(geom, self._forward_coords)

    def geometry_to_lonlat(self, geom: G) -> G:
        """A geometry in this frame's metres back in WGS84 longitude/latitude."""
        return shapely.transform(geom, self._inverse_coords)

    def _forward_coords(self, coords: FloatArray) -> FloatArray:
        x, y = self.to_xy(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def _inverse_coords(self, coords: FloatArray) -> FloatArray:
        lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    def __repr__(self) -> str:
        return f"LocalFrame({self.crs!r})"


def bearing_deg(dx: npt.ArrayLike, dy: npt.ArrayLike) -> FloatArray:
    """Compass bearing in [0, 360) of the direction ``(dx, dy)`` (0 = +y north, 90 = +x east)."""
    angles = np.degrees(np.arctan2(np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64)))
    return np.mod(angles, 360.0)


def sector_polygon(x: float, y: float, heading_deg: float, hfov_deg: float, range_m: float) -> Polygon:
    """The view sector of a camera at ``(x, y)`` metres: a pie slice, or a disc for 360-degree lenses.

    Args:
        x: Camera easting, metres.
        y: Camera northing, metres.
        heading_deg: Compass bearing of the view's centre line (0 = north = +y, 90 = east = +x).
        hfov_deg: Horizontal field of view; 360 or more draws a full disc.
        range_m: Radius of the sector, metres; zero or less gives an empty polygon.
    """
    if range_m <= 0 or hfov_deg <= 0:
        return Polygon()
    if hfov_deg >= 360.0:
        return shapely.Point(x, y).buffer(range_m, quad_segs=int(90 / SECTOR_STEP_DEG))
    steps = max(2, math.ceil(hfov_deg / SECTOR_STEP_DEG) + 1)
    bearings = np.radians(heading_deg + np.linspace(-hfov_deg / 2.0, hfov_deg / 2.0, steps))
    arc = np.column_stack([x + range_m * np.sin(bearings), y + range_m * np.cos(bearings)])
    return Polygon([(x, y), *map(tuple, arc)])
