"""A finished plan written out: GeoJSON for QGIS, camera_config entries, map, CSV, HTML report and summary.

Files under the output folder: ``plan.geojson`` (chosen sites as points and their view sectors as
polygons, WGS84), ``cameras.yaml`` (``cameras:`` entries of the new sites, to merge into
``camera_config.yaml``), ``map.png``, ``coverage.csv`` (per area), ``report.html`` (self-contained)
and ``summary.json`` (the key figures; what the API returns).

Sectors and ``range_m`` use the ground range at which each camera's model still gives the
``detect`` density (25 px/m), the density the project's analytics needs.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planner.geo import sector_polygon
from planner.model import PIXELS_PER_METRE, BoolArray, DensityLevel, IntArray
from planner.optics import ground_range_for_ppm
from planner.report_cameras import cameras_yaml, new_site_id
from planner.result import PlanResult
from planner.sampling import area_index

GEOJSON, CAMERAS, MAP, CSV, HTML, SUMMARY = (
    "plan.geojson",
    "cameras.yaml",
    "map.png",
    "coverage.csv",
    "report.html",
    "summary.json",
)
FILES = (GEOJSON, CAMERAS, MAP, CSV, HTML, SUMMARY)
REASONS = {
    "out_of_reach": "no candidate pole within range at the required density",
    "hidden": "in reach, but hidden by buildings from every candidate",
    "left_out": "coverable, but left out by the target or budget",
}


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of one area, demand class or reason."""

    name: str
    points: int
    covered_points: int
    weight: float
    covered_weight: float

    @property
    def share(self) -> float:
        """Covered share of the weight (0 when there is none)."""
        return self.covered_weight / self.weight if self.weight > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The row with its share, for JSON and CSV."""
        return {**asdict(self), "coverage": round(self.share, 6)}


@dataclass(frozen=True)
class CoverageTables:
    """Per-area, per-class and per-reason rows of one plan."""

    per_area: list[CoverageRow]
    per_class: list[CoverageRow]
    uncovered: list[CoverageRow]  # one row per reason in :data:`REASONS`; covered_* are zero


@dataclass(frozen=True)
class Site:
    """One chosen camera, ready to write."""

    index: int  # candidate index
    id: str
    existing: bool
    x: float
    y: float
    lon: float
    lat: float
    heading_deg: float
    model: str
    hfov_deg: float
    range_m: float
    area: str


def covered_mask(result: PlanResult) -> BoolArray:
    """Demand points seen by the plan's chosen cameras."""
    return result.coverage.covered_by(np.asarray(result.solution.chosen, dtype=np.int64))


def uncovered_reason(result: PlanResult) -> dict[str, BoolArray]:
    """Uncovered demand points by reason (the keys of :data:`REASONS`)."""
    covered = covered_mask(result)
    coverable = np.asarray(result.coverage.matrix.sum(axis=0)).ravel() > 0
    in_reach = np.asarray(result.coverage.in_reach, dtype=bool)
    return {
        "out_of_reach": ~covered & ~in_reach,
        "hidden": ~covered & in_reach & ~coverable,
        "left_out": ~covered & coverable,
    }


def coverage_tables(result: PlanResult) -> CoverageTables:
    """Coverage per area (kelurahan), per demand class and uncovered weight per reason."""
    demand = result.demand
    covered = covered_mask(result)
    weight = demand.weight
    area_names = [*demand.area_names, "outside every area" if demand.area_names else "whole plan"]
    per_area = _rows(demand.area, area_names, covered, weight, skip_empty_last=True)
    per_class = _rows(demand.klass, demand.class_names, covered, weight)
    uncovered = [
        CoverageRow(REASONS[key], int(mask.sum()), 0, float(weight[mask].sum()), 0.0)
        for key, mask in uncovered_reason(result).items()
    ]
    return CoverageTables(per_area, per_class, uncovered)


def _rows(
    index: IntArray, names: list[str], covered: BoolArray, weight: np.ndarray, *, skip_empty_last: bool = False
) -> list[CoverageRow]:
    """One row per name; index -1 counts towards the last name (outside every area)."""
    slot = np.where(index < 0, len(names) - 1, index) if skip_empty_last else index
    rows = []
    for i, name in enumerate(names):
        mask = slot == i
        if skip_empty_last and i == len(names) - 1 and not mask.any():
            continue
        rows.append(
            CoverageRow(
                name,
                int(mask.sum()),
                int((mask & covered).sum()),
                float(weight[mask].sum()),
                float(weight[mask & covered].sum()),
            )
        )
    return rows


