"""The Build canvas's editable Code view, the side-by-side diff, and the preview's own
messages and error lines, in a real browser against the real server (a replay model)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.preview.conftest import launch_chromium

sync_api = pytest.importorskip("playwright.sync_api")
Page = sync_api.Page
expect = sync_api.expect

SHOTS = None  # set GEMMA_SHOTS=/dir to keep screenshots

PAGE = """<!doctype html>
<html lang="en">
<head>
<title>Hello</title>
<link rel="stylesheet" href="style.css">
</head>
<body>
<h1 id="title">Hello</h1>
<p class="note">Made by hand.</p>
<script>
const answer = 42;
throw new Error('thrown on line 12');
</script>
<script src="app.js"></script>
</body>
</html>
"""

SCRIPT = f"""I'll make a page.
<action name="write_file">
<path>index.html</path>
<content>
{PAGE}</content>
</action>
<action name="write_file">
<path>app.js</path>
<content>
// line 1
window.addEventListener('load', () => {{
  throw new Error('thrown on line 3 of app.js');
}});
</content>
</action>
<action name="write_file">
<path>style.css</path>
<content>
h1 {{ color: rgb(0, 90, 200); }}
</content>
</action>
=== turn ===
Done: a page.
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class App:
    def __init__(self, server, browser, width: int, height: int, scheme: str) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []  # uncaught errors, and console errors of any frame
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        self.page.route("**/api/health", self._health)

    def _health(self, route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        body = response.json()
        if "build" not in body.get("features", []):
            body["features"] = [*body.get("features", []), "build"]
        route.fulfill(response=response, json=body)

    def unexpected(self) -> list[str]:
        """Errors but the page's own deliberate one (and the 404 of a page not written yet)."""
        return [
            e
            for e in self.errors
            if "thrown on line" not in e
            and "404" not in e
            # a stylesheet linked before it is written: the 404 is not CSS (noise, not ours)
            and "is not a supported stylesheet MIME type" not in e
            and "because its MIME type ('text/plain') is not executable" not in e
        ]


@pytest.fixture
def make_app(start_server, replay_file, browser) -> Iterator:  # type: ignore[no-untyped-def]
    apps: list[App] = []

    def make(
        script: str = SCRIPT,
        tps: float = 400,
        width: int = 1440,
        height: int = 900,
        scheme: str = "light",
    ) -> App:
        app = App(start_server(replay_file(script, tps=tps)), browser, width, height, scheme)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.context.close()


def frame_of(page: Page):  # type: ignore[no-untyped-def]
    return page.frame_locator('[data-testid="preview-frame"]')


def build(app: App, text: str = "Make a page") -> str:
    page = app.page
    page.goto(app.server.open_url)
    page.locator('[data-mode="build"]').click()
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/c_"))
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    return page.url.split("#/c/")[1]


def test_no_console_error_while_a_page_streams(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tps=60)
    build(app)
    expect(frame_of(app.page).locator("h1#title")).to_have_text("Hello")
    assert not app.unexpected(), app.unexpected()


def test_a_preview_error_names_the_line_as_written(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    build(app)
    page = app.page
    conv = page.url.split("#/c/")[1]
    text = page.request.get(f"{app.server.url}/api/conversations/{conv}/files/index.html").text()
    assert text.split("\n")[11] == "throw new Error('thrown on line 12');"  # as written
    strip = page.get_by_test_id("preview-errors")
    for _ in range(2):  # as the live preview left it, then reloaded
        expect(strip).to_contain_text("thrown on line 12")
        expect(strip).to_contain_text("thrown on line 3 of app.js")
        items = strip.locator(".pe-list li")
        expect(items.filter(has_text="line 12").locator(".pe-src")).to_have_text(
            re.compile(r"^index\.html, line 12\b")
        )
        expect(items.filter(has_text="app.js").locator(".pe-src")).to_have_text(
            re.compile(r"^app\.js, line 3\b")
        )
        page.get_by_test_id("preview-refresh").click()


def shot(page: Page, name: str) -> None:
    import os

    folder = os.environ.get("GEMMA_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_edit_save_preview_version_and_the_unsaved_prompt(make_app, scheme: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(scheme=scheme)
    conv = build(app)
    page = app.page
    frame = frame_of(page)
    expect(frame.locator("p.note")).to_have_text("Made by hand.")

    # Defect: a reopened project showed "No file open yet" in Code until a file was clicked.
    page.reload()
    page.get_by_test_id("canvas-tab-code").click()
    code = page.get_by_test_id("code-view")
    expect(code).to_have_attribute("data-path", "index.html")
    editor = page.get_by_test_id("code-editor")
    expect(editor).to_be_visible()
    expect(editor).to_be_editable()
    expect(page.locator(".code-gutter")).to_contain_text("16")

    # Edit by keyboard: select a phrase and type over it; Tab inserts spaces.
    editor.evaluate(
        "(t) => { const i = t.value.indexOf('Made by hand.'); t.focus();"
        " t.setSelectionRange(i, i + 'Made by hand.'.length); }"
    )
    page.keyboard.type("Edited in the browser.")
    page.keyboard.press("Home")
    page.keyboard.press("Tab")
    assert '  <p class="note">Edited in the browser.</p>' in editor.input_value()
    expect(code).to_contain_text("Edited in the browser.")  # highlighted under the editor
    status = page.locator(".code-status")
    expect(status).to_have_text("Unsaved changes")
    expect(page.get_by_test_id("canvas-tab-code")).to_have_class(re.compile(r"\bunsaved\b"))
    expect(page.get_by_test_id("code-save")).to_be_visible()
    shot(page, f"editor-unsaved-1440-{scheme}")

    # Another file while unsaved: asked first; Cancel keeps the edit.
    page.get_by_test_id("code-file-picker").select_option("style.css")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Discard unsaved changes?")
    expect(dialog).to_contain_text("index.html")
    shot(page, f"editor-confirm-1440-{scheme}")
    page.get_by_test_id("confirm-cancel").click()
    expect(code).to_have_attribute("data-path", "index.html")
    expect(page.get_by_test_id("code-file-picker")).to_have_value("index.html")
    assert "Edited in the browser." in editor.input_value()
    # ...and so is another conversation (a new chat).
    page.get_by_test_id("new-chat").click()
    expect(dialog).to_contain_text("Discard unsaved changes?")
    page.get_by_test_id("confirm-cancel").click()
    assert conv in page.url

    # Ctrl+S saves: the live preview shows the change, a version is recorded.
    editor.focus()
    page.keyboard.press("Control+s")
    expect(status).to_have_text(re.compile(r"^Saved · v\d+$"))
    expect(page.get_by_test_id("canvas-tab-code")).not_to_have_class(re.compile(r"\bunsaved\b"))
    expect(page.get_by_test_id("code-save")).to_be_hidden()
    saved = page.request.get(f"{app.server.url}/api/conversations/{conv}/files/index.html")
    assert '  <p class="note">Edited in the browser.</p>' in saved.text()
    page.get_by_test_id("canvas-tab-preview").click()
    expect(frame.locator("p.note")).to_have_text("Edited in the browser.")
    page.get_by_test_id("canvas-tab-versions").click()
    expect(page.get_by_test_id("version-item").first).to_contain_text("Edited index.html by hand")
    shot(page, f"versions-after-save-1440-{scheme}")

    # Saved: switching files and conversations asks nothing now.
    page.get_by_test_id("canvas-tab-code").click()
    page.get_by_test_id("code-file-picker").select_option("style.css")
    expect(code).to_have_attribute("data-path", "style.css")
    expect(dialog).to_be_hidden()
    # A new Build chat opens on its Preview, not on the tab last used.
    page.get_by_test_id("new-chat").click()
    expect(page.get_by_test_id("canvas-tab-preview")).to_have_attribute("aria-selected", "true")
    assert not app.unexpected(), app.unexpected()


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_a_stale_save_is_refused_and_the_edit_kept(make_app, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(width=size[0], height=size[1])
    conv = build(app)
    page = app.page
    if size[0] < 800:  # the app's own theme switch, not the system's
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.get_by_test_id("canvas-tab-code").click()
    page.get_by_test_id("code-file-picker").select_option("style.css")
    editor = page.get_by_test_id("code-editor")
    expect(editor).to_have_value(re.compile(r"rgb\(0, 90, 200\)"))
    # Another tab saves the file first.
    url = f"{app.server.url}/api/conversations/{conv}/files/style.css"
    etag = page.request.get(url).headers["etag"]
    other = page.request.put(url, data={"text": "h1 { color: green; }\n", "etag": etag})
    assert other.ok
    editor.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("p { margin: 0; }\n")
    shot(page, f"editor-unsaved-{size[0]}")
    page.get_by_test_id("code-save").click()
    expect(page.locator(".code-status")).to_contain_text("changed since you opened it")
    shot(page, f"editor-stale-{size[0]}")
    assert "p { margin: 0; }" in editor.input_value()  # the edit is not lost
    page.get_by_test_id("code-revert").click()
    expect(editor).to_have_value("h1 { color: green; }\n")


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_diff_side_by_side_with_line_numbers_and_wrap(make_app, size) -> None:  # type: ignore[no-untyped-def]
    width, height = size
    app = make_app(width=width, height=height, scheme="dark" if width < 800 else "light")
    conv = build(app)
    page = app.page
    url = f"{app.server.url}/api/conversations/{conv}/files/index.html"
    got = page.request.get(url)
    text = got.text().replace(
        '<p class="note">Made by hand.</p>',
        '<p class="note">Made by hand, then changed with a line long enough that it has to '
        "wrap when the wrap toggle is on, because nobody reads a diff scrolled sideways.</p>",
    )
    assert page.request.put(url, data={"text": text, "etag": got.headers["etag"]}).ok
    if width < 800:
        page.get_by_test_id("sidebar-toggle").click() if page.get_by_test_id(
            "sidebar-toggle"
        ).is_visible() else None
    page.get_by_test_id("canvas-tab-versions").click()
    page.get_by_test_id("version-item").first.get_by_test_id("version-changes").click()
    diff = page.get_by_test_id("diff-view")
    layout = "split" if width >= 800 else "unified"
    expect(diff).to_have_attribute("data-layout", layout)
    expect(page.get_by_test_id(f"diff-{layout}")).to_have_attribute("aria-pressed", "true")
    if layout == "unified":
        page.get_by_test_id("diff-split").click()
        expect(diff).to_have_attribute("data-layout", "split")
        shot(page, "diff-split-390-dark")
        page.get_by_test_id("diff-unified").click()
    else:
        shot(page, "diff-split-1440-light")
    page.get_by_test_id("diff-split").click()
    split = diff.locator(".diff-split")
    # The changed line faces its new version, each with its line number (9 in both files).
    row = split.locator(".sr", has=page.locator(".dl.del"))
    expect(row.locator(".ln")).to_have_text(["9", "9"])
    expect(row.locator(".dl.del")).to_have_text('<p class="note">Made by hand.</p>')
    expect(row.locator(".dl.add")).to_contain_text("then changed")
    add = row.locator(".dl.add")
    one_line = add.bounding_box()["height"]
    wrap = page.get_by_test_id("diff-wrap")
    expect(wrap).to_have_attribute("aria-pressed", "false")
    wrap.click()
    expect(wrap).to_have_attribute("aria-pressed", "true")
    expect(diff).to_have_class(re.compile(r"\bwrap\b"))
    assert add.bounding_box()["height"] > one_line * 1.5  # the long line wraps now
    shot(page, f"diff-split-wrap-{width}")
    page.get_by_test_id("diff-unified").click()
    unified = diff.locator(".diff-unified")
    expect(unified.locator(".dl.del .ln")).to_have_text(["9", ""])
    expect(unified.locator(".dl.add .ln")).to_have_text(["", "9"])
    shot(page, f"diff-unified-{width}")
    assert not app.unexpected(), app.unexpected()


def test_an_empty_version_says_so_in_the_preview(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    build(app)
    page = app.page
    page.get_by_test_id("canvas-tab-versions").click()
    versions = page.get_by_test_id("version-item")
    expect(versions).to_have_count(2)
    versions.last.get_by_test_id("version-restore").click()  # v1: the empty project
    page.get_by_test_id("confirm-delete").click()
    expect(versions).to_have_count(3)
    page.get_by_test_id("canvas-tab-preview").click()
    empty = page.get_by_test_id("preview-empty-project")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No files in this version")
    expect(page.get_by_test_id("preview-frame")).to_be_hidden()
    shot(page, "preview-empty-version-1440")
    # The preview page itself (opened in a tab of its own) says so too.
    href = page.get_by_test_id("preview-open").get_attribute("href")
    other = page.context.new_page()
    other.goto(href)
    expect(other.locator("body")).to_contain_text("This project has no files yet")
    other.close()
