"""``cameras.yaml``: the plan's new sites as ``camera_config.yaml`` camera entries, with stream URLs to fill in."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from planner.report import Site

HEADER = """\
# New cameras planned by Mata Kota's coverage planner: plan "{name}", {today}.
#
# Merge the entries below into the `cameras:` list of camera_config.yaml; the config's
# `defaults` apply to them. Before use, fill in for every camera:
#   - the stream URL: replace the host FILL-ME with the camera's address (and the path if not
#     /stream1), and set the environment variables it names (e.g. PLAN_001_USER and
#     PLAN_001_PASSWORD; until they are set, the URL reads FILL-ME:FILL-ME@FILL-ME);
#   - location.heading and location.fov_deg as installed, and the address;
#   - zones, lines and rules once the camera's image is known.
# location.range_m is where the model still gives the 'detect' density (25 px/m).
"""


def new_site_id(number: int) -> str:
    """The camera id of the ``number``-th new site: ``plan_001`` (ids are ``[a-z0-9_]`` slugs)."""
    return f"plan_{number:03d}"


def stream_url(site_id: str, path: str = "stream1") -> str:
    """A placeholder RTSP URL whose credentials come from ``<ID>_USER`` and ``<ID>_PASSWORD``.

    The variables default to ``FILL-ME`` so the entries validate as they are; the host is
    ``FILL-ME`` until someone writes the camera's address there.
    """
    var = site_id.upper()
    return f"rtsp://${{{var}_USER:-FILL-ME}}:${{{var}_PASSWORD:-FILL-ME}}@FILL-ME:554/{path}"


def camera_entry(plan_name: str, site: Site) -> dict[str, Any]:
    """One ``cameras:`` entry for a new site."""
    where = f", {site.area}" if site.area else ""
    location: dict[str, Any] = {
        "lat": round(site.lat, 7),
        "lon": round(site.lon, 7),
        "heading": round(site.heading_deg, 1) % 360.0,
        "fov_deg": round(min(max(site.hfov_deg, 1.0), 360.0), 1),
        "range_m": max(round(site.range_m, 1), 0.1),
    }
    if site.area:
        location["kelurahan"] = site.area[:100]
    return {
        "id": site.id,
        "name": f"{plan_name} {site.id}{where}"[:200],
        "inputs": [{"url": stream_url(site.id), "roles": ["detect", "record", "live"]}],
        "location": location,
    }


def cameras_yaml(plan_name: str, sites: list[Site]) -> str:
    """The YAML text: a comment header saying what to fill in, then ``cameras:`` with one entry per site."""
    safe_name = " ".join(plan_name.split())  # no line break may escape the comment
    body = yaml.safe_dump(
        {"cameras": [camera_entry(plan_name, site) for site in sites]},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return HEADER.format(name=safe_name, today=date.today().isoformat()) + body
