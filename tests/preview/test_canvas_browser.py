"""The Build-mode canvas in a real browser against the real server (a replay model), with
the app's own preview server fed by the agent loop.

Until `/api/health` lists `"build"` in `features`, a browser route adds it (the UI offers
the Build toggle only to a server that says it builds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.preview.conftest import launch_chromium

sync_api = pytest.importorskip("playwright.sync_api")
Page = sync_api.Page
expect = sync_api.expect

SCRIPT = """I'll make a counter.
<action name="write_file">
<path>index.html</path>
<content>
<!doctype html>
<html lang="en">
<head><title>Counter</title><link rel="stylesheet" href="style.css"></head>
<body><h1 id="count">0</h1><button id="plus">+1</button><script src="app.js"></script></body>
</html>
</content>
</action>
<action name="write_file">
<path>style.css</path>
<content>
h1 { color: rgb(200, 0, 0); }
</content>
</action>
<action name="write_file">
<path>app.js</path>
<content>
document.getElementById('plus').addEventListener('click', () => increment());
startCounter();
</content>
</action>
=== turn ===
Done: a counter page.
=== turn ===
Fixing the missing function.
<action name="edit_file">
<path>app.js</path>
<old_string>startCounter();</old_string>
<new_string>let n = 0;
function increment() { n += 1; document.getElementById('count').textContent = n; }
document.body.dataset.ready = 'yes';</new_string>
</action>
<action name="edit_file">
<path>nope.js</path>
<old_string>a</old_string>
<new_string>b</new_string>
</action>
=== turn ===
Fixed: the counter works now.
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class App:
    """The real app with a replay model, and a browser page on it."""

    def __init__(self, start_server, replay_file, browser, tps: float) -> None:  # type: ignore[no-untyped-def]
        self.server = start_server(replay_file(SCRIPT, tps=tps))
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.route("**/api/health", self._health)

    def _health(self, route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        body = response.json()
        if "build" not in body.get("features", []):
            body["features"] = [*body.get("features", []), "build"]
        route.fulfill(response=response, json=body)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def make_app(start_server, replay_file, browser) -> Iterator:  # type: ignore[no-untyped-def]
    apps: list[App] = []

    def make(tps: float = 400) -> App:
        app = App(start_server, replay_file, browser, tps)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app) -> tuple[Page, object, list[str]]:  # type: ignore[no-untyped-def]
    made = make_app()
    return made.page, made.server, made.errors


def frame_of(page: Page):  # type: ignore[no-untyped-def]
    return page.frame_locator('[data-testid="preview-frame"]')


