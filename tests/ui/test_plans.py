"""Coverage plans: a supervisor asks for a plan of one kelurahan and sees it run to its map and figures; an operator only reads."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.ui.helpers import SUPERVISOR, log_in, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]

KELURAHAN = "Tujuh Ulu"  # a small kelurahan with a market and two schools in BIG's base map
CHOSEN = {"market", "school"}
CLASSES = ["market", "terminal", "hospital", "school", "health_centre", "bridge", "government"]
EMPTY_KELURAHAN = "Sungaipangeran"  # no market of the base map lies in it: a plan of its markets fails
PLAN_NAME = f"Uji UI {KELURAHAN} {int(time.time())}"
_SUPERVISOR_COOKIES: list[Any] = []  # one supervisor login for the module: logins are rate limited


def _as_supervisor(page: Page) -> None:
    """Log the supervisor in through the form the first time; later, reuse that session's cookie."""
    if _SUPERVISOR_COOKIES:
        page.context.add_cookies(_SUPERVISOR_COOKIES)
        page.goto("/ui/#/queue")
    else:
        log_in(page, *SUPERVISOR)
    page.wait_for_url("**/ui/#/queue")
    page.locator("#user-name").filter(has_text=SUPERVISOR[0]).wait_for()
    _SUPERVISOR_COOKIES[:] = page.context.cookies()


def _percent(shown: str) -> float:
    """'100,0 %' (Indonesian) as 100.0."""
    match = re.search(r"([\d.,]+)\s*%", shown)
    assert match, shown
    return float(match.group(1).replace(".", "").replace(",", "."))


def test_a_supervisor_asks_for_a_plan_and_sees_its_map_and_figures(
    page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    _as_supervisor(page)
    page.get_by_role("navigation").get_by_role("link", name=text("core.nav.plans"), exact=True).click()
    page.wait_for_url("**/ui/#/plans")

    form = page.get_by_role("form", name=text("plans.form.title"))
    form.get_by_label(text("plans.form.kelurahanFilter")).fill("tujuh")
    form.get_by_label(KELURAHAN, exact=True).check()
    expect(form.get_by_text(text("plans.form.kelurahanChosen", n="1"))).to_be_visible()
    for cls in CLASSES:
        form.get_by_label(text(f"plans.class.{cls}")).set_checked(cls in CHOSEN)
    form.get_by_label(text("plans.form.byTarget")).check()
    form.get_by_label(text("plans.form.target")).fill("95")
    form.get_by_label(text("plans.form.name"), exact=True).fill(PLAN_NAME)
    started = time.monotonic()
    form.get_by_role("button", name=text("plans.form.submit")).click()

    # The plan appears at once and the list follows it, polling, until the planner process is done.
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=PLAN_NAME, exact=True))
    expect(row).to_be_visible()
    expect(row.get_by_text(text("plans.status.done"), exact=True)).to_be_visible(timeout=90_000)
    print(f"plan done in {time.monotonic() - started:.1f} s")
    expect(row.get_by_role("progressbar")).to_have_count(0)

    row.get_by_role("link", name=PLAN_NAME).click()
    page.wait_for_url(re.compile(r".*/ui/#/plans/\d+$"))
    detail = page.get_by_role("region", name=PLAN_NAME)
    image = detail.get_by_role("img", name=re.compile(re.escape(PLAN_NAME)))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    cameras = detail.locator("dd[data-fig=cameras]")
    expect(cameras).to_contain_text(re.compile(r"\d+"))
    coverage = detail.locator("dd[data-fig=coverage]").inner_text()
    assert _percent(coverage) >= 95 or "capped" in coverage, coverage
    expect(detail.locator("dd[data-fig=proof]")).not_to_be_empty()
    expect(detail.locator("dd[data-fig=beside]")).to_contain_text("greedy")
    for fig in ("network", "storage", "servers"):
        expect(detail.locator(f"dd[data-fig={fig}]")).to_contain_text(re.compile(r"\d"))

    report = detail.get_by_role("link", name=text("plans.openReport"))
    expect(report).to_have_attribute("target", "_blank")
    answer = page.request.get(report.get_attribute("href") or "")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    for name in ("plan.geojson", "cameras.yaml", "coverage.csv"):
        link = detail.get_by_role("link", name=text("plans.download", file=name))
        expect(link).to_have_attribute("download", re.compile(re.escape(name)))

    # Nothing is queued or running any more: the view stops polling.
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/api/plans") else None)
    page.wait_for_timeout(4500)
    assert not polls, polls
    screenshot(page, "plans")


def test_a_plan_that_fails_shows_why(page: Page) -> None:
    _as_supervisor(page)
    page.goto("/ui/#/plans")
    form = page.get_by_role("form", name=text("plans.form.title"))
    form.get_by_label(EMPTY_KELURAHAN, exact=True).check()
    for cls in CLASSES:
        form.get_by_label(text(f"plans.class.{cls}")).set_checked(cls == "market")  # no market in it
    name = f"{PLAN_NAME} gagal"
    form.get_by_label(text("plans.form.name"), exact=True).fill(name)
    form.get_by_role("button", name=text("plans.form.submit")).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
    expect(row.get_by_text(text("plans.status.failed"), exact=True)).to_be_visible(timeout=60_000)
    expect(row).to_contain_text("none of its")
    expect(row.get_by_role("link")).to_have_count(0)  # nothing to open


def test_an_operator_reads_the_plans_but_cannot_ask_for_one(logged_in_page: Page) -> None:
    page = logged_in_page
    page.goto("/ui/#/plans")
    table = page.get_by_role("table", name=text("plans.list"))
    expect(table.get_by_role("rowheader", name=PLAN_NAME, exact=True)).to_be_visible()
    expect(page.get_by_text(text("plans.form.onlySupervisors"))).to_be_visible()
    expect(page.get_by_role("form", name=text("plans.form.title"))).to_have_count(0)
    refused = page.request.post("/api/plans", data={"demand": {"area_grid": {}}})
    assert refused.status == 403
    assert "supervisor" in refused.json()["detail"]
