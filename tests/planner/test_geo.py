"""The metric frame (UTM by default) and view-sector drawing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely import Point, Polygon, box

from planner.geo import LocalFrame, bearing_deg, sector_polygon, utm_epsg


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (104.75, -2.98, 32748),  # Palembang: zone 48 south
        (24.94, 60.17, 32635),  # Helsinki: zone 35 north
        (-0.1, 51.5, 32630),  # London, just west of Greenwich
        (180.0, 10.0, 32660),  # the antimeridian stays in zone 60
    ],
)
def test_the_default_frame_is_the_utm_zone_of_the_centre(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg
    assert LocalFrame.around(lon, lat).crs == f"EPSG:{epsg}"


def test_an_explicit_crs_wins_over_the_centre() -> None:
    frame = LocalFrame.around(104.75, -2.98, crs="EPSG:23833")  # DGN95 / Indonesia TM-3 zone 48.2
    assert frame.crs == "EPSG:23833"


@pytest.mark.parametrize("crs", ["EPSG:4326", "not a crs at all"])
def test_a_geographic_or_unknown_crs_is_refused(crs: str) -> None:
    with pytest.raises(ValueError, match="CRS"):
        LocalFrame(crs)


def test_lon_lat_go_to_metres_and_back_vectorised() -> None:
    frame = LocalFrame.around(104.75, -2.98)
    lon = np.array([104.70, 104.75, 104.80])
    lat = np.array([-3.00, -2.98, -2.95])
    x, y = frame.to_xy(lon, lat)
    assert x.shape == (3,)
    back_lon, back_lat = frame.to_lonlat(x, y)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


def test_a_thousandth_of_a_degree_of_latitude_is_about_111_metres() -> None:
    frame = LocalFrame.around(104.75, -2.98)
    _, y = frame.to_xy([104.75, 104.75], [-2.980, -2.979])
    assert float(y[1] - y[0]) == pytest.approx(110.6, abs=0.5)


def test_geometries_convert_both_ways_and_keep_their_area() -> None:
    frame = LocalFrame.around(104.75, -2.98)
    square = box(104.74, -2.99, 104.75, -2.98)  # 0.01 degree near the equator: about 1.1 km a side
    metric = frame.geometry_to_xy(square)
    assert isinstance(metric, Polygon)
    assert metric.area / 1e6 == pytest.approx(1.228, rel=0.01)
    assert frame.geometry_to_lonlat(metric).equals_exact(square, tolerance=1e-9)


def test_frame_for_geometries_centres_on_their_bounds() -> None:
    frame = LocalFrame.for_geometries([Point(24.93, 60.16), Point(24.96, 60.18)])
    assert frame.crs == "EPSG:32635"
    with pytest.raises(ValueError, match="no geometry"):
        LocalFrame.for_geometries([])


@pytest.mark.parametrize(
    ("dx", "dy", "bearing"),
    [(0, 1, 0), (1, 0, 90), (0, -1, 180), (-1, 0, 270), (1, 1, 45), (-1, 1, 315)],
)
def test_bearings_are_compass_degrees(dx: float, dy: float, bearing: float) -> None:
    assert float(bearing_deg(dx, dy)) == pytest.approx(bearing)


@pytest.mark.parametrize(
    ("heading", "direction"),
    [(0, (0, 1)), (90, (1, 0)), (180, (0, -1)), (270, (-1, 0))],
)
def test_a_sector_opens_towards_its_compass_heading(heading: float, direction: tuple[int, int]) -> None:
    sector = sector_polygon(100.0, 200.0, heading, 60.0, 50.0)
    centre = sector.centroid
    unit = np.array([centre.x - 100.0, centre.y - 200.0]) / math.hypot(centre.x - 100.0, centre.y - 200.0)
    np.testing.assert_allclose(unit, direction, atol=1e-9)


@pytest.mark.parametrize("hfov", [30.0, 90.0, 170.0, 360.0])
def test_a_sector_has_the_area_of_its_pie_slice(hfov: float) -> None:
    sector = sector_polygon(0.0, 0.0, 45.0, hfov, 80.0)
    assert sector.is_valid
    assert sector.area == pytest.approx(math.pi * 80.0**2 * hfov / 360.0, rel=0.01)


def test_a_sector_without_range_is_empty() -> None:
    assert sector_polygon(0.0, 0.0, 0.0, 90.0, 0.0).is_empty
