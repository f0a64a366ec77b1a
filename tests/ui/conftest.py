"""Browser fixtures: the whole service on a real RTSP camera, driven in Debian's headless Chromium by Playwright.

One service runs for the whole session (it takes a while to load its detector), with two cameras
of real traffic footage: ``sudirman_charitas`` raises congestion incidents within seconds and is
served live, ``ampera`` has no rules. Both carry the simulator's clock strip (``--clock``) in
their top rows. Playwright never downloads a browser: it launches
``/usr/bin/chromium`` (``apt-get install chromium``, done by ``scripts/bootstrap.sh``).

Screenshots of each view go to ``var/screenshots/{name}.png`` (1920x1080); with
``MATAKOTA_SCREENSHOTS_DIR=docs/screenshots`` they refresh the ones the README shows.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, ViewportSize, sync_playwright

from ingest.simulator import SimulatedCamera, Simulator
from tests.fixtures.service import ROOT, Service, running_service
from tests.ui.helpers import CAMERA, CAMERA_NAME, OPERATOR, OTHER_CAMERA, OTHER_CAMERA_NAME, SUPERVISOR, log_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    # The host's real addresses as ICE candidates, not random .local names: the service's WebRTC
    # stack (aiortc) cannot resolve mDNS names.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",  # the wall and the clip play muted video by themselves
]
VIEWPORT: ViewportSize = {"width": 1920, "height": 1080}
# var/screenshots (ignored) on every run; MATAKOTA_SCREENSHOTS_DIR=docs/screenshots refreshes the README's.
SCREENSHOTS = Path(os.environ.get("MATAKOTA_SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")


# The tests share one service, so they run in the order of an operator's shift: the queue is
# watched before the first incident has arrived, and the 1,000 seeded incidents come last.
MODULE_ORDER = [
    "test_login",
    "test_queue",
    "test_incident",
    "test_report",
    "test_wall",
    "test_map",
    "test_health",
    "test_laptop",
    "test_plans",
    "test_queue_scale",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last, ordered by MODULE_ORDER; the rest of the suite keeps its order.

    Last, because Playwright's sync API keeps an event loop running in the main thread for the
    session's browser: a later test that calls ``asyncio.run`` would refuse to start.
    """

    def rank(item: pytest.Item) -> int:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)

    ui = [item for item in items if item.get_closest_marker("ui")]
    if not ui:
        return
    others = [item for item in items if not item.get_closest_marker("ui")]
    items[:] = others + sorted(ui, key=rank)  # sorted() is stable: a module's own order is kept


def _config(url: str, other_url: str) -> str:
    # Tuned for bgslibrary-video02.avi (4-14 vehicles in view, 8 on average), as in the end-to-end test.
    return textwrap.dedent(
        f"""\
        defaults:
          detect: {{fps: 4}}
          record: {{pre_roll_s: 2, post_roll_s: 3, buffer_s: 15}}
          stream: {{offline_after_s: 5}}
        cameras:
          - id: {OTHER_CAMERA}
            name: {OTHER_CAMERA_NAME}
            inputs:
              - url: {other_url}
                roles: [detect, record, live]
            detect: {{fps: 1}}
            location: {{lat: -2.9917, lon: 104.7631, kecamatan: Seberang Ulu Satu}}
          - id: {CAMERA}
            name: {CAMERA_NAME}
            inputs:
              - url: {url}
                roles: [detect, record, live]
            location: {{lat: -2.9787, lon: 104.7503, heading: 200, kelurahan: Sungaipangeran, kecamatan: Ilir Timur Satu}}
            zones:
              - name: carriageway
                polygon: [[0.0, 0.35], [0.5, 0.1], [0.95, 0.1], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
            rules:
              - type: congestion
                zone: carriageway
                min_vehicles: 7
                min_duration_s: 1
                end_after_s: 5
        """
    )


@pytest.fixture(scope="session")
def ui_service(footage_dir: Path, system_python: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The whole service on two real RTSP cameras, with an operator and a supervisor who log in."""
    simulator = Simulator(
        [
            SimulatedCamera(CAMERA, footage_dir / "bgslibrary-video02.avi"),
            SimulatedCamera(OTHER_CAMERA, footage_dir / "bgslibrary-video03.avi"),
        ],
        python=system_python,
        clock=True,  # the time each frame left the camera, so the wall test measures glass to glass
    )
    try:
        simulator.start()
        users = {OPERATOR[0]: ("operator", OPERATOR[1]), SUPERVISOR[0]: ("supervisor", SUPERVISOR[1])}
        config = _config(simulator.url(CAMERA), simulator.url(OTHER_CAMERA))
        with running_service(config, tmp_path_factory.mktemp("ui-service"), users=users) as service:
            yield service
    finally:
        simulator.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium; skipped only where it is not installed (CI installs it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (scripts/bootstrap.sh does)")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    print(f"Chromium {browser.version}")
    yield browser
    browser.close()


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    # A 401 is how the shell learns that nobody is logged in yet: not worth reporting.
    if message.type == "error" and "status of 401" not in message.text:
        errors.append(f"console: {message.text}")


def new_context(browser: Browser, service: Service, **kwargs: Any) -> BrowserContext:
    """A fresh browser profile on the service, at 1920x1080, in the UI's first language."""
    context = browser.new_context(
        viewport=VIEWPORT,
        base_url=service.url,
        locale="id-ID",
        timezone_id="Asia/Jakarta",
        **kwargs,
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Browser, ui_service: Service) -> Iterator[Page]:
    """A page in a fresh browser context; the browser's errors are printed (pytest shows them on a failure)."""
    context = new_context(browser, ui_service)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: _console_error(message, errors))
    yield page
    for error in errors:
        print(f"browser {error}")
    context.close()


@pytest.fixture(scope="session")
def _operator_cookies() -> dict[str, Any]:
    return {}  # filled by the first logged_in_page: one login per session (logins are rate limited)


@pytest.fixture
def logged_in_page(page: Page, ui_service: Service, _operator_cookies: dict[str, Any]) -> Page:
    """``page`` with the operator logged in through the login form, on the queue.

    The first use logs in through the form; later ones reuse its session cookie, since the service
    allows only 10 logins a minute from one address.
    """
    if _operator_cookies:
        page.context.add_cookies(_operator_cookies["cookies"])
        page.goto("/ui/#/queue")
    else:
        log_in(page, *OPERATOR)
    page.wait_for_url("**/ui/#/queue")
    page.wait_for_function("document.documentElement.dataset.ready === 'true'")
    page.locator("#user-name").filter(has_text=OPERATOR[0]).wait_for()
    _operator_cookies["cookies"] = page.context.cookies()
    return page


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """``screenshot(page, name)`` saves the page as ``{SCREENSHOTS}/{name}.png``, 1920x1080."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # The whole page from its top, cut to the viewport's size, so every screenshot is the same size.
        page.screenshot(
            path=path,
            full_page=True,
            clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            animations="disabled",
            caret="hide",
        )
        return path

    return take
