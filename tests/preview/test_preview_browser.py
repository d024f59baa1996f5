"""The live preview in Chromium: pages change in place while the model types them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemma_chat.workspace.preview import PreviewServer
from tests.preview.conftest import CONV, COOKIE, launch_chromium

sync_api = pytest.importorskip("playwright.sync_api")
Page = sync_api.Page

PAGE_V1 = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>First</title>
<link rel="stylesheet" href="css/style.css">
</head>
<body>
<h1 id="title">First</h1>
<input id="name">
</body>
</html>
"""

PAGE_V2 = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Second</title>
<link rel="stylesheet" href="css/style.css">
</head>
<body class="v2">
<h1 id="title">Live title</h1>
<input id="name">
<section class="card">
<p id="p1">First paragraph.</p>
<ul id="list"><li>one</li><li>two</li><li>three</li></ul>
<script>window.inlineRan = true</script>
</section>
</body>
</html>
"""

CSS_V2 = """h1 { color: rgb(255, 0, 0); }
.card { padding-left: 21px; background-image: url(../img/bg.png); }
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    sign_in(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(context: sync_api.BrowserContext) -> None:
    """The cookie the app sets when the browser signs in (browsers send it to every port)."""
    context.add_cookies(
        [
            {"name": k, "value": v, "url": "http://127.0.0.1", "httpOnly": True}
            | {"sameSite": "Strict"}
            for k, v in COOKIE.items()
        ]
    )


def write(workspaces: Path, rel: str, text: str) -> None:
    target = workspaces / CONV / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def stream(server: PreviewServer, rel: str, text: str, pieces: int, start: bool = True) -> None:
    """Send `text` as the model would: (start,) then deltas, a few milliseconds apart."""
    if start:
        server.file_started(CONV, rel)
    size = max(1, len(text) // pieces)
    for i in range(0, len(text), size):
        server.file_delta(CONV, rel, text[i : i + size])
        time.sleep(0.01)


def open_preview(page: Page, server: PreviewServer, rel: str = "index.html") -> None:
    page.goto(server.url_for(CONV, rel))
    wait_connected(page)


def wait_connected(target) -> None:  # type: ignore[no-untyped-def]
    target.wait_for_function("window.__gemmaPreview?.events?.readyState === 1")


def test_html_css_and_js_update_live(
    page: Page, threaded_preview: PreviewServer, workspaces: Path
) -> None:
    server = threaded_preview
    write(workspaces, "index.html", PAGE_V1)
    write(workspaces, "css/style.css", "h1 { color: rgb(0, 0, 255); }")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_preview(page, server)
    assert page.title() == "First"
    page.evaluate("window.marker = 'same page'; window.h1 = document.getElementById('title')")
    page.fill("#name", "typed by the user")
    page.focus("#name")

    # HTML: stream the new page in pieces and watch it change in place.
    cut = PAGE_V2.index("<li>two")
    stream(server, "index.html", PAGE_V2[:cut], pieces=12)
    page.wait_for_function("document.querySelectorAll('#list li').length === 1")
    assert page.text_content("#title") == "Live title"
    assert page.title() == "Second"
    assert page.get_attribute("body", "class") == "v2"
    # unclosed tags in the partial text are repaired by the parser: the <li> is there
    assert page.text_content("#list li") == "one"
    stream(server, "index.html", PAGE_V2[cut:], pieces=4, start=False)
    page.wait_for_function("document.querySelectorAll('#list li').length === 3")
    assert page.evaluate("window.marker") == "same page"  # no reload
    assert page.evaluate("window.h1 === document.getElementById('title')")  # morphed, not rebuilt
    assert page.input_value("#name") == "typed by the user"
    assert page.evaluate("window.inlineRan") is None  # scripts never run from a morph
    assert page.evaluate("document.querySelectorAll('script[src^=\"/__gemma/\"]').length") == 1

    # The page has a script now, so completing it reloads once (the script must run).
    write(workspaces, "index.html", PAGE_V2)
    server.file_done(CONV, "index.html")
    page.wait_for_function("window.marker === undefined && window.inlineRan === true")
    wait_connected(page)
    page.evaluate("window.marker = 'after reload'")

    # CSS: streamed into the page as it is typed, over the old sheet, then swapped for the file.
    assert page.evaluate("getComputedStyle(document.getElementById('title')).color") == (
        "rgb(0, 0, 255)"
    )
    second_rule = CSS_V2.index(".card")
    stream(server, "css/style.css", CSS_V2[:second_rule], pieces=5)
    page.wait_for_function(
        "getComputedStyle(document.getElementById('title')).color === 'rgb(255, 0, 0)'"
    )
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).paddingLeft") == "0px"
    stream(server, "css/style.css", CSS_V2[second_rule:], pieces=5, start=False)
    page.wait_for_function(
        "getComputedStyle(document.querySelector('.card')).paddingLeft === '21px'"
    )
    overlay = page.evaluate("document.querySelector('style[data-gemma]').textContent")
    # url() stays relative to the stylesheet
    assert f"{server.origin_for(CONV)}/img/bg.png" in overlay
    write(workspaces, "css/style.css", CSS_V2)
    server.file_done(CONV, "css/style.css")
    page.wait_for_function("!document.querySelector('style[data-gemma]')")
    assert "gemma-v=" in page.get_attribute("link[rel=stylesheet]", "href")
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).paddingLeft") == "21px"
    assert page.evaluate("window.marker") == "after reload"  # CSS never reloads the page

    # JS: nothing happens while it streams; once complete the page reloads and runs it.
    write(
        workspaces,
        "index.html",
        PAGE_V2.replace("</body>", '<script src="js/app.js"></script></body>'),
    )
    server.file_done(CONV, "index.html")
    page.wait_for_function("window.marker === undefined")
    wait_connected(page)
    page.evaluate("window.marker = 'before js'")
    script = "document.getElementById('title').dataset.js = 'ran';\n"
    stream(server, "js/app.js", script, pieces=4)
    time.sleep(0.3)
    assert page.evaluate("window.marker") == "before js"
    assert page.get_attribute("#title", "data-js") is None
    write(workspaces, "js/app.js", script)
    server.file_done(CONV, "js/app.js")
    page.wait_for_function("document.getElementById('title')?.dataset.js === 'ran'")
    assert page.evaluate("window.marker") is None
    assert errors == []


