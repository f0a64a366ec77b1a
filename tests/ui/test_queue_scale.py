"""The queue with 1,000 open incidents: how long its first render takes (printed, not asserted).

The incidents are written straight into the running service's database (see ``seed_incidents``). This
module runs last: the other views' tests see the service's own incidents only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.service import Service
from tests.ui.helpers import seed_incidents, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

SEEDED = 1_000
OPEN = ["new", "acknowledged", "dispatched", "in_progress", "on_hold"]  # what the queue shows


def test_the_queue_renders_1000_open_incidents(
    logged_in_page: Page, ui_service: Service, screenshot: Callable[[Page, str], Path]
) -> None:
    seed_incidents(ui_service, SEEDED)
    total = sum(ui_service.get("/api/incidents", params={"status": s, "limit": 1}).json()["total"] for s in OPEN)
    assert total >= SEEDED

    page = logged_in_page
    page.reload()  # the queue loads the incidents anew
    page.wait_for_function("window.__mkQueueRenderMs !== undefined")
    rows = page.locator("#view tr[data-id]")
    expect(rows).to_have_count(total, timeout=30_000)
    render_ms = page.evaluate("window.__mkQueueRenderMs")
    print(f"queue: {total} open incidents rendered in {render_ms:.0f} ms")
    expect(page.get_by_text(text("queue.count", n=str(total)))).to_be_visible()
    screenshot(page, "queue-1000")
