"""``map.png``: areas, roads, buildings, demand points covered or not, and the chosen cameras with their sectors.

Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend), in the plan's metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from shapely.geometry.base import BaseGeometry

from planner.geo import sector_polygon

if TYPE_CHECKING:
    from planner.report import Site
    from planner.result import PlanResult

NEW_COLOUR = "#1f5fbf"
EXISTING_COLOUR = "#e07b00"
COVERED_COLOUR = "#2e9e44"
UNCOVERED_COLOUR = "#d62728"
NICE_KM = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 50.0, 100.0)


def draw_map(result: PlanResult, sites: list[Site], path: Path) -> None:
    """Draw the plan's map into the PNG ``path``."""
    from planner.report import covered_mask

    figure = Figure(figsize=(10, 10), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    _background(ax, result)
    covered = covered_mask(result)
    xy = result.demand.xy
    base = 14.0 if len(xy) < 500 else 5.0 if len(xy) < 5000 else 2.0
    # Heavier points are drawn larger: a market outweighs a background grid point on the map as in the plan.
    weight = result.demand.weight
    size = base * (0.3 + 1.7 * np.sqrt(weight / max(float(weight.max(initial=0.0)), 1e-9)))
    ax.scatter(xy[~covered, 0], xy[~covered, 1], s=size[~covered], c=UNCOVERED_COLOUR, linewidths=0, zorder=3)
    ax.scatter(xy[covered, 0], xy[covered, 1], s=size[covered], c=COVERED_COLOUR, linewidths=0, zorder=5)
    for existing, colour in ((False, NEW_COLOUR), (True, EXISTING_COLOUR)):
        group = [s for s in sites if s.existing == existing]
        sectors = [sector_polygon(s.x, s.y, s.heading_deg, s.hfov_deg, s.range_m) for s in group]
        rings = [np.asarray(p.exterior.coords) for p in sectors if not p.is_empty]
        ax.add_collection(PolyCollection(rings, facecolors=colour, edgecolors=colour, alpha=0.18, linewidths=0.4))
        ax.scatter([s.x for s in group], [s.y for s in group], s=12, c=colour, marker="^", linewidths=0, zorder=6)
    ax.set_aspect("equal")
    ax.autoscale_view()
    if result.areas:  # the area frames the map; an existing camera far outside it must not shrink it to a dot
        west, south, east, north = shapely.total_bounds(np.asarray([g for _, g in result.areas], dtype=object))
        margin = 0.04 * max(east - west, north - south)
        ax.set_xlim(west - margin, east + margin)
        ax.set_ylim(south - margin, north + margin)
    ax.set_axis_off()
    ax.set_autoscale_on(False)  # the scale bar must not move the view it measures
    _scale_bar(ax)
    figure.legend(handles=_legend(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    new = sum(1 for s in sites if not s.existing)
    ax.set_title(
        f"{result.name}: {result.solution.coverage:.1%} of weighted demand covered, "
        f"{new} new + {len(sites) - new} existing cameras",
        fontsize=11,
    )
    figure.tight_layout(rect=(0.0, 0.06, 1.0, 1.0))  # room for the legend below the map
    figure.savefig(path, format="png")


def _background(ax: Axes, result: PlanResult) -> None:
    if result.buildings:
        rings = [np.asarray(p.exterior.coords) for p in _polygons(result.buildings)]
        ax.add_collection(PolyCollection(rings, facecolors="#c8c8c8", edgecolors="none", zorder=1))
    if result.roads:
        lines = [shapely.get_coordinates(line) for line in result.roads]
        ax.add_collection(LineCollection(lines, colors="#9a9a9a", linewidths=0.6, zorder=1))
    boundaries = [shapely.get_coordinates(ring) for _, area in result.areas for ring in _rings(area)]
    if boundaries:
        ax.add_collection(LineCollection(boundaries, colors="#555555", linewidths=0.5, zorder=2))
    if not len(result.demand) and not boundaries:
        ax.plot([0], [0], alpha=0)  # something to scale the view on


def _polygons(geoms: list[BaseGeometry]) -> list[shapely.Polygon]:
    return [p for g in geoms for p in shapely.get_parts(g) if isinstance(p, shapely.Polygon) and not p.is_empty]


def _rings(area: BaseGeometry) -> list[BaseGeometry]:
    return [ring for polygon in _polygons([area]) for ring in (polygon.exterior, *polygon.interiors)]


def _scale_bar(ax: Axes) -> None:
    """A bar of a round length in km, about a fifth of the map's width, in the lower left corner."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width_km = (x1 - x0) / 1000.0
    length_km = max([k for k in NICE_KM if k <= width_km / 5.0], default=NICE_KM[0])
    left, bottom = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([left, left + length_km * 1000.0], [bottom, bottom], color="black", linewidth=3, zorder=5)
    label = f"{length_km:g} km" if length_km >= 1 else f"{length_km * 1000:g} m"
    ax.text(left, bottom + (y1 - y0) * 0.012, label, fontsize=9, zorder=5)


def _legend() -> list[Line2D | Patch]:
    return [
        Line2D([], [], marker="^", linestyle="", color=NEW_COLOUR, label="new camera"),
        Line2D([], [], marker="^", linestyle="", color=EXISTING_COLOUR, label="existing camera"),
        Patch(facecolor=NEW_COLOUR, alpha=0.3, label="view sector (detect range)"),
        Line2D([], [], marker="o", linestyle="", color=COVERED_COLOUR, label="demand point, covered"),
        Line2D([], [], marker="o", linestyle="", color=UNCOVERED_COLOUR, label="demand point, not covered"),
    ]
