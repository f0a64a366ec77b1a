"""A laptop's screen (1366x768): every view fits its width and keeps its main controls in reach."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.service import Service
from tests.ui.helpers import incidents, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

LAPTOP = {"width": 1366, "height": 768}


def _fits_the_width(page: Page) -> None:
    page.wait_for_function("document.documentElement.dataset.ready === 'true'")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url}: {overflow} px wider than the screen"
    for link in ("core.nav.queue", "core.nav.map", "core.nav.wall", "core.nav.health", "core.nav.plans"):
        expect(page.locator("nav.app-nav").get_by_role("link", name=text(link), exact=True)).to_be_in_viewport()


def test_every_view_fits_a_laptop_screen(logged_in_page: Page, ui_service: Service) -> None:
    page = logged_in_page
    page.set_viewport_size(LAPTOP)
    (incident,) = incidents(ui_service, limit=1)
    for route in ("#/queue", f"#/incidents/{incident['id']}", "#/wall", "#/map", "#/health", "#/plans"):
        page.goto(f"/ui/{route}")
        _fits_the_width(page)
    # The incident's actions stay reachable: scrolled to, never cut off at the side.
    page.goto(f"/ui/#/incidents/{incident['id']}")
    actions = page.get_by_role("button", name=text("incident.fresh.ask"))
    actions.scroll_into_view_if_needed()
    expect(actions).to_be_in_viewport()