def test_build_mode_canvas_end_to_end(app) -> None:  # type: ignore[no-untyped-def]
    page, server, errors = app
    page.goto(server.open_url)
    toggle = page.get_by_test_id("mode-toggle")
    build = toggle.locator('[data-mode="build"]')
    expect(build).not_to_have_attribute("aria-disabled", "true")
    canvas = page.get_by_test_id("canvas")
    expect(canvas).to_be_hidden()

    # Build on an empty new chat: the canvas opens, Chat closes it again.
    build.click()
    expect(build).to_have_attribute("aria-pressed", "true")
    expect(canvas).to_be_visible()
    expect(page.get_by_test_id("composer-input")).to_have_attribute(
        "placeholder", "Describe what to build…"
    )
    toggle.locator('[data-mode="chat"]').click()
    expect(canvas).to_be_hidden()
    build.click()
    for tab in ("preview", "code", "files", "versions"):
        expect(page.get_by_test_id(f"canvas-tab-{tab}")).to_be_visible()

    # The first message creates a build conversation and runs the agent.
    box = page.get_by_test_id("composer-input")
    box.fill("Make a counter")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/c_"))
    conv_id = page.url.split("#/c/")[1]
    conv = page.request.get(f"{server.url}/api/conversations/{conv_id}").json()
    assert conv["mode"] == "build"

    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    chips = reply.get_by_test_id("action-chip")
    expect(chips).to_have_text(["✓Wrote index.html", "✓Wrote style.css", "✓Wrote app.js"])
    assert "<action" not in reply.get_by_test_id("message-content").inner_text()

    # Code: followed the files as they were written; the last one is showing.
    page.get_by_test_id("canvas-tab-code").click()
    code = page.get_by_test_id("code-view")
    expect(code).to_have_attribute("data-path", "app.js")
    expect(code).to_contain_text("startCounter();")
    expect(code.locator(".hljs-title, .hljs-string").first).to_be_visible()  # highlighted
    expect(page.locator(".code-gutter")).to_have_text(re.compile(r"^1\n2$"))

    # Files: the tree; a click opens the file in Code.
    page.get_by_test_id("canvas-tab-files").click()
    items = page.get_by_test_id("file-tree").get_by_test_id("file-item")
    expect(items).to_have_count(3)
    items.filter(has_text="style.css").click()
    expect(page.get_by_test_id("canvas-tab-code")).to_have_attribute("aria-selected", "true")
    expect(code).to_contain_text("rgb(200, 0, 0)")
    # A chip opens its file too.
    chips.filter(has_text="index.html").click()
    expect(code).to_have_attribute("data-path", "index.html")
    expect(code).to_contain_text('<h1 id="count">0</h1>')

    # Preview: the page runs in the sandboxed frame; its error shows with "Fix it".
    page.get_by_test_id("canvas-tab-preview").click()
    frame = page.get_by_test_id("preview-frame")
    expect(frame).to_have_attribute(
        "sandbox", "allow-scripts allow-same-origin allow-forms allow-modals allow-popups"
    )
    page.get_by_test_id("preview-refresh").click()
    expect(frame_of(page).locator("h1")).to_have_text("0")
    expect(frame_of(page).locator("h1")).to_have_css("color", "rgb(200, 0, 0)")
    strip = page.get_by_test_id("preview-errors")
    expect(strip).to_be_visible()
    expect(strip).to_contain_text("startCounter is not defined")
    expect(strip).to_contain_text("app.js")
    # The project's own origin: a port of its own on the app's host name.
    opened = re.compile(r"^http://127\.0\.0\.1:\d+/$")
    expect(page.get_by_test_id("preview-open")).to_have_attribute("href", opened)
    assert conv_id not in (page.get_by_test_id("preview-open").get_attribute("href") or "")
    expect(page.get_by_test_id("download-zip")).to_have_attribute(
        "href", f"/api/conversations/{conv_id}/export.zip"
    )
    page.get_by_test_id("open-folder").click()
    expect(page.locator(".pop-path")).to_contain_text(conv_id)

    page.get_by_test_id("fix-it").click()
    expect(strip).to_be_hidden()
    user = page.locator('[data-testid="message"][data-role="user"]').last
    expect(user).to_contain_text("The preview shows these errors:")
    expect(user).to_contain_text("startCounter is not defined")
    expect(user).to_contain_text("Please fix them.")
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    chips = reply.get_by_test_id("action-chip")
    expect(chips.first).to_have_text("✓Edited app.js")
    expect(chips.nth(1)).to_have_attribute("data-state", "error")
    expect(chips.nth(1)).to_contain_text("✗edit_file nope.js:")

    page.get_by_test_id("preview-refresh").click()
    expect(frame_of(page).locator("body")).to_have_attribute("data-ready", "yes")
    frame_of(page).locator("#plus").click()
    expect(frame_of(page).locator("h1")).to_have_text("1")
    expect(strip).to_be_hidden()

    # Versions: one per turn (and the empty project); changes, compare, restore.
    page.get_by_test_id("canvas-tab-versions").click()
    versions = page.get_by_test_id("version-item")
    expect(versions).to_have_count(3)
    versions.first.get_by_test_id("version-changes").click()
    diff = page.get_by_test_id("diff-view")
    expect(diff).to_contain_text("app.js")
    expect(diff.locator(".dl.add", has_text="let n = 0;")).to_have_count(1)
    expect(diff.locator(".dl.del", has_text="startCounter();")).to_have_count(1)
    diff.locator(".diff-back").click()
    versions.nth(0).locator('input[type="checkbox"]').check()
    versions.nth(2).locator('input[type="checkbox"]').check()
    compare = page.get_by_test_id("version-compare")
    expect(compare).to_have_text("Compare v1 → v3")
    compare.click()
    expect(diff.locator(".diff-file")).to_have_count(3)
    expect(diff.locator(".diff-status.added")).to_have_count(3)
    diff.locator(".diff-back").click()

    expect(versions.first.get_by_test_id("version-restore")).to_be_hidden()  # the current one
    versions.nth(1).get_by_test_id("version-restore").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Restore version 2?")
    page.get_by_test_id("confirm-delete").click()  # the dialog's confirm button
    expect(versions).to_have_count(4)
    expect(versions.first).to_contain_text("Restored version 2")
    expect(strip).to_contain_text("startCounter is not defined")  # the preview reloaded
    files = page.request.get(f"{server.url}/api/conversations/{conv_id}/files/app.js").text()
    assert "startCounter();" in files

    # Reload: the conversation comes back in Build mode with its canvas and chips.
    handle_box = page.locator(".canvas-resize").bounding_box()
    assert handle_box is not None
    width = canvas.bounding_box()["width"]
    x, y = handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 120, y, steps=4)
    page.mouse.up()
    widened = canvas.bounding_box()["width"]
    assert abs(widened - (width + 120)) < 3
    page.reload()
    expect(canvas).to_be_visible()
    expect(build).to_have_attribute("aria-pressed", "true")
    assert abs(canvas.bounding_box()["width"] - widened) < 3  # remembered
    expect(page.get_by_test_id("action-chip")).to_have_count(5)
    stored = page.evaluate("localStorage.getItem('gemma-chat.canvas-width')")
    assert abs(int(stored) - widened) < 3

    # A chat conversation has no canvas; the toggle starts a new Build chat from it.
    page.get_by_test_id("new-chat").click()
    expect(canvas).to_be_visible()  # a new chat keeps the mode last chosen
    toggle.locator('[data-mode="chat"]').click()
    expect(canvas).to_be_hidden()
    unexpected = [e for e in errors if "startCounter" not in e]
    assert not unexpected, unexpected
    assert json.dumps(conv)  # the conversation object was JSON


