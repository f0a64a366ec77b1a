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
