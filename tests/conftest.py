"""Shared fixtures: real assets, offline ultralytics, the RTSP simulator and PostgreSQL plugins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings, prepare_ultralytics

pytest_plugins = ["tests.fixtures.rtsp", "tests.fixtures.postgres"]

ROOT = Path(__file__).resolve().parent.parent


def _assets_dir() -> Path:
    configured = os.environ.get("CCTV_ASSETS_DIR")
    path = Path(configured) if configured else ROOT.parent / "shared" / "assets"
    if not (path / "weights").is_dir() or not (path / "footage").is_dir():
        raise RuntimeError(
            f"real assets not found at {path}: set CCTV_ASSETS_DIR to the folder holding weights/ and footage/"
        )
    return path


ASSETS = _assets_dir()


@pytest.fixture(scope="session", autouse=True)
def _offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test downloads anything; ultralytics writes only into a temporary cache."""
    os.environ["MATAKOTA_ALLOW_DOWNLOADS"] = "0"
    os.environ["CCTV_ASSETS_DIR"] = str(ASSETS)
    cache = tmp_path_factory.mktemp("cache")
    os.environ["MATAKOTA_CACHE_DIR"] = str(cache)
    prepare_ultralytics(Settings(cache_dir=cache))


@pytest.fixture
def assets_dir() -> Path:
    """The real weights, footage and images."""
    return ASSETS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh data directory per test."""
    return Settings(data_dir=tmp_path / "data", assets_dir=ASSETS, cache_dir=tmp_path / "cache", allow_downloads=False)
