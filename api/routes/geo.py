"""The map: the city's kecamatan and kelurahan boundaries as GeoJSON, and the web map's base layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep
from api.geo_schemas import MapConfigOut, TileLayerOut
from api.schemas import ErrorOut
from core.settings import Settings
from incidents.boundaries import BoundariesUnavailable, BoundaryLevel, boundaries_file, source_path

router = APIRouter(prefix="/api/geo", tags=["map"])

TAG: dict[str, Any] = {
    "name": "map",
    "description": (
        "The city's administrative boundaries (BIG's kecamatan and kelurahan polygons, simplified for a browser) "
        "and the web map's base layer."
    ),
}
GEOJSON = "application/geo+json"
CACHE_CONTROL = "private, max-age=86400"  # boundaries change once in years; a new file has a new ETag
_GEOJSON_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {"schema": {"type": "object"}}}, "description": "A GeoJSON FeatureCollection."},
    404: {"model": ErrorOut, "description": "The assets directory has no boundary file for this level."},
}


@router.get("/config")
def map_config(settings: SettingsDep) -> MapConfigOut:
    """What the web map draws as its base: an online tile layer when configured, and the boundary levels."""
    tiles = None
    if settings.map_tiles_url:
        tiles = TileLayerOut(url=settings.map_tiles_url, attribution=settings.map_tiles_attribution)
    return MapConfigOut(tiles=tiles, boundaries=[level.value for level in BoundaryLevel if _has(settings, level)])


@router.get("/kecamatan.geojson", response_class=FileResponse, responses=_GEOJSON_ANSWER)
async def kecamatan(settings: SettingsDep) -> FileResponse:
    """The kecamatan (districts): properties `name`, `kecamatan` and `code` (Kemendagri's, e.g. `16.71.01`)."""
    return await _serve(settings, BoundaryLevel.KECAMATAN)


@router.get("/kelurahan.geojson", response_class=FileResponse, responses=_GEOJSON_ANSWER)
async def kelurahan(settings: SettingsDep) -> FileResponse:
    """The kelurahan (urban villages): properties `name`, `kelurahan`, `kecamatan` and `code`."""
    return await _serve(settings, BoundaryLevel.KELURAHAN)


async def _serve(settings: Settings, level: BoundaryLevel) -> FileResponse:
    # Simplifying takes a tenth of a second, once per source file: off the event loop all the same.
    path = await run_in_threadpool(boundaries_file, settings.assets_dir, settings.resolved_cache_dir, level)
    return FileResponse(path, media_type=GEOJSON, headers={"Cache-Control": CACHE_CONTROL})


def _has(settings: Settings, level: BoundaryLevel) -> bool:
    try:
        source_path(settings.assets_dir, level)
    except BoundariesUnavailable:
        return False
    return True


def install(app: FastAPI) -> None:
    """Add the routes and their tag's description to ``app``."""
    app.include_router(router)
    app.openapi_tags = [*(app.openapi_tags or []), TAG]
