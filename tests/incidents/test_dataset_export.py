"""Reviewed incidents become a YOLO dataset that the dataset check accepts: real footage frames, a real database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.config import AppConfig
from core.messages import EventPhase
from core.settings import Settings
from incidents.dataset_export import DatasetExportError, ExportSummary, export_dataset, label_boxes
from incidents.db import make_engine, make_session_factory, migrate, session_scope
from incidents.evidence import EvidenceStore
from incidents.models import ReviewVerdict
from incidents.recorder import IncidentRecorder
from incidents.reviews import add_review
from incidents.types import from_ts
from models.datasets import load_data_yaml, make_data_yaml
from runtime.cli import app
from tests.incidents.helpers import T0, make_event, tiny_jpeg

FOOTAGE = "footage/bgslibrary-video.avi"  # road surface, 640x360
PILE = [0.25, 0.5, 0.375, 0.75]  # x1, y1, x2, y2 in 0-1


def _frames(assets_dir: Path, count: int) -> list[bytes]:
    """``count`` real frames of the footage, 60 frames apart, as JPEG (quality 90, as the pipeline keeps them)."""
    capture = cv2.VideoCapture(str(assets_dir / FOOTAGE))
    frames: list[bytes] = []
    try:
        for index in range(count * 60):
            ok, image = capture.read()
            assert ok, f"{FOOTAGE} ended after {index} frames"
            if index % 60 == 0:
                ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
                assert ok
                frames.append(bytes(encoded.tobytes()))
    finally:
        capture.release()
    return frames


def _dumping(box: list[float] | None) -> dict[str, Any]:
    """Details as the dumping rule writes them (one pile), or with no location at all."""
    if box is None:
        return {"duration_s": 60.0}
    pile = {"box": [160, 180, 240, 270], "box_norm": box, "area_px": 5000, "zone_fraction": 0.02}
    return {**pile, "piles": [pile], "start_boxes_norm": [box], "duration_s": 60.0}


class Incidents:
    """Opens, ends and reviews incidents through the real recorder."""

    def __init__(self, recorder: IncidentRecorder, factory: sessionmaker[Session]) -> None:
        self.recorder, self.factory, self.opened = recorder, factory, 0

    def add(
        self,
        verdict: ReviewVerdict | None,
        *,
        frame: bytes | None,
        kind: str = "dumping",
        details: dict[str, Any] | None = None,
    ) -> int:
        at = T0 + 1000 * self.opened
        self.opened += 1
        start = make_event(
            EventPhase.START, kind=kind, at_ts=at, started_ts=at, details=details, snapshot_jpeg=tiny_jpeg()
        )
        assert self.recorder.handle_event(replace(start, frame_jpeg=frame)) is not None
        self.recorder.handle_event(make_event(EventPhase.END, kind=kind, at_ts=at + 10, started_ts=at))
        incident_id = self.opened
        if verdict is not None:
            with session_scope(self.factory) as session:
                add_review(incident_id, verdict, by="rina", session=session)
        return incident_id


@pytest.fixture
def data_settings(tmp_path: Path, fresh_db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=fresh_db_url)


@pytest.fixture
def factory(data_settings: Settings) -> Iterator[sessionmaker[Session]]:
    migrate(data_settings.resolved_database_url)
    engine = make_engine(data_settings.resolved_database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def evidence(data_settings: Settings) -> EvidenceStore:
    return EvidenceStore(data_settings.evidence_dir)


@pytest.fixture
def incidents(factory: sessionmaker[Session], evidence: EvidenceStore, config: AppConfig) -> Incidents:
    return Incidents(IncidentRecorder(factory, evidence, config), factory)


@pytest.fixture
def reviewed(incidents: Incidents, assets_dir: Path) -> None:
    """Two confirmed dumping incidents with a pile, one false alarm, and four that cannot be used."""
    frames = _frames(assets_dir, 4)
    incidents.add(ReviewVerdict.CONFIRMED, frame=frames[0], details=_dumping(PILE))
    incidents.add(ReviewVerdict.CONFIRMED, frame=frames[1], details=_dumping([0.5, 0.5, 0.75, 1.0]))
    incidents.add(ReviewVerdict.FALSE_POSITIVE, frame=frames[2], details=_dumping(PILE))
    incidents.add(ReviewVerdict.CONFIRMED, frame=None, details=_dumping(PILE))  # before raw frames were kept
    incidents.add(ReviewVerdict.CONFIRMED, frame=frames[3], details=_dumping(None))  # nothing to label
    incidents.add(None, frame=frames[3], details=_dumping(PILE))  # never reviewed
    incidents.add(ReviewVerdict.CONFIRMED, frame=frames[3], kind="congestion")  # not an exported kind


def _export(factory: sessionmaker[Session], evidence: EvidenceStore, out: Path, **kwargs: Any) -> ExportSummary:
    with session_scope(factory) as session:
        return export_dataset(out, session=session, store=evidence, **kwargs)


@pytest.mark.usefixtures("reviewed")
def test_confirmed_incidents_become_labelled_images_and_false_alarms_empty_labels(
    factory: sessionmaker[Session], evidence: EvidenceStore, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    summary = _export(factory, evidence, out, kinds=["dumping"], val_fraction=0.5, seed=1)

    assert (summary.positives, summary.negatives, summary.boxes) == (2, 1, 2)
    assert summary.names == ("trash",)
    assert dict(summary.skipped) == {
        "no raw frame (recorded before raw frames were kept)": 1,
        "confirmed, but its details hold no box to label": 1,
    }
    labels = {p.stem: p.read_text() for p in out.glob("*/labels/*.txt")}
    assert labels == {
        "incident-1": "0 0.312500 0.625000 0.125000 0.250000\n",
        "incident-2": "0 0.625000 0.750000 0.250000 0.500000\n",
        "incident-3": "",  # the false alarm: a hard negative
    }
    images = sorted(out.glob("*/images/*.jpg"))
    assert sorted(p.stem for p in images) == sorted(labels)
    shapes = {getattr(cv2.imread(str(p)), "shape", None) for p in images}
    assert shapes == {(360, 640, 3)}  # the real frames, whole
    assert summary.per_split["train"] >= 1 and summary.per_split["val"] >= 1

    # What the models commands need: the dataset check and the data.yaml that training reads.
    make_data_yaml(out, tmp_path / "checked", ["trash"])
    dataset = load_data_yaml(summary.data_yaml)
    assert (dataset.names, dataset.images, dataset.boxes) == (("trash",), 3, 2)
    assert "positives 2 (2 boxes), hard negatives 1" in summary.text()


@pytest.mark.usefixtures("reviewed")
def test_the_same_seed_gives_the_same_split(
    factory: sessionmaker[Session], evidence: EvidenceStore, tmp_path: Path
) -> None:
    def split(out: Path, seed: int) -> list[str]:
        _export(factory, evidence, out, kinds=["dumping"], val_fraction=0.5, seed=seed)
        return sorted(p.name for p in (out / "val" / "images").iterdir())

    assert split(tmp_path / "a", 7) == split(tmp_path / "b", 7)


@pytest.mark.usefixtures("reviewed")
def test_a_flood_incident_is_labelled_with_the_box_around_its_water(
    incidents: Incidents, factory: sessionmaker[Session], evidence: EvidenceStore, assets_dir: Path, tmp_path: Path
) -> None:
    frame = _frames(assets_dir, 1)[0]
    water = {"water_fraction": 0.5, "water_box_norm": [0.0, 0.5, 1.0, 1.0], "water_polygon": [[0, 0.5], [1, 0.5]]}
    flood_id = incidents.add(ReviewVerdict.CONFIRMED, frame=frame, kind="flood", details=water)

    summary = _export(factory, evidence, tmp_path / "out")

    assert summary.names == ("trash", "water")
    label = next((tmp_path / "out").glob(f"*/labels/incident-{flood_id}.txt")).read_text()
    assert label == "1 0.500000 0.750000 1.000000 0.500000\n"
    assert load_data_yaml(summary.data_yaml).names == ("trash", "water")


@pytest.mark.usefixtures("reviewed")
def test_a_flood_with_its_water_outline_is_labelled_with_the_outline_for_segmentation(
    incidents: Incidents, factory: sessionmaker[Session], evidence: EvidenceStore, assets_dir: Path, tmp_path: Path
) -> None:
    frames = _frames(assets_dir, 2)
    outline = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
    water = {"water_box_norm": [0.0, 0.5, 1.0, 1.0], "water_polygon": [[0, 0], [1, 0], [1, 1]]}
    first = incidents.add(ReviewVerdict.CONFIRMED, frame=frames[0], kind="flood", details=water)
    incidents.add(
        ReviewVerdict.CONFIRMED, frame=frames[1], kind="flood", details={**water, "start_water_polygon": outline}
    )

    summary = _export(factory, evidence, tmp_path / "out", kinds=["flood"])

    assert summary.names == ("water",)
    label = next((tmp_path / "out").glob(f"*/labels/incident-{first}.txt")).read_text()
    assert label == "0 0.000000 0.000000 1.000000 0.000000 1.000000 1.000000\n"
    dataset = load_data_yaml(summary.data_yaml)
    assert dataset.outlines == dataset.boxes == 2  # every object an outline: `models train --task segment` takes it


BOX = [0.1, 0.2, 0.3, 0.4]


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        ("dumping", {"start_boxes_norm": [BOX], "piles": [{"box_norm": [0, 0, 1, 1]}]}, [BOX]),
        ("dumping", {"piles": [{"box_norm": BOX}, {"box_norm": [0.5, 0.5, 0.6, 0.6]}]}, [BOX, [0.5, 0.5, 0.6, 0.6]]),
        ("dumping", {"box_norm": BOX}, [BOX]),
        ("dumping", {"start_boxes_norm": [[0.3, 0.2, 0.1, 0.4], [0.1, "x", 0.3, 0.4], [0.1]]}, []),
        ("flood", {"water_box_norm": [-0.1, 0.5, 1.2, 1.0]}, [[0.0, 0.5, 1.0, 1.0]]),
        ("flood", {"start_water_box_norm": BOX, "water_box_norm": [0, 0, 1, 1]}, [BOX]),
        ("flood", {"water_fraction": 0.4}, []),
        ("congestion", {"vehicles": 12}, []),
    ],
)
def test_label_boxes_read_the_rules_details_clip_to_the_image_and_drop_malformed_boxes(
    kind: str, details: dict[str, Any], expected: list[list[float]]
) -> None:
    assert [list(box) for box in label_boxes(kind, details)] == expected


@pytest.mark.usefixtures("reviewed")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ["congestion"]}, "cannot export kind(s) congestion"),
        ({"kinds": []}, "cannot export kind(s) (none)"),
        ({"val_fraction": 1.0}, "between 0 and 1"),
        ({"since": from_ts(T0 + 1e6)}, "only 0 usable reviewed incident(s)"),
    ],
)
def test_export_refuses_what_it_cannot_make(
    factory: sessionmaker[Session], evidence: EvidenceStore, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DatasetExportError, match=re.escape(message)):
        _export(factory, evidence, tmp_path / "out", **kwargs)


@pytest.mark.usefixtures("reviewed")
def test_export_never_writes_into_a_folder_in_use(
    factory: sessionmaker[Session], evidence: EvidenceStore, tmp_path: Path
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(DatasetExportError, match="not an empty folder"):
        _export(factory, evidence, used)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]


@pytest.mark.usefixtures("reviewed")
def test_the_cli_exports_and_prints_a_summary(data_settings: Settings, tmp_path: Path) -> None:
    env = {"MATAKOTA_DATA_DIR": str(data_settings.data_dir), "MATAKOTA_DATABASE_URL": data_settings.database_url}
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(
        app, ["dataset", "export", "--out", str(out), "--kinds", "dumping", "--since", "2025-06-15"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "positives 2 (2 boxes), hard negatives 1" in result.output
    assert "skipped 2:" in result.output
    assert load_data_yaml(out / "data.yaml").images == 3

    again = CliRunner().invoke(app, ["dataset", "export", "--out", str(out)], env=env)
    assert again.exit_code == 2
    assert "not an empty folder" in again.output
