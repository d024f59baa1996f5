"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, watch_errors

sync_api = pytest.importorskip("playwright.sync_api")


# Module scope: Playwright's sync API holds an event loop on the main thread while it
# runs, which would break asyncio-based tests that run after it.
@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    if not CHROMIUM.exists():
        message = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it (.ci/run); a skip there would hide a gap
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[sync_api.Page]:
    """A fresh page; any uncaught JavaScript error, or anything the app's Content-Security-
    Policy blocked (an inline style or script the UI relies on), fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
