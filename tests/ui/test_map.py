"""The map: the cameras at their places and the camera's open incident, drawn from the running service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.service import Service
from tests.ui.helpers import CAMERA_NAME, OTHER_CAMERA_NAME, text, wait_for_incident

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]


def _label_start(key: str, **variables: str) -> str:
    """The start of a marker's label, up to its first placeholder left unfilled."""
    return text(key, **variables).split("{", 1)[0]


def test_the_map_shows_the_cameras_and_the_open_incident(
    logged_in_page: Page, ui_service: Service, screenshot: Callable[[Page, str], Path]
) -> None:
    incident = wait_for_incident(ui_service)
    page = logged_in_page
    page.goto("/ui/#/map")
    page.wait_for_function("window.__mkMap && window.__mkMap.cameras === 2 && window.__mkMap.incidents >= 1")
    drawn = page.evaluate("window.__mkMap")
    print(f"map: {drawn}")
    for name in (CAMERA_NAME, OTHER_CAMERA_NAME):
        label = _label_start("map.camera.label", name=name)
        expect(page.locator(f'.leaflet-marker-icon[aria-label^="{label}"]')).to_be_visible()
    label = _label_start("map.incident.label", id=str(incident["id"]))
    expect(page.locator(f'.leaflet-marker-icon[aria-label^="{label}"]')).to_have_count(1)
    screenshot(page, "map")