def chosen_sites(result: PlanResult) -> list[Site]:
    """The chosen cameras, existing ones first, then the new sites numbered ``plan_001``..."""
    candidates = result.candidates
    chosen = [int(i) for i in result.solution.chosen]
    chosen.sort(key=lambda i: not candidates.existing[i])  # stable: the solver's order within each group
    xy = candidates.xy[chosen].reshape(-1, 2)
    lon, lat = result.frame.to_lonlat(xy[:, 0], xy[:, 1])
    area_of = _site_areas(result, xy)
    sites, new_count = [], 0
    for k, index in enumerate(chosen):
        model = candidates.models[int(candidates.model[index])]
        existing = bool(candidates.existing[index])
        if existing:
            site_id = candidates.name[index] if candidates.name and candidates.name[index] else f"existing_{k + 1}"
        else:
            new_count += 1
            site_id = new_site_id(new_count)
        detect_range = ground_range_for_ppm(model, PIXELS_PER_METRE[DensityLevel.detect])
        sites.append(
            Site(
                index,
                site_id,
                existing,
                float(xy[k, 0]),
                float(xy[k, 1]),
                float(lon[k]),
                float(lat[k]),
                float(candidates.heading_deg[index]) % 360.0,
                model.name,
                model.hfov_deg,
                detect_range,
                area_of[k],
            )
        )
    return sites


def _site_areas(result: PlanResult, xy: np.ndarray) -> list[str]:
    index = area_index(xy, [g for _, g in result.areas])
    return [result.areas[i][0] if i >= 0 else "" for i in index]


def plan_geojson(result: PlanResult, sites: list[Site]) -> dict[str, Any]:
    """The chosen sites as WGS84 points, and their view sectors as polygons (``kind``: camera / sector)."""
    features: list[dict[str, Any]] = []
    for site in sites:
        props = {
            "id": site.id,
            "existing": site.existing,
            "heading": round(site.heading_deg, 1),
            "model": site.model,
            "hfov_deg": site.hfov_deg,
            "range_m": round(site.range_m, 1),
            "lon": round(site.lon, 7),
            "lat": round(site.lat, 7),
            "area": site.area,
        }
        point = {"type": "Point", "coordinates": [props["lon"], props["lat"]]}
        features.append({"type": "Feature", "geometry": point, "properties": {"kind": "camera", **props}})
        sector = result.frame.geometry_to_lonlat(
            sector_polygon(site.x, site.y, site.heading_deg, site.hfov_deg, site.range_m)
        )
        if not sector.is_empty:
            ring = [[round(x, 7), round(y, 7)] for x, y in sector.exterior.coords]
            polygon = {"type": "Polygon", "coordinates": [ring]}
            features.append({"type": "Feature", "geometry": polygon, "properties": {"kind": "sector", **props}})
    return {"type": "FeatureCollection", "name": result.name, "features": features}


def summary(result: PlanResult, tables: CoverageTables, sites: list[Site]) -> dict[str, Any]:
    """The plan's key figures as JSON-ready data (what the API answers)."""
    solution = result.solution
    new = sum(1 for s in sites if not s.existing)
    data: dict[str, Any] = _finite(
        {
            "name": result.name,
            "objective": result.objective,
            "crs": result.frame.crs,
            "cameras_new": new,
            "cameras_existing": len(sites) - new,
            "cameras_total": len(sites),
            "coverage": solution.coverage,
            "covered_weight": solution.covered_weight,
            "total_weight": solution.total_weight,
            "solution": _solution_dict(solution),
            "alternatives": [_solution_dict(alt) for alt in result.alternatives],
            "demand_points": len(result.demand),
            "candidates": len(result.candidates),
            "pairs_tested": result.coverage.pairs_tested,
            "blocked_pairs": result.coverage.blocked,
            "per_area": [row.as_dict() for row in tables.per_area],
            "per_class": [row.as_dict() for row in tables.per_class],
            "uncovered": [{"reason": r.name, "points": r.points, "weight": r.weight} for r in tables.uncovered],
            "sizing": asdict(result.sizing),
            "seconds": result.seconds,
            "notes": [*result.notes],
            "files": list(FILES),
        }
    )
    return data


def _solution_dict(solution: Any) -> dict[str, Any]:
    return {
        "solver": solution.solver,
        "cameras": len(solution.chosen),
        "coverage": solution.coverage,
        "cost": solution.cost,
        "seconds": solution.seconds,
        "optimal": solution.optimal,
        "bound": solution.bound,
        "gap": solution.gap,
        "status": solution.status,
    }


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has neither) and numpy scalars as Python's."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_report(result: PlanResult, out_dir: Path) -> dict[str, Path]:
    """Write every file of the plan under ``out_dir`` (created if needed); returns their paths by file name."""
    from planner.report_html import render_html
    from planner.report_map import draw_map

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in FILES}
    sites = chosen_sites(result)
    tables = coverage_tables(result)
    data = summary(result, tables, sites)
    paths[GEOJSON].write_text(json.dumps(plan_geojson(result, sites)), encoding="utf-8")
    paths[CAMERAS].write_text(cameras_yaml(result.name, [s for s in sites if not s.existing]), encoding="utf-8")
    draw_map(result, sites, paths[MAP])
    _write_csv(paths[CSV], tables.per_area)
    paths[HTML].write_text(render_html(result, tables, sites, data, paths[MAP].read_bytes()), encoding="utf-8")
    paths[SUMMARY].write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def _write_csv(path: Path, rows: list[CoverageRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["area", "points", "covered_points", "weight", "covered_weight", "coverage"])
        for row in rows:
            writer.writerow(
                [
                    row.name,
                    row.points,
                    row.covered_points,
                    f"{row.weight:g}",
                    f"{row.covered_weight:g}",
                    f"{row.share:.4f}",
                ]
            )