def test_the_preview_changes_while_the_model_types(make_app) -> None:  # type: ignore[no-untyped-def]
    made = make_app(tps=40)
    page = made.page
    page.goto(made.server.open_url)
    page.locator('[data-mode="build"]').click()
    box = page.get_by_test_id("composer-input")
    box.fill("Make a counter")
    box.press("Enter")
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    frame = frame_of(page)
    # The page is in the preview before the reply (and the turn) is over: no refresh clicked.
    expect(frame.locator("h1#count")).to_have_text("0")
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(frame.locator("h1#count")).to_have_css("color", "rgb(200, 0, 0)")
    # Code follows the file being written while it streams.
    page.get_by_test_id("canvas-tab-code").click()
    code = page.get_by_test_id("code-view")
    expect(code).to_have_attribute("data-path", "app.js", timeout=20_000)
    expect(page.get_by_test_id("canvas-tab-code")).to_have_class(re.compile(r"\blive\b"))
    # app.js completes: the preview reloads by itself and reports the script's error.
    page.get_by_test_id("canvas-tab-preview").click()
    expect(page.get_by_test_id("preview-errors")).to_contain_text(
        "startCounter is not defined", timeout=20_000
    )
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(page.get_by_test_id("canvas-tab-code")).not_to_have_class(re.compile(r"\blive\b"))
    unexpected = [e for e in made.errors if "startCounter" not in e]
    assert not unexpected, unexpected
