"""The incident queue: an incident raised by the camera appears without reloading, and is worked with the keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.service import Service
from tests.ui.helpers import CAMERA_NAME, OPERATOR, incidents, label, seed_incidents, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]


def _loaded(page: Page) -> set[int]:
    """Wait for the queue's first render; the ids of the incidents it shows."""
    page.wait_for_function("window.__mkQueueRenderMs !== undefined")
    return {int(i) for i in page.locator("#view tr[data-id]").evaluate_all("(rows) => rows.map((r) => r.dataset.id)")}


def test_an_incident_from_the_camera_appears_in_the_open_queue_without_reloading(
    logged_in_page: Page, ui_service: Service, screenshot: Callable[[Page, str], Path]
) -> None:
    page = logged_in_page
    shown = _loaded(page)
    page.evaluate("window.__mkSamePage = true")  # a reload would lose it
    waited = time.monotonic()
    fresh = ui_service.wait_for(
        lambda: next((i for i in incidents(ui_service) if i["id"] not in shown), None), 150, "a new incident"
    )
    row = page.locator(f'#view tr[data-id="{fresh["id"]}"]')
    expect(row).to_be_visible(timeout=20_000)
    print(f"queue: incident {fresh['id']} shown {time.monotonic() - waited:.1f} s after the queue opened")
    expect(row.locator(".col-camera")).to_have_text(CAMERA_NAME)
    expect(row.locator(".col-status")).to_have_text(label("status", "new"))
    assert page.evaluate("window.__mkSamePage") is True, "the page was reloaded"
    screenshot(page, "queue")


def test_an_operator_acknowledges_and_dispatches_an_incident_with_the_keyboard(
    logged_in_page: Page, ui_service: Service
) -> None:
    (seeded,) = seed_incidents(ui_service, 1)  # one of its own: the camera's incidents are for the other tests
    page = logged_in_page
    page.reload()
    _loaded(page)
    row = page.locator(f'#view tr[data-id="{seeded}"]')
    row.locator(".col-kind").click()  # selects the row (its title is a link that would open it)
    expect(row).to_have_attribute("aria-current", "true")  # the row the keys act on

    page.keyboard.press("a")
    expect(row.locator(".col-status")).to_have_text(label("status", "acknowledged"))

    page.keyboard.press("d")
    if not ui_service.get(f"/api/incidents/{seeded}").json().get("routed_agency"):  # the operator picks one
        dialog = page.get_by_role("dialog", name=text("queue.dispatch.title"))
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name=text("queue.dispatch.ok"), exact=True).click()
    expect(row.locator(".col-status")).to_have_text(label("status", "dispatched"))
    after = ui_service.get(f"/api/incidents/{seeded}").json()
    assert after["status"] == "dispatched" and after["agency"], after
    moves = [
        (a["from_status"], a["to_status"], a["by"]) for a in ui_service.get(f"/api/incidents/{seeded}/audit").json()
    ]
    assert moves == [("new", "acknowledged", OPERATOR[0]), ("acknowledged", "dispatched", OPERATOR[0])], moves
