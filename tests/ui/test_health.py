"""The health board: both cameras online, with their uptime per camera."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.helpers import CAMERA_NAME, OTHER_CAMERA_NAME, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]


def test_the_health_board_shows_every_camera_online(
    logged_in_page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page = logged_in_page
    page.goto("/ui/#/health")
    expect(page.get_by_text(text("health.offline.none"))).to_be_visible()
    table = page.get_by_role("table", name=text("health.byCamera"))
    for name in (CAMERA_NAME, OTHER_CAMERA_NAME):
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
        expect(row).to_contain_text(text("health.state.online"))
    screenshot(page, "health")
