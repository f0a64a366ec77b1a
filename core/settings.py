"""Process-wide settings read from the environment (``MATAKOTA_*`` and ``CCTV_ASSETS_DIR``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_assets_dir() -> Path | None:
    candidate = PROJECT_ROOT.parent / "shared" / "assets"
    return candidate if candidate.is_dir() else None


class Settings(BaseSettings):
    """Where Mata Kota keeps its data and finds its assets.

    Every field can be set from the environment; the README lists them.
    """

    model_config = SettingsConfigDict(env_prefix="MATAKOTA_", frozen=True, extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Directory for the database, snapshots, clips and caches (MATAKOTA_DATA_DIR).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (MATAKOTA_DATABASE_URL); default: a SQLite file in the data directory.",
    )
    assets_dir: Path | None = Field(
        default_factory=_default_assets_dir,
        validation_alias=AliasChoices("CCTV_ASSETS_DIR", "MATAKOTA_ASSETS_DIR"),
        description="Directory with real weights and footage (CCTV_ASSETS_DIR); default ../shared/assets.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Writable cache for model exports and converted media (MATAKOTA_CACHE_DIR).",
    )
    allow_downloads: bool = Field(
        default=True,
        description="Fetch missing weights from their official URL (MATAKOTA_ALLOW_DOWNLOADS).",
    )
    log_level: str = Field(default="INFO", description="Log level (MATAKOTA_LOG_LEVEL).")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text, or as one JSON object per line for a log collector (MATAKOTA_LOG_FORMAT).",
    )
    cap_sender: str = Field(
        default="matakota@palembang.go.id",
        pattern=r"^[^\s,&<]+$",
        description="Sender of the CAP alerts, an address that names the city (MATAKOTA_CAP_SENDER).",
    )
    cap_sender_name: str = Field(
        default="Command Center Kota Palembang",
        description="Who issues the CAP alerts, in words (MATAKOTA_CAP_SENDER_NAME).",
    )
    cap_scope: Literal["Public", "Restricted"] = Field(
        default="Public",
        description="CAP scope: `Public`, or `Restricted` to the city's agencies (MATAKOTA_CAP_SCOPE).",
    )
    map_tiles_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S*\{z\}\S*$",
        description=(
            "Tile layer of the web map, e.g. `https://tile.example.org/{z}/{x}/{y}.png` (MATAKOTA_MAP_TILES_URL); "
            "default none: the kecamatan and kelurahan boundaries are the base layer, which works offline."
        ),
    )
    map_tiles_attribution: str = Field(
        default="",
        max_length=300,
        description="Credit line the tile provider requires, shown on the map (MATAKOTA_MAP_TILES_ATTRIBUTION).",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<data_dir>/matakota.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'matakota.db'}"

    @cached_property
    def resolved_cache_dir(self) -> Path:
        """The cache directory, defaulting to ``<data_dir>/cache``."""
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"

    @property
    def evidence_dir(self) -> Path:
        """Where snapshots and clips are written."""
        return self.data_dir / "evidence"

    @property
    def recordings_dir(self) -> Path:
        """Where continuous-recording segments are written (``<camera>/<YYYY-MM-DD>/<HH>/``)."""
        return self.data_dir / "recordings"

    @property
    def live_dir(self) -> Path:
        """Where the analytics publishes each camera's current detections for the live view."""
        return self.data_dir / "live"


def prepare_ultralytics(settings: Settings) -> None:
    """Keep ultralytics offline and its settings file in our cache (never next to the weights)."""
    import os

    config_dir = settings.resolved_cache_dir / "ultralytics"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.setdefault("YOLO_OFFLINE", "1")  # ultralytics must never fetch fonts, assets or weights itself
    os.environ.setdefault("YOLO_VERBOSE", "False")  # its console chatter bypasses our log format