def test_a_new_page_appears_while_typed(
    page: Page, threaded_preview: PreviewServer, workspaces: Path
) -> None:
    server = threaded_preview
    open_preview(page, server)  # nothing written yet: the placeholder
    assert "no files yet" in page.text_content("body")
    page.evaluate("window.marker = 1")
    text = "<!doctype html><html><head><title>Hello</title>"
    stream(server, "index.html", text, pieces=3)
    page.wait_for_function("document.title === 'Hello'")
    assert "no files yet" in page.text_content("body")  # head only so far: the body stays
    assert page.evaluate("document.querySelectorAll('style').length") == 0  # placeholder's style
    stream(server, "index.html", "</head><body><main><h2>Hi there", pieces=4, start=False)
    page.wait_for_function("document.querySelector('main h2')?.textContent === 'Hi there'")
    assert "no files yet" not in page.text_content("body")
    write(workspaces, "index.html", text + "</head><body><main><h2>Hi there</h2></main></body>")
    server.file_done(CONV, "index.html")
    page.wait_for_timeout(300)
    assert page.evaluate("window.marker") == 1  # no scripts: no reload
    # Another page's file does not touch this one.
    stream(server, "about.html", "<h1>About</h1>", pieces=2)
    server.file_done(CONV, "about.html")
    page.wait_for_timeout(200)
    assert page.text_content("main h2") == "Hi there"
    server.reload(CONV)
    page.wait_for_function("window.marker === undefined")


HOST_PAGE = """<!doctype html>
<html><body>
<iframe id="preview"
  sandbox="allow-scripts allow-same-origin allow-forms allow-modals allow-popups"
  src="{src}" style="width:600px;height:400px"></iframe>
<script>
  window.received = [];
  const frame = document.getElementById('preview');
  addEventListener('message', (e) => {{
    if (e.source !== frame.contentWindow) return;
    window.received.push({{origin: e.origin, data: e.data}});
  }});
</script>
</body></html>
"""

