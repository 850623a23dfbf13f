"""Browser fixtures: one headless Chromium per module (Debian's, never a downloaded one), a
fresh context per test on the real web server (`web_server`, tests/conftest.py), screenshots
when a test fails."""

import os
import re
import shutil

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
RUN_LIST = "/admin/orchestration/workflowrun/"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell a failed test in teardown."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium on PATH")
    # Playwright's sync API keeps its event loop running in the main thread, so Django's
    # async-safety check would refuse every ORM call the tests and fixtures make. Nothing here
    # runs the ORM from a coroutine; lift the check only while the browser is up.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(request, browser, web_server):
    """A page in a fresh browser context on the real server; the server and the suite's
    worker share the test database and Temporal server. 1366 px wide, a common laptop."""
    context = browser.new_context(base_url=web_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            _screenshots(page, request.node.name)
        context.close()


class Navigations:
    """Counts the main frame's navigations (page loads), to prove a page updated in place."""

    def __init__(self, page) -> None:
        self.count = 0
        page.on("framenavigated", self._seen)
        self._page = page

    def _seen(self, frame) -> None:
        if frame == self._page.main_frame:
            self.count += 1

    def reset(self) -> None:
        self.count = 0


@pytest.fixture
def navigations(page) -> Navigations:
    return Navigations(page)


def _screenshots(page, test_name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", test_name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{stem}-page.png"), full_page=True)
        page.goto(RUN_LIST)
        page.screenshot(path=str(ARTIFACTS / f"{stem}-run-list.png"), full_page=True)
    except Exception as error:  # a screenshot must not hide the test's own failure
        print(f"screenshots for {test_name} failed: {error}")
