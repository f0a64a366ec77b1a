"""Response models of the map's routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Out


class TileLayerOut(Out):
    """An online tile layer to draw under the boundaries."""

    url: str = Field(description="URL template with `{z}`, `{x}` and `{y}`, as Leaflet takes it.")
    attribution: str = Field(description="Credit line the tile provider requires, shown on the map.")


class MapConfigOut(Out):
    """What the web map draws as its base."""

    tiles: TileLayerOut | None = Field(
        description="The online tile layer, when one is configured; null: the boundaries are the base layer (offline)."
    )
    boundaries: list[str] = Field(
        description="Boundary levels the service can serve now (`kecamatan`, `kelurahan`): those whose file exists."
    )