ERROR_PAGE = """<!doctype html>
<html><head><title>Broken</title></head>
<body>
<h1>Broken app</h1>
<script src="app.js"></script>
<script>
console.error('custom problem', {code: 7});
Promise.reject(new Error('async nope'));
fetch('data.json').then((r) => r.json()).then((d) => { document.body.dataset.fetched = d.ok; });
</script>
</body></html>
"""


def test_errors_reach_the_app_and_the_sandbox_holds(
    page: Page, threaded_preview: PreviewServer, workspaces: Path
) -> None:
    server = threaded_preview
    write(workspaces, "index.html", ERROR_PAGE)
    write(workspaces, "app.js", "const x = 1;\nundefinedFunction(x);\n")
    write(workspaces, "data.json", json.dumps({"ok": "yes"}))
    # The "app": a page of another origin (another project's) that frames the preview, the
    # way canvas.js does; and a stranger that tries to frame it too.
    for name in ("c_host", "c_stranger"):
        (workspaces / name).mkdir()
        (workspaces / name / "index.html").write_text(HOST_PAGE.format(src=server.url_for(CONV)))
    server.trust_app(server.origin_for("c_host"))
    stranger = page.context.new_page()
    stranger.goto(server.url_for("c_stranger"))
    page.goto(server.url_for("c_host"))
    page.wait_for_function(
        "window.received.filter(m => m.data.type === 'gemma-preview-error').length >= 3"
    )
    received = page.evaluate("window.received")
    # The frame keeps the project's own origin, and reports to the app's origin only.
    assert {m["origin"] for m in received} == {server.origin_for(CONV)}
    stranger.wait_for_timeout(1000)
    # frame-ancestors names the app only: the stranger's frame shows nothing of the project.
    assert [f for f in stranger.frames if f.url.startswith(server.origin_for(CONV))] == []
    assert stranger.evaluate("window.received") == []
    stranger.close()
    kinds = [m["data"] for m in received]
    assert kinds[0] == {"type": "gemma-preview-load", "path": "index.html"}
    errors = [m for m in kinds if m["type"] == "gemma-preview-error"]
    thrown = next(m for m in errors if m["kind"] == "error")
    assert "undefinedFunction is not defined" in thrown["message"]
    assert thrown["source"] == "app.js" and thrown["line"] == 2
    console = next(m for m in errors if m["kind"] == "console")
    assert console["message"] == 'custom problem {"code":7}'
    rejection = next(m for m in errors if m["kind"] == "unhandledrejection")
    assert "async nope" in rejection["message"]

    frame = page.frame_locator("#preview")
    # The page can read its own files (its own origin: same-origin, no CORS needed)...
    sync_api.expect(frame.locator("body")).to_have_attribute("data-fetched", "yes")
    preview_frame = page.frames[1]
    # ...but nothing else: not the app, not the parent's DOM; storage is its own.
    page.evaluate("localStorage.setItem('app-secret', 'x')")
    blocked = preview_frame.evaluate(
        """async (app) => {
          const out = {};
          try { await fetch(app); out.fetch = 'allowed'; }
          catch (e) { out.fetch = 'blocked'; }
          try { window.parent.document.body; out.parent = 'allowed'; }
          catch (e) { out.parent = 'blocked'; }
          try {
            localStorage.setItem('mine', '1');
            out.storage = localStorage.getItem('app-secret') === null ? 'own' : 'shared';
          } catch (e) { out.storage = 'blocked'; }  // a third-party frame, by the browser's rules
          return out;
        }""",
        server.url_for("c_host"),
    )
    assert blocked.pop("storage") in ("own", "blocked")  # never the app's
    assert blocked == {"fetch": "blocked", "parent": "blocked"}
    assert page.evaluate("localStorage.getItem('mine')") is None

    # Live updates work inside the sandboxed frame too.
    wait_connected(preview_frame)
    stream(server, "index.html", ERROR_PAGE.replace("Broken app", "Fixed app")[:120], pieces=3)
    sync_api.expect(frame.locator("h1")).to_have_text("Fixed app")
