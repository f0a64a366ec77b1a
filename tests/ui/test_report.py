"""A citizen's report: posted through Open311 in front of a camera, opened from the queue, checked with a fresh picture, linked and unlinked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ASSETS
from tests.fixtures.service import Service
from tests.ui.helpers import CAMERA, CAMERA_NAME, incidents, text, wait_for_incident

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

PHOTO = ASSETS / "images" / "ultralytics-bus.jpg"
# About 40 m from the live camera (-2.9787, 104.7503), straight ahead of it (it looks at 200°):
# inside its view, so it is the camera the report page suggests asking for a picture.
IN_FRONT = (-2.97904, 104.75018)
DESCRIPTION = "Bus berhenti di lajur kiri depan Simpang Charitas, lalu lintas tersendat"
UNLINKABLE = ("false_positive", "duplicate")


def _post_report(service: Service) -> str:
    """Post a report as a citizen's app would (no credentials, the photo if the assets have it); its public id."""
    data = {"service_code": "other", "lat": str(IN_FRONT[0]), "long": str(IN_FRONT[1]), "description": DESCRIPTION}
    files = {"media": ("IMG_0001.jpg", PHOTO.read_bytes(), "image/jpeg")} if PHOTO.is_file() else None
    answer = httpx.post(f"{service.url}/open311/v2/requests.json", data=data, files=files, timeout=20)
    assert answer.status_code == 201, answer.text
    service_request_id: str = answer.json()[0]["service_request_id"]
    return service_request_id


def _report(service: Service, report_id: int) -> dict[str, object]:
    body: dict[str, object] = service.get(f"/api/citizen-reports/{report_id}").json()
    return body


def test_a_citizens_report_is_checked_with_a_fresh_picture_and_linked_and_unlinked(
    logged_in_page: Page, ui_service: Service, screenshot: Callable[[Page, str], Path]
) -> None:
    wait_for_incident(ui_service)  # one incident of the live camera to link the report to
    incident = next(i for i in incidents(ui_service) if i["status"] not in UNLINKABLE)
    sid = _post_report(ui_service)
    items = ui_service.get("/api/citizen-reports", params={"limit": 200}).json()["items"]
    report_id = next(r["id"] for r in items if r["service_request_id"] == sid)

    # The queue lists it beside the incidents (live, or loaded with the page) and opens its page.
    page = logged_in_page
    page.locator(f'#view .queue-reports a[href="#/reports/{report_id}"]').click()
    page.wait_for_url(f"**/ui/#/reports/{report_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(sid)
    expect(page.locator("#view .report-description")).to_have_text(DESCRIPTION)
    if PHOTO.is_file():
        photo = page.get_by_role("img", name=text("report.photo.alt", id=sid))
        expect(photo).to_be_visible()
        page.wait_for_function("document.querySelector('#view .report-photo img').naturalWidth > 0")

    # The live camera sees the place and is the one suggested; it answers with a fresh picture.
    suggested = page.locator("#view li.report-camera.is-suggested")
    expect(suggested).to_have_count(1)
    expect(suggested).to_have_attribute("data-camera", CAMERA)
    expect(suggested).to_contain_text(text("report.camera.suggested"))
    page.get_by_role("button", name=text("report.fresh.askCamera", camera=CAMERA_NAME), exact=True).click()
    fresh = suggested.locator(".fresh-result img")
    expect(fresh).to_be_visible(timeout=20_000)  # the API waits up to 10 s for the camera's next frame
    page.wait_for_function(
        "document.querySelector('#view .report-camera.is-suggested .fresh-result img').naturalWidth > 0"
    )
    shots = ui_service.get(f"/api/cameras/{CAMERA}/snapshots", params={"limit": 5}).json()
    assert any(s["report_id"] == report_id and s["status"] == "ready" for s in shots), shots

    # Linking to an incident that does not exist is refused, and the API's reason is shown.
    panel = page.get_by_role("region", name=text("report.incident"), exact=True)
    expect(panel).to_contain_text(text("report.incident.none"))
    number = page.get_by_label(text("report.link.incident"))
    number.fill("999999")
    page.get_by_role("button", name=text("report.link"), exact=True).click()
    expect(page.locator("#toasts .toast-error")).to_contain_text("999999")

    # Linked by hand to the camera's incident: the page shows it, with a way back to it.
    number.fill(str(incident["id"]))
    page.get_by_role("button", name=text("report.link"), exact=True).click()
    expect(panel.locator(f'a[href="#/incidents/{incident["id"]}"]')).to_be_visible()
    expect(page.locator("#view .report-confirmed")).to_be_visible()  # a camera's incident confirms the report
    assert _report(ui_service, report_id)["incident_id"] == incident["id"]
    page.locator("#toasts").evaluate("(box) => box.replaceChildren()")  # the notices would hide the page
    screenshot(page, "report")

    # Unlinked again, then correlated again: nothing matches an "other" report, so it stays unlinked.
    page.get_by_role("button", name=text("report.unlink.label", id=str(incident["id"])), exact=True).click()
    expect(panel).to_contain_text(text("report.incident.none"))
    expect(panel.locator(f'a[href="#/incidents/{incident["id"]}"]')).to_have_count(0)
    before = _report(ui_service, report_id)
    assert before["incident_id"] is None
    page.get_by_role("button", name=text("report.correlate"), exact=True).click()
    expect(page.locator("#toasts .toast-ok").filter(has_text=text("report.correlated.done"))).to_be_visible()
    after = _report(ui_service, report_id)
    assert after["incident_id"] is None and str(after["correlated_at"]) > str(before["correlated_at"]), after
    expect(suggested).to_have_attribute("data-camera", CAMERA)  # the cameras looked for again: the same one
