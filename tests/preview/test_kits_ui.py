"""Build on the built-in model in the real UI: a kit chip with a switch, the turn's files,
a working preview, and the one line that points to a model that can do more."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.preview.conftest import launch_chromium

pytestmark = pytest.mark.slow  # the app on the built-in model, in Chromium

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

RECOMMENDED = {
    "spec": "gemma-4-e4b",
    "name": "Gemma 4 E4B",
    "quant": "Q4_K_M",
    "size_bytes": 5_895_164_640,
    "context": 32768,
    "tokens_per_s": 10.7,
    "verdict": "fits",
    "fast_enough": True,
    "why": "needs 7.2 GB of 12.0 GB free",
    "installed": False,
}


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def test_a_first_build_on_the_built_in_model(start_server, browser) -> None:  # type: ignore[no-untyped-def]
    server = start_server("embedded")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # actions; each `expect` of the model's reply says its own
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def models(route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        body = response.json()
        body["recommended"] = RECOMMENDED  # this machine's own pick varies; fix it
        route.fulfill(response=response, json=body)

    page.route("**/api/models", models)
    page.goto(server.open_url)
    page.get_by_test_id("mode-toggle").locator('[data-mode="build"]').click()
    guide = page.get_by_test_id("canvas-guide")
    expect(guide).to_be_visible()
    expect(guide).to_contain_text("Built-in demo model")
    expect(guide).to_contain_text("Gemma 4 E4B")
    expect(guide.get_by_test_id("guide-download")).to_have_text("Download and switch")

    box = page.get_by_test_id("composer-input")
    box.fill("a stopwatch with start, stop and reset")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/c_"))
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply).to_have_attribute("data-status", "complete", timeout=60_000)
    chips = reply.get_by_test_id("action-chip")
    expect(chips.first).to_have_text("✓Started from: Stopwatch")
    expect(reply.get_by_test_id("turn-files")).to_contain_text("Added")
    expect(reply.get_by_test_id("turn-files")).to_contain_text("index.html")

    # The preview runs the kit: Start makes the time move.
    frame = page.frame_locator('[data-testid="preview-frame"]')
    display = frame.locator("#display, .big-number").first
    expect(display).to_be_visible()
    before = display.inner_text()
    frame.get_by_role("button", name="Start").click()
    page.wait_for_timeout(500)
    assert display.inner_text() != before

    # Switch kit: the files go back and the project starts again from the timer.
    switch = reply.get_by_test_id("kit-switch")
    switch.select_option("timer")
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply.get_by_test_id("action-chip").first).to_have_text(
        "✓Started from: Timer", timeout=60_000
    )
    expect(reply).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(page.locator('[data-testid="message"][data-role="user"]')).to_have_count(1)

    # After a reload the chip, the switch and the files line are still there.
    page.reload()
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply.get_by_test_id("action-chip").first).to_have_text("✓Started from: Timer")
    expect(reply.get_by_test_id("kit-switch")).to_be_visible()
    expect(reply.get_by_test_id("turn-files")).to_contain_text("index.html")
    assert not errors, errors
    # A /api/models fetch the page started may still be in the route handler; closing
    # under it would fail the teardown rather than the test.
    page.unroute_all(behavior="ignoreErrors")
    context.close()
