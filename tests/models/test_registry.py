"""The model registry resolves verified weights from the assets directory and never downloads in tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import ModelUnavailable
from core.settings import Settings
from models.registry import get_spec, load_manifest, resolve, verify


def test_every_manifest_entry_is_complete() -> None:
    for spec in load_manifest().values():
        assert spec.files and all(len(digest) == 64 for digest in spec.files.values())
        assert spec.official_url.startswith("https://")
        assert spec.licence


def test_default_model_resolves_to_the_verified_assets(settings: Settings) -> None:
    model = resolve("yolo11n-int8-openvino", settings)
    assert model.source == "assets"
    assert (model.path / "yolo11n.xml").is_file()


def test_a_corrupt_copy_is_not_used(tmp_path: Path, assets_dir: Path) -> None:
    spec = get_spec("yolo11n-int8-openvino")
    copy = tmp_path / "weights" / spec.path
    shutil.copytree(assets_dir / "weights" / spec.path, copy)
    assert verify(spec, tmp_path / "weights") == []
    with (copy / "yolo11n.bin").open("r+b") as handle:
        handle.write(b"\0\0\0\0")
    problems = verify(spec, tmp_path / "weights")
    assert problems and "wrong sha256" in problems[0]
    settings = Settings(data_dir=tmp_path, assets_dir=tmp_path, allow_downloads=False)
    with pytest.raises(ModelUnavailable, match="downloads are off"):
        resolve(spec.name, settings)


def test_unknown_model_names_list_the_known_ones(settings: Settings) -> None:
    with pytest.raises(ModelUnavailable, match=r"the registry has: .*yolo11n-int8-openvino"):
        resolve("yolov99", settings)


@pytest.mark.weights
@pytest.mark.parametrize(("fmt", "imgsz"), [("onnx", 320), ("openvino", 416)])
def test_an_export_variant_is_made_once_in_the_cache_and_detects(
    settings: Settings, assets_dir: Path, fmt: str, imgsz: int
) -> None:
    import av

    from analytics.detector import Detector

    name = f"yolo11n-coco-pt@{fmt}-{imgsz}"
    made = resolve(name, settings)
    assert made.source == "export" and made.spec.input_size == imgsz and made.spec.format == fmt
    assert made.path.is_relative_to(settings.resolved_cache_dir)  # never next to the read-only weights
    assert not (assets_dir / "weights" / made.path.name).exists()
    again = resolve(name, settings)
    assert again.source == "cache" and again.path == made.path
    with av.open(str(assets_dir / "footage" / "bgslibrary-video02.avi")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    counts = Detector(made.path).detect([frame], imgsz=imgsz)[0].count_by_class()
    assert counts.get("car", 0) >= 3, counts  # the traffic scene's cars, through ONNX Runtime / OpenVINO


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("yolo11n-coco-pt@tflite-320", "unknown export format 'tflite'"),
        ("yolo11n-coco-pt@onnx-333", "input size '333' is not one of"),
        ("yolo11n-int8-openvino@onnx-320", "only PyTorch models export"),
        ("nosuch@onnx-320", "unknown model 'nosuch'"),
    ],
)
def test_bad_export_variants_are_refused_with_the_reason(settings: Settings, name: str, message: str) -> None:
    with pytest.raises(ModelUnavailable, match=message):
        resolve(name, settings)


def test_weights_given_by_path_are_used_as_they_are(settings: Settings, assets_dir: Path, tmp_path: Path) -> None:
    spec = get_spec("yolo11n-coco-pt")
    local = resolve(str(assets_dir / "weights" / spec.path), settings)
    assert local.source == "local" and local.spec.format == "pytorch" and local.path.is_file()
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve(str(tmp_path / "best.pt"), settings)
