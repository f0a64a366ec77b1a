"""An incident's page: opened from the queue, its clip plays, and the operator acknowledges and dispatches it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.service import Service
from tests.ui.helpers import OPERATOR, label, text, wait_for_incident

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]


def test_an_incident_opened_from_the_queue_plays_its_clip_and_is_acknowledged_and_dispatched(
    logged_in_page: Page, ui_service: Service, screenshot: Callable[[Page, str], Path]
) -> None:
    incident = wait_for_incident(ui_service, clip_ready=True)  # the API answers 404/409 until the clip is cut
    assert incident["status"] == "new", incident
    page = logged_in_page
    page.wait_for_function("window.__mkQueueRenderMs !== undefined")
    page.locator(f'#view tr[data-id="{incident["id"]}"] a[href="#/incidents/{incident["id"]}"]').click()
    page.wait_for_url(f"**/ui/#/incidents/{incident['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident["title"])

    # The clip: the <video> loads the MP4 from the API and plays past its first second.
    video = page.get_by_label(text("incident.clip"), exact=True)
    expect(video).to_be_visible()
    video.evaluate("(v) => { v.muted = true; return v.play(); }")
    page.wait_for_function("document.querySelector('#view video').currentTime > 1", timeout=20_000)
    size = video.evaluate("(v) => [v.videoWidth, v.videoHeight, v.duration]")
    print(f"incident {incident['id']}: clip {size[0]}x{size[1]}, {size[2]:.1f} s, played past 1 s")
    assert size[0] > 0 and size[1] > 0

    status = page.locator("#view .incident-head .status")
    expect(status).to_have_text(label("status", "new"))
    page.get_by_role("button", name=text("incident.action.acknowledged"), exact=True).click()
    expect(status).to_have_text(label("status", "acknowledged"))
    page.get_by_role("button", name=text("incident.action.dispatched"), exact=True).click()
    expect(status).to_have_text(label("status", "dispatched"))
    audit = page.get_by_role("region", name=text("incident.audit")).get_by_role("listitem")
    expect(audit).to_have_count(2)
    expect(audit.last).to_contain_text(OPERATOR[0])

    after = ui_service.get(f"/api/incidents/{incident['id']}").json()
    assert after["status"] == "dispatched" and after["agency"], after
    screenshot(page, "incident")
