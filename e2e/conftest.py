"""Headless Chromium against pytest-django's live server, with screenshots kept for failed tests.

A failed test's screenshots (one per step, and one of the page it failed on) and that page's HTML are
written to $E2E_ARTIFACTS/<test name>/, by default artifacts/e2e/<test name>/ in the repository.
"""

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from e2e.pages import Browser, slug

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--window-size=1280,1000",
)
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _chromium(accept_languages: str):
    """A headless Chromium whose pages ask for `accept_languages` (its Accept-Language header and navigator)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = f"e2e tests need Chromium and its driver; not found: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}. CI must install them (Debian: chromium, chromium-driver).", pytrace=False)
        pytest.skip(reason)
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_ARGUMENTS, f"--lang={accept_languages.split(',')[0]}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": accept_languages})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Explicit paths keep Selenium Manager out of it; offline, it could not download a browser or driver anyway.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()
            # Quitting closes Chromium's keep-alive connections. The server's threads for them end by closing the
            # test database connection, which they may only do while the live server (stopped after this) shares it.
            for thread in threading.enumerate():
                if thread.name.endswith("(process_request_thread)"):
                    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium(live_server):
    yield from _chromium("en-US,en")


@pytest.fixture(scope="session")
def chromium_italian(live_server):
    """A browser set to Italian, as most of the lab's first users' are."""
    yield from _chromium("it-IT,it")


@pytest.fixture
def browser(chromium, live_server, settings, request):
    """A browser with no cookies, on a live server that speaks plain HTTP on the loopback interface."""
    yield from _browser(chromium, live_server, settings, request)


@pytest.fixture
def italian_browser(chromium_italian, live_server, settings, request):
    """The same in Italian; every step's screenshot is kept in artifacts/e2e/italian/ (or $E2E_ARTIFACTS/italian/),
    failed or not: they are how a translator reviews the pages in place."""
    page = None
    for page in _browser(chromium_italian, live_server, settings, request):
        yield page
    if page is not None:
        _write_screenshots(page, _artifacts_root() / "italian")


def _browser(chromium, live_server, settings, request):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.get_log("browser")  # reading the log empties it: the previous test's entries are not this one's
    page = Browser(chromium, live_server.url)
    yield page
    call = request.node.stash.get(REPORTS, {}).get("call")
    if call is not None and call.failed:
        folder = _write_artifacts(page, request.node.name)
        request.node.add_report_section("teardown", "e2e artefacts", f"Screenshots and page HTML: {folder}")


def _artifacts_root() -> Path:
    return Path(os.environ.get("E2E_ARTIFACTS") or REPOSITORY / "artifacts" / "e2e")


def _write_artifacts(page: Browser, test_name: str) -> Path:
    folder = _artifacts_root() / re.sub(r"[^\w.-]", "_", test_name)
    _write_screenshots(page, folder, [("failure", page.driver.get_screenshot_as_png())])
    (folder / "page.html").write_text(page.driver.page_source, encoding="utf-8")
    return folder


def _write_screenshots(page: Browser, folder: Path, more=()) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for number, (name, png) in enumerate([*page.screenshots, *more], start=1):
        (folder / f"{number:02d}-{slug(name)}.png").write_bytes(png)
