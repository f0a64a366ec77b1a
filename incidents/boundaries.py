"""The city's administrative boundaries (kecamatan, kelurahan) as small GeoJSON for the web map.

The source files are BIG's (Badan Informasi Geospasial) boundary polygons under
``<assets>/geo/``: about 1-2 MB each, with survey-grade vertices a metre apart and two dozen
attributes per feature. A browser needs neither, so each file is simplified once (a few metres'
tolerance, coordinates rounded to about a metre, the names and codes kept) and the result is
kept in the cache directory, keyed by the source file's size and time, never next to the assets,
which may be read-only.
"""

from __future__ import annotations

import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from shapely import force_2d, set_precision
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from core.errors import NotFoundError

logger = logging.getLogger(__name__)

GEO_DIR = "geo"
CACHE_SUBDIR = "geo"
FORMAT_VERSION = 1  # bump when the simplification or the properties change: the cached files are rebuilt
DIGITS = 5  # 1e-5 degrees is about 1.1 m at Palembang's latitude
GRID = 10.0**-DIGITS


class BoundaryLevel(StrEnum):
    """Which administrative level."""

    KECAMATAN = "kecamatan"  # district
    KELURAHAN = "kelurahan"  # urban village


# Douglas-Peucker tolerance in degrees: about 11 m for the districts, 5 m for the smaller villages.
TOLERANCE_DEG = {BoundaryLevel.KECAMATAN: 1e-4, BoundaryLevel.KELURAHAN: 5e-5}


class BoundariesUnavailable(NotFoundError):
    """The assets directory has no boundary file for this level."""


def source_path(assets_dir: Path | None, level: BoundaryLevel) -> Path:
    """The raw boundary file of ``level``.

    Raises:
        BoundariesUnavailable: no assets directory, or no such file in its ``geo`` folder.
    """
    if assets_dir is None:
        raise BoundariesUnavailable(f"no {level} boundaries: no assets directory is configured (set CCTV_ASSETS_DIR)")
    path = assets_dir / GEO_DIR / f"{level}_palembang.geojson"
    if not path.is_file():
        raise BoundariesUnavailable(f"no {level} boundaries: {path} does not exist in the assets directory")
    return path


def boundaries_file(assets_dir: Path | None, cache_dir: Path, level: BoundaryLevel) -> Path:
    """The simplified GeoJSON of ``level``, built into ``cache_dir`` on first use.

    Raises:
        BoundariesUnavailable: the raw file is missing.
    """
    source = source_path(assets_dir, level)
    stat = source.stat()
    target = cache_dir / CACHE_SUBDIR / f"{level}-v{FORMAT_VERSION}-{stat.st_size}-{stat.st_mtime_ns}.geojson"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    collection = simplify_collection(json.loads(source.read_text(encoding="utf-8")), level)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    partial.replace(target)  # atomic: a concurrent reader sees the whole file or none
    logger.info("%s boundaries: %d bytes simplified to %d", level, stat.st_size, target.stat().st_size)
    return target


def simplify_collection(collection: dict[str, Any], level: BoundaryLevel) -> dict[str, Any]:
    """A FeatureCollection with every feature's outline simplified and only its names and code kept."""
    features = []
    for feature in collection.get("features", []):
        geometry = feature.get("geometry")
        if not geometry:
            continue
        simplified = _simplify(shape(geometry), TOLERANCE_DEG[level])
        if simplified.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": _properties(feature.get("properties") or {}, level),
                "geometry": _rounded(mapping(simplified)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _simplify(geometry: BaseGeometry, tolerance: float) -> BaseGeometry:
    simplified = force_2d(geometry).simplify(tolerance, preserve_topology=True)
    return set_precision(simplified, GRID)


def _properties(raw: dict[str, Any], level: BoundaryLevel) -> dict[str, Any]:
    """BIG's attributes to ours: WADMKC is the kecamatan, WADMKD the kelurahan, KDCPUM/KDEPUM their codes."""
    kecamatan = raw.get("WADMKC") or (raw.get("NAMOBJ") if level == BoundaryLevel.KECAMATAN else None)
    if level == BoundaryLevel.KECAMATAN:
        return {"name": kecamatan, "kecamatan": kecamatan, "code": raw.get("KDCPUM")}
    kelurahan = raw.get("WADMKD") or raw.get("NAMOBJ")
    return {"name": kelurahan, "kelurahan": kelurahan, "kecamatan": kecamatan, "code": raw.get("KDEPUM")}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DIGITS)
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value
