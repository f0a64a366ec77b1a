"""Fine-tuning a registry model on real labelled photos writes only into the cache and yields a usable detector."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from models.datasets import DatasetError, load_data_yaml, make_data_yaml
from models.training import TrainingError, train
from runtime.cli import app

WASTE = "eval/waste-bags-street"
WASTE_NAMES = ["organic", "recycling", "mixed", "other"]


def _small_copy(source: Path, target: Path, counts: dict[str, int]) -> Path:
    """The first images of each split with their labels, in the waste dataset's layout."""
    for split, count in counts.items():
        (target / split / "images").mkdir(parents=True)
        (target / split / "labels").mkdir(parents=True)
        for image in sorted((source / split / "images").iterdir())[:count]:
            shutil.copy(image, target / split / "images")
            shutil.copy(source / split / "labels" / f"{image.stem}.txt", target / split / "labels")
    return target


@pytest.fixture
def small_waste(tmp_path: Path, assets_dir: Path) -> Path:
    """8 training and 4 validation photos of waste bags on pavements."""
    return _small_copy(assets_dir / WASTE, tmp_path / "waste", {"train": 8, "valid": 4})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to resolve or connect, refused and recorded."""
    attempts: list[Any] = []

    def refuse(*args: Any, **_kwargs: Any) -> Any:
        attempts.append(args[:2])
        raise OSError("network access in a test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    return attempts


def test_make_data_yaml_points_at_the_real_dataset_without_writing_into_it(tmp_path: Path, assets_dir: Path) -> None:
    made = make_data_yaml(assets_dir / WASTE, tmp_path / "out", WASTE_NAMES)
    assert made == tmp_path / "out" / "data.yaml"
    dataset = load_data_yaml(made)
    assert dataset.names == tuple(WASTE_NAMES)
    assert dataset.images == 477 + 45
    assert dataset.train[0] == (assets_dir / WASTE / "train" / "images").resolve()


@pytest.mark.parametrize(
    ("names", "change", "message"),
    [
        (["organic", "recycling"], "other-box", "class id 3 but only 2 class name"),
        (["organic", "organic", "mixed", "other"], None, "appear twice: organic"),
        (["organic", "recycling", "mixed", "oth\ner"], None, "bad class name"),
        ([], None, "no class names"),
        (WASTE_NAMES, "drop-label", "have no label file"),
        (WASTE_NAMES, "drop-image", "have no image"),
        (WASTE_NAMES, "drop-valid", "has no val split"),
        (WASTE_NAMES, "bad-box", r"4 coordinates \(a box\) or 3 or more x y pairs \(an outline\) in 0-1"),
        (WASTE_NAMES, "two-points", "3 or more x y pairs"),
        (WASTE_NAMES, "odd-outline", "3 or more x y pairs"),
    ],
)
def test_make_data_yaml_refuses_bad_datasets_with_the_reason(
    small_waste: Path, tmp_path: Path, names: list[str], change: str | None, message: str
) -> None:
    train_labels = sorted((small_waste / "train" / "labels").iterdir())
    if change == "drop-label":
        train_labels[0].unlink()
    elif change == "drop-image":
        next((small_waste / "train" / "images").iterdir()).unlink()
    elif change == "drop-valid":
        shutil.rmtree(small_waste / "valid")
    elif change == "other-box":
        train_labels[0].write_text("3 0.5 0.5 0.2 0.2")
    elif change == "bad-box":
        train_labels[0].write_text("0 0.5 0.5 1.5 0.2")
    elif change == "two-points":
        train_labels[0].write_text("0 0.1 0.1 0.5 0.5 0.9")  # 5 numbers: neither a box nor an outline
    elif change == "odd-outline":
        train_labels[0].write_text("0 0.1 0.1 0.5 0.1 0.5 0.5 0.2")
    with pytest.raises(DatasetError, match=message):
        make_data_yaml(small_waste, tmp_path / "out", names)


@pytest.mark.weights
def test_one_epoch_on_waste_photos_gives_a_detector_with_the_new_classes(
    small_waste: Path, tmp_path: Path, assets_dir: Path, settings: Settings, no_network: list[Any]
) -> None:
    import cv2

    from analytics.detector import Detector

    data = make_data_yaml(small_waste, tmp_path / "datasets", WASTE_NAMES)
    started = time.perf_counter()
    result = train("yolo11n-coco-pt", data, epochs=1, imgsz=160, batch=4, name="waste-test", settings=settings)
    elapsed = time.perf_counter() - started
    assert elapsed < 60, elapsed
    assert no_network == []  # ultralytics asked nothing of the network (fonts, weights, AMP check)
    assert result.run_dir == settings.resolved_cache_dir / "training" / "waste-test"
    assert result.best.is_file() and result.best.is_relative_to(result.run_dir)
    assert not any((assets_dir / "weights").glob("**/best.pt"))
    for value in (result.map50, result.map50_95, result.precision, result.recall):
        assert 0.0 <= value <= 1.0
    detector = Detector(result.best)
    assert detector.names == dict(enumerate(WASTE_NAMES))
    image = cv2.imread(str(next((small_waste / "valid" / "images").iterdir())))
    detections = detector.detect([image], imgsz=160, confidence=0.01)[0]
    assert set(detections.count_by_class()) <= set(WASTE_NAMES)


def test_a_run_name_that_is_not_a_plain_folder_name_is_refused(small_waste: Path, settings: Settings) -> None:
    data = make_data_yaml(small_waste, small_waste / "yaml", WASTE_NAMES)
    with pytest.raises(TrainingError, match="bad run name"):
        train("yolo11n-coco-pt", data, epochs=1, imgsz=160, batch=4, name="../escape", settings=settings)


def test_the_openvino_model_is_refused_for_training(small_waste: Path, settings: Settings) -> None:
    data = make_data_yaml(small_waste, small_waste / "yaml", WASTE_NAMES)
    with pytest.raises(TrainingError, match="only PyTorch detectors train"):
        train("yolo11n-int8-openvino", data, epochs=1, imgsz=160, batch=4, name="x", settings=settings)


def test_train_command_exits_2_with_the_reason_for_a_missing_data_yaml(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "data.yaml"
    result = CliRunner().invoke(app, ["models", "train", "--data", str(missing), "--name", "my-trash", "--epochs", "1"])
    assert result.exit_code == 2
    assert f"data file {missing} does not exist" in result.output


def test_train_command_exits_2_when_labels_use_more_classes_than_named(small_waste: Path) -> None:
    data = small_waste / "data.yaml"
    data.write_text("train: train/images\nval: valid/images\nnames: [organic, recycling]\n")
    next((small_waste / "valid" / "labels").iterdir()).write_text("2 0.5 0.5 0.2 0.2")
    result = CliRunner().invoke(app, ["models", "train", "--data", str(data), "--name", "my-trash", "--epochs", "1"])
    assert result.exit_code == 2
    assert "class id" in result.output and "only 2 class name(s)" in result.output


def test_dataset_command_writes_the_yaml_where_asked(small_waste: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["models", "dataset", str(small_waste), "--names", ",".join(WASTE_NAMES), "--out", str(tmp_path / "y")]
    )
    assert result.exit_code == 0, result.output
    assert load_data_yaml(tmp_path / "y" / "data.yaml").names == tuple(WASTE_NAMES)


def test_segment_training_on_water_outlines_gives_a_model_for_the_flood_slot(
    tmp_path: Path, assets_dir: Path, settings: Settings, no_network: list[Any]
) -> None:
    """One short epoch on the WATSEN water masks: the plumbing from labels to the flood rule's slot.

    The figures of a longer run are in the README; weights trained on these frames never ship.
    """
    from analytics.detector import Detector
    from analytics.evaluation.flood import DATASET
    from analytics.evaluation.flood_segmentation import evaluate_segmentation

    written = CliRunner().invoke(app, ["eval", "flood", "--write-dataset", str(tmp_path / "water")])
    assert written.exit_code == 0, written.output
    data = tmp_path / "water" / "data.yaml"
    dataset = load_data_yaml(data)
    assert dataset.names == ("water",) and dataset.images == 40
    assert dataset.outlines == dataset.boxes > 20  # every labelled region is an outline

    result = train(
        "yolo11n-coco-pt", data, epochs=1, imgsz=160, batch=8, name="water-test", settings=settings, task="segment"
    )

    assert no_network == []
    evaluation = evaluate_segmentation(result.best, assets_dir / DATASET, imgsz=160)
    assert evaluation.held_out.frames == 20
    assert 0.0 <= evaluation.held_out.recall <= 1.0
    measured = CliRunner().invoke(app, ["eval", "flood", "--model", str(result.best), "--imgsz", "160"])
    assert measured.exit_code == 0, measured.output
    assert "20 held-out frames" in measured.output and "mean IoU" in measured.output
    detector = Detector(result.best)
    assert detector.model.task == "segment" and detector.names == {0: "water"}


def test_segment_training_refuses_a_dataset_of_boxes(small_waste: Path, settings: Settings) -> None:
    data = make_data_yaml(small_waste, small_waste / "yaml", WASTE_NAMES)
    with pytest.raises(TrainingError, match="segmentation needs an outline"):
        train("yolo11n-coco-pt", data, epochs=1, imgsz=160, batch=4, name="x", settings=settings, task="segment")
