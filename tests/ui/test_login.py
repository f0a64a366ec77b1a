"""Logging in to the web UI: a wrong password is refused with a message, the right one opens the queue."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.ui.helpers import OPERATOR, log_in, text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.rtsp, pytest.mark.weights]


def test_a_wrong_password_shows_an_error_and_the_right_one_opens_the_queue(
    page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto("/ui/")
    page.wait_for_url("**/ui/#/login")  # nobody is logged in: the shell sends the browser to the login form
    expect(page.get_by_role("heading", name=text("core.login.title"))).to_be_visible()
    screenshot(page, "login")

    log_in(page, OPERATOR[0], "not-the-password")
    error = page.get_by_role("alert").filter(has_text=text("core.login.failed", message=""))
    expect(error).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/login$"))

    log_in(page, *OPERATOR)
    page.wait_for_url("**/ui/#/queue")
    expect(page.locator("#user-name")).to_have_text(OPERATOR[0])
    expect(page.locator("#user-role")).to_have_text(text("core.role.operator"))
