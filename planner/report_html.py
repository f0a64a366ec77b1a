"""``report.html``: one self-contained page (the map embedded) with the plan's summary, coverage and sizing.

Every string from the plan (names, labels, notes) passes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from planner.report import CoverageRow, CoverageTables, Site
    from planner.result import PlanResult

MAX_LISTED = 50  # uncovered points of interest listed by name
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #555; font-size: 0.9em; }
"""


def render_html(
    result: PlanResult, tables: CoverageTables, sites: list[Site], summary: dict[str, Any], png: bytes
) -> str:
    """The report page; ``summary`` is :func:`planner.report.summary`'s data, ``png`` the map."""
    image = base64.b64encode(png).decode("ascii")
    parts = [
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(result.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Camera plan: {escape(result.name)}</h1>",
        _summary_section(result, summary),
        f"<img alt='map of the plan' src='data:image/png;base64,{image}'>",
        "<h2>Coverage per area</h2>",
        _coverage_table("Area", tables.per_area),
        "<h2>Coverage per demand class</h2>",
        _coverage_table("Class", tables.per_class),
        _uncovered_section(result, tables),
        _sizing_section(result),
        _sites_section(sites),
        _notes_section(result),
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _optional(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _summary_section(result: PlanResult, summary: dict[str, Any]) -> str:
    new, existing, total = summary["cameras_new"], summary["cameras_existing"], summary["cameras_total"]
    rows = [
        ["Question", result.objective],
        ["Cameras", f"{new} new + {existing} existing = {total}"],
        ["Coverage achieved", f"{result.solution.coverage:.1%} of weighted demand"],
        ["Demand points / candidate sites", f"{len(result.demand):,} / {len(result.candidates):,}"],
        ["Metric frame", result.frame.crs],
    ]
    answers = [result.solution, *result.alternatives]
    solver_rows = [
        [
            s.solver + (" (the plan)" if s is result.solution else ""),
            str(len(s.chosen)),
            f"{s.coverage:.1%}",
            f"{s.cost:g}",
            "yes" if s.optimal else "no",
            _optional(s.bound, ".4g"),
            _optional(s.gap, ".2%"),
            f"{s.seconds:.1f}",
            s.status,
        ]
        for s in answers
    ]
    header = ["Solver", "Cameras", "Coverage", "Cost", "Proven optimal", "Bound", "Gap", "Seconds", "Status"]
    return "<h2>Summary</h2>" + _table(["", ""], rows) + "<h3>Solvers</h3>" + _table(header, solver_rows)


def _coverage_table(first: str, rows: list[CoverageRow]) -> str:
    header = [first, "Points", "Covered points", "Weight", "Covered weight", "Coverage"]
    body = [
        [r.name, str(r.points), str(r.covered_points), f"{r.weight:.4g}", f"{r.covered_weight:.4g}", f"{r.share:.1%}"]
        for r in rows
    ]
    return _table(header, body)


def _uncovered_section(result: PlanResult, tables: CoverageTables) -> str:
    from planner.report import REASONS, uncovered_reason

    rows = [[r.name, str(r.points), f"{r.weight:.4g}"] for r in tables.uncovered]
    html = "<h2>What stays uncovered, and why</h2>" + _table(["Reason", "Points", "Weight"], rows)
    demand = result.demand
    if not demand.label:
        return html
    listed: list[list[str]] = []
    for key, mask in uncovered_reason(result).items():
        for i in np.flatnonzero(mask):
            if demand.label[i] and len(listed) < MAX_LISTED:
                area = demand.area_names[demand.area[i]] if demand.area[i] >= 0 else ""
                listed.append([demand.label[i], demand.class_names[demand.klass[i]], area, REASONS[key]])
    if listed:
        html += f"<h3>Named points left uncovered (first {MAX_LISTED})</h3>"
        html += _table(["Name", "Class", "Area", "Reason"], listed)
    return html


def _sizing_section(result: PlanResult) -> str:
    sizing = result.sizing
    models = [
        [m.model, str(m.cameras), f"{m.bitrate_kbps:g}", f"{m.substream_kbps:g}", f"{m.detect_fps:g}"]
        for m in sizing.per_model
    ]
    totals = [
        ["Bandwidth, all streams", f"{sizing.bandwidth_mbps:,.1f} Mbit/s"],
        ["Recording bandwidth (main streams)", f"{sizing.recording_mbps:,.1f} Mbit/s"],
        ["Retention", f"{sizing.retention_days:g} days at {sizing.recording_duty:.0%} recording duty"],
        ["Recorded data", f"{sizing.data_tb:,.2f} TB"],
        ["Usable capacity (with overhead)", f"{sizing.usable_tb:,.2f} TB"],
        ["Raw disk capacity", f"{sizing.raw_tb:,.2f} TB ({sizing.raid}, {sizing.raid_efficiency:.0%} efficient)"],
        ["Frames to analyse", f"{sizing.detect_fps_total:,.0f} frames/s"],
        ["One analytics server", f"{sizing.detector_fps:,.1f} frames/s ({sizing.detector_source})"],
        ["Analytics servers", str(sizing.servers)],
    ]
    header = ["Model", "Cameras", "Main kbps", "Sub-stream kbps", "Detect frames/s"]
    return "<h2>Sizing</h2>" + _table(header, models) + _table(["For the whole plan", "Figure"], totals)


def _sites_section(sites: list[Site]) -> str:
    rows = [
        [
            s.id,
            "existing" if s.existing else "new",
            s.model,
            f"{s.heading_deg:.0f}",
            f"{s.hfov_deg:g}",
            f"{s.range_m:.0f}",
            f"{s.lat:.6f}",
            f"{s.lon:.6f}",
            s.area,
        ]
        for s in sites
    ]
    header = ["Id", "Status", "Model", "Heading", "FOV", "Detect range m", "Lat", "Lon", "Area"]
    return "<h2>Cameras</h2>" + _table(header, rows)


def _notes_section(result: PlanResult) -> str:
    notes = [*result.notes, *result.sizing.notes]
    timings = ", ".join(f"{escape(k)} {v:.1f} s" for k, v in result.seconds.items())
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    html = "<h2>Notes</h2>" + (f"<ul>{items}</ul>" if items else "<p class='note'>None.</p>")
    return html + (f"<p class='note'>Stage timings: {timings}</p>" if timings else "")
