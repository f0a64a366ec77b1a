"""The plan's files, written from a small plan built by hand: GeoJSON, cameras.yaml, map, CSV, HTML, summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import yaml
from scipy import sparse
from shapely import box
from shapely.geometry.base import BaseGeometry

from core.config_loader import parse_config
from planner.geo import LocalFrame
from planner.model import CameraModel, CandidateSet, Coverage, DemandSet, Solution
from planner.report import coverage_tables, write_report
from planner.result import PlanResult
from planner.sizing import size_plan
from planner.spec import SizingSpec

FRAME = LocalFrame.around(104.75, -2.98)
X0, Y0 = (float(v) for v in FRAME.to_xy(104.75, -2.98))
MODEL = CameraModel("bullet-4mp", 2560, 1440, 90.0, 6.0, 4096.0)
NAME = 'Plan <Kota> & "Palembang"'

# Seven demand points: 0-3 are covered, 4 is in reach but hidden, 5 is out of reach, 6 is left out.
POINTS = [(-50, 0), (-60, 50), (50, 0), (50, 50), (80, -80), (-90, -90), (-50, 90)]
# Candidates: 0 existing, 1 and 2 new and chosen, 3 new and not chosen.
SEES = {0: [0, 1], 1: [2, 3], 2: [3], 3: [6]}


def _result() -> PlanResult:
    demand = DemandSet(
        xy=np.array([(X0 + dx, Y0 + dy) for dx, dy in POINTS], dtype=float),
        weight=np.array([1, 1, 1, 5, 5, 1, 1], dtype=float),
        klass=np.array([0, 0, 0, 1, 1, 0, 0]),
        class_names=["road", "market"],
        required_ppm=np.array([25, 25, 25, 62.5, 62.5, 25, 25]),
        area=np.array([0, 0, 1, 1, 1, 0, 0]),
        area_names=["Ilir <Barat>", "Ulu & Co"],
        label=["", "", "", "Pasar 16 Ilir", "Pasar <Kuto>", "", ""],
    )
    candidates = CandidateSet(
        xy=np.array([(X0 - 70, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 30), (X0 - 50, Y0 + 70)]),
        heading_deg=np.array([90.0, 45.0, 0.0, 180.0]),
        model=np.zeros(4, dtype=np.int64),
        models=[MODEL],
        pole=np.arange(4),
        existing=np.array([True, False, False, False]),
        name=["sudirman_charitas", "", "", ""],
    )
    rows = [c for c, seen in SEES.items() for _ in seen]
    cols = [p for seen in SEES.values() for p in seen]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(4, 7))
    coverage = Coverage(matrix, pairs_tested=28, blocked=2, in_reach=np.array([1, 1, 1, 1, 1, 0, 1], dtype=bool))
    exact = Solution("exact", np.array([1, 0, 2]), 8.0, 15.0, 3.0, 0.5, optimal=True, bound=3.0, gap=0.0)
    greedy = Solution("greedy", np.array([0, 1, 2]), 8.0, 15.0, 3.0, 0.01)
    areas: list[tuple[str, BaseGeometry]] = [
        ("Ilir <Barat>", box(X0 - 100, Y0 - 100, X0, Y0 + 100)),
        ("Ulu & Co", box(X0, Y0 - 100, X0 + 100, Y0 + 100)),
    ]
    sizing = size_plan([MODEL] * 3, SizingSpec(), 48.0, "test figure")
    return PlanResult(NAME, FRAME, demand, candidates, coverage, exact, [greedy], areas, sizing, "target 50%")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_report(_result(), tmp_path_factory.mktemp("plan") / "out")


def test_every_file_is_written(written: dict[str, Path]) -> None:
    assert sorted(written) == ["cameras.yaml", "coverage.csv", "map.png", "plan.geojson", "report.html", "summary.json"]
    assert all(path.is_file() and path.stat().st_size > 0 for path in written.values())


def test_coverage_tables_count_per_area_class_and_reason() -> None:
    tables = coverage_tables(_result())
    assert [(r.name, r.points, r.covered_points, r.weight, r.covered_weight) for r in tables.per_area] == [
        ("Ilir <Barat>", 4, 2, 4.0, 2.0),
        ("Ulu & Co", 3, 2, 11.0, 6.0),
    ]
    assert [(r.name, r.points, r.covered_weight) for r in tables.per_class] == [("road", 5, 3.0), ("market", 2, 5.0)]
    assert [(r.points, r.weight) for r in tables.uncovered] == [(1, 1.0), (1, 5.0), (1, 1.0)]
    assert "hidden by buildings" in tables.uncovered[1].name


def test_the_geojson_holds_each_camera_and_its_sector(written: dict[str, Path]) -> None:
    data = json.loads(written["plan.geojson"].read_text())
    cameras = [f for f in data["features"] if f["properties"]["kind"] == "camera"]
    sectors = [f for f in data["features"] if f["properties"]["kind"] == "sector"]
    assert [c["properties"]["id"] for c in cameras] == ["sudirman_charitas", "plan_001", "plan_002"]
    assert [c["properties"]["existing"] for c in cameras] == [True, False, False]
    assert [c["properties"]["area"] for c in cameras] == ["Ilir <Barat>", "Ulu & Co", "Ulu & Co"]
    assert len(sectors) == 3 and all(s["geometry"]["type"] == "Polygon" for s in sectors)
    lon, lat = cameras[1]["geometry"]["coordinates"]
    assert lon == pytest.approx(104.75027, abs=1e-5) and lat == pytest.approx(-2.98, abs=1e-6)
    assert cameras[1]["properties"]["heading"] == 45.0 and cameras[1]["properties"]["range_m"] > 0


def _merged_config(cameras_yaml: Path) -> str:
    new = yaml.safe_load(cameras_yaml.read_text())["cameras"]
    base = {
        "version": 1,
        "defaults": {"detect": {"fps": 4}},
        "cameras": [
            {
                "id": "sudirman_charitas",
                "name": "Simpang Charitas",
                "inputs": [{"url": "rtsp://10.0.0.1/stream1", "roles": ["detect", "record", "live"]}],
                "location": {"lat": -2.9787, "lon": 104.7503},
            },
            *new,
        ],
    }
    return yaml.safe_dump(base, sort_keys=False)


def test_cameras_yaml_validates_as_it_is_under_a_config_with_defaults(written: dict[str, Path]) -> None:
    text = written["cameras.yaml"].read_text()
    assert text.startswith("# New cameras planned") and "FILL-ME" in text
    config = parse_config(_merged_config(written["cameras.yaml"]))
    assert [c.id for c in config.cameras] == ["sudirman_charitas", "plan_001", "plan_002"]
    planned = config.camera("plan_001")
    assert (planned.location.heading, planned.location.fov_deg, planned.detect.fps) == (45.0, 90.0, 4.0)
    assert planned.location.kelurahan == "Ulu & Co"
    assert planned.inputs[0].url == "rtsp://FILL-ME:FILL-ME@FILL-ME:554/stream1"


def test_cameras_yaml_takes_the_credentials_from_the_named_variables(
    written: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAN_002_USER", "operator")
    monkeypatch.setenv("PLAN_002_PASSWORD", "secret")
    config = parse_config(_merged_config(written["cameras.yaml"]))
    assert config.camera("plan_002").inputs[0].url == "rtsp://operator:secret@FILL-ME:554/stream1"


def test_the_map_is_a_png_image(written: dict[str, Path]) -> None:
    assert written["map.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(written["map.png"])
    assert image.ndim == 3 and image.shape[0] > 500


def test_the_csv_has_one_row_per_area(written: dict[str, Path]) -> None:
    with written["coverage.csv"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["area"], r["points"], r["coverage"]) for r in rows] == [
        ("Ilir <Barat>", "4", "0.5000"),
        ("Ulu & Co", "3", "0.5455"),
    ]


def test_the_html_is_self_contained_with_escaped_names_and_every_table(written: dict[str, Path]) -> None:
    html = written["report.html"].read_text()
    assert "data:image/png;base64," in html
    for heading in ("Summary", "Coverage per area", "Coverage per demand class", "What stays uncovered", "Sizing"):
        assert heading in html
    assert "Ilir &lt;Barat&gt;" in html and "Ulu &amp; Co" in html and "Pasar &lt;Kuto&gt;" in html
    assert "<Barat>" not in html and "<Kuto>" not in html and "<Kota>" not in html
    assert "exact (the plan)" in html and "greedy" in html


def test_the_summary_holds_the_key_figures(written: dict[str, Path]) -> None:
    data = json.loads(written["summary.json"].read_text())
    assert data["name"] == NAME
    assert (data["cameras_new"], data["cameras_existing"], data["cameras_total"]) == (2, 1, 3)
    assert data["coverage"] == pytest.approx(8 / 15)
    assert data["solution"]["solver"] == "exact" and data["solution"]["gap"] == 0.0
    assert data["alternatives"][0]["solver"] == "greedy"
    assert [u["points"] for u in data["uncovered"]] == [1, 1, 1]
    assert data["sizing"]["servers"] == 1 and data["crs"] == "EPSG:32748"
