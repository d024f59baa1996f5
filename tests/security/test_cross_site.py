"""Cross-site writes and framing: a page the user happens to visit cannot change anything of
the app's, nor show it inside a frame.

The attacks: a plain HTML form (multipart) posted to /api/attachments, a form POST to
…/stop and a fetch to /api/transcribe all ran with `Origin: http://evil.example`; a page on
another loopback port is "same site" to the browser, so even the SameSite=Strict cookie
goes along. And the app loaded inside a cross-origin iframe (clickjacking).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gemma_chat.config import Settings
from gemma_chat.server.app import create_app
from tests.sse_client import send

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},  # another loopback port: same site, other origin
    {"Origin": "http://localhost.evil.example:8642"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
]


def mutating_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """Every state-changing route the app has, as (method, concrete path)."""
    app = create_app(Settings(data_dir=tmp_path / "routes", port=0, preload=False))
    found = []
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        found += [(m.upper(), concrete) for m in operations if m.upper() in MUTATING]
    return found


@pytest.mark.slow
def test_every_mutating_route_refuses_foreign_origins(start_server, tmp_path: Path) -> None:
    routes = mutating_routes(tmp_path)
    assert len(routes) >= 12, routes  # the enumeration found the API, not an empty list
    server = start_server("embedded")
    port = server.url.rsplit(":", 1)[1]
    with server.client() as api:
        for method, path in routes:
            for headers in FOREIGN:
                answer = api.request(method, path, headers=headers, json={})
                assert answer.status_code == 403, (method, path, headers, answer.text)
                assert "another web page" in answer.json()["detail"]
        # Nothing the refused requests asked for happened.
        assert api.get("/api/conversations").json()["total"] == 0
        # The app's own page (either loopback name) and header-less scripts pass.
        for method, path in routes:
            for headers in (
                {"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
                {},
                {"Sec-Fetch-Site": "none"},
            ):
                answer = api.request(method, path, headers=headers, json={})
                assert answer.status_code not in (401, 403), (method, path, headers, answer.text)
        before = api.get("/api/conversations").json()["total"]
        host = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
        assert api.post("/api/conversations", headers=host, json={}).status_code == 201
        assert api.get("/api/conversations").json()["total"] == before + 1


@pytest.mark.slow
def test_refused_before_the_body_is_read(start_server) -> None:
    """A cross-site upload is answered at once: no 1 GB body is waited for or spooled."""
    server = start_server("embedded")
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST /api/attachments HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {server.token}\r\nOrigin: http://evil.example\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 403"), answer


@pytest.mark.slow
def test_security_headers_on_pages_and_errors(start_server) -> None:
    server = start_server("embedded")
    with server.client() as api:
        page = api.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        for rule in (
            "frame-ancestors 'none'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ):
            assert rule in csp, csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        preview = api.get("/api/conversations/x/preview")  # 404, but the preview is up
        frame_src = re.search(r"frame-src ([^;]+)", csp)
        assert frame_src and frame_src.group(1) not in ("'none'", "*"), csp
        assert preview.headers["x-frame-options"] == "DENY"
        docs = api.get("/docs")
        assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
        assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
        for answer in (page, api.get("/static/app.js"), api.get("/api/health"), docs):
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
    anonymous = httpx.get(f"{server.url}/api/conversations")
    assert anonymous.status_code == 401 and anonymous.headers["x-frame-options"] == "DENY"


# -- in Chromium: a page on another loopback port --------------------------------------------


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain static web server on another 127.0.0.1 port: the attacker's site."""
    root = tmp_path / "evil"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ATTACK_PAGE = """<!doctype html>
<html><body>
<iframe name="sink"></iframe>
<form id="upload" action="{app}/api/attachments" method="post"
      enctype="multipart/form-data" target="sink">
  <input type="file" name="file" id="file">
</form>
<form id="stop" action="{app}/api/conversations/{conv}/stop" method="post" target="sink"></form>
<form id="load" action="{app}/api/models/load" method="post" enctype="text/plain"
      target="sink"><input name='{{"model": "replay:/etc/passwd", "x": "' value='"}}'></form>
</body></html>
"""


def test_cross_port_page_cannot_write(
    start_server, replay_file, browser: Any, attacker: tuple[Path, str]
) -> None:
    root, evil = attacker
    server = start_server(replay_file(" ".join(["word"] * 100), tps=20))  # a 5 s reply
    with server.client() as api:
        conv = api.post("/api/conversations", json={}).json()
    (root / "attack.html").write_text(ATTACK_PAGE.format(app=server.url, conv=conv["id"]))

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.open_url)  # the user is logged in: the browser holds the cookie
        expect(page.get_by_test_id("composer-input")).to_be_visible()
        assert any(c["name"] for c in context.cookies(server.url))

        events: list[Any] = []
        turn = threading.Thread(target=lambda: events.extend(send(server.url, conv["id"], "go")))
        turn.start()

        page.goto(f"{evil}/attack.html")

        def answer_to(action: str, path: str) -> Any:
            with page.expect_response(lambda r: r.url.endswith(path)) as info:
                page.evaluate(action)
            return info.value

        upload = answer_to(
            """() => {
              const dt = new DataTransfer();
              dt.items.add(new File(['planted by evil'], 'evil.txt', {type: 'text/plain'}));
              document.getElementById('file').files = dt.files;
              document.getElementById('upload').submit();
            }""",
            "/api/attachments",
        )
        assert upload.status == 403
        assert (
            "cookie" in upload.request.all_headers()
        )  # the cookie went along: not what stopped it
        stop = answer_to("() => document.getElementById('stop').submit()", f"/{conv['id']}/stop")
        assert stop.status == 403
        with server.client() as api:
            assert api.get(f"/api/conversations/{conv['id']}").json()["running"] is True
        load = answer_to("() => document.getElementById('load').submit()", "/api/models/load")
        assert load.status == 403
        transcribe = answer_to(
            f"""() => {{
              const fd = new FormData();
              fd.append('file', new Blob([new Uint8Array(4000)], {{type: 'audio/wav'}}), 'a.wav');
              const init = {{method: 'POST', mode: 'no-cors', body: fd, credentials: 'include'}};
              fetch('{server.url}/api/transcribe', init).catch(() => null);
            }}""",
            "/api/transcribe",
        )
        assert transcribe.status == 403
        created = answer_to(
            f"""() => {{ fetch('{server.url}/api/conversations', {{
                method: 'POST', mode: 'no-cors', credentials: 'include',
                headers: {{'Content-Type': 'application/json'}},
                body: JSON.stringify({{mode: 'chat', title: 'planted'}}) }}); }}""",
            "/api/conversations",
        )
        assert created.status == 403
        turn.join(60)
    finally:
        context.close()

    # On the server: nothing happened.
    assert events and events[-1][0] == "turn.end"
    assert events[-1][1]["reason"] == "stop"  # finished on its own; the stop was refused
    attachments = server.settings.data_dir / "attachments"
    assert not attachments.exists() or not [p for p in attachments.rglob("*") if p.is_file()]
    with server.client() as api:
        listed = api.get("/api/conversations").json()
        assert listed["total"] == 1 and listed["conversations"][0]["title"] != "planted"
        assert api.get("/api/models").json()["active"] == server.settings.model


FRAMING_PAGE = """<!doctype html>
<html><body><h1>Win a prize</h1><iframe id="app" src="{app}/" width="800" height="600"></iframe>
</body></html>
"""


@pytest.mark.slow
def test_app_cannot_be_framed(start_server, browser: Any, attacker: tuple[Path, str]) -> None:
    root, evil = attacker
    server = start_server("embedded")
    (root / "frame.html").write_text(FRAMING_PAGE.format(app=server.url))
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        page.goto(server.open_url)  # logged in: framing would show the real app
        expect(page.get_by_test_id("composer-input")).to_be_visible()
        with page.expect_response(lambda r: r.url == f"{server.url}/") as info:
            page.goto(f"{evil}/frame.html")
        framed = info.value
        assert framed.status == 200  # the app did answer: the browser refused to show it
        page.wait_for_timeout(1000)
        child = page.frame_locator("#app")
        expect(child.get_by_test_id("composer-input")).to_have_count(0)
        urls = [frame.url for frame in page.frames]
        assert not any(url.startswith(server.url) for url in urls), urls
        assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in console), (
            console
        )
        assert framed.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in framed.headers["content-security-policy"]
    finally:
        context.close()


# -- the app itself keeps working under its CSP --------------------------------------------------

BUILD_SCRIPT = """Here is a page.
<action name="write_file">
<path>index.html</path>
<content>
<!doctype html>
<html><head><title>Hi</title><link rel="stylesheet" href="style.css"></head>
<body><h1 id="hello">Hello preview</h1><script src="app.js"></script></body></html>
</content>
</action>
<action name="write_file">
<path>style.css</path>
<content>
h1 { color: rgb(0, 128, 0); }
</content>
</action>
<action name="write_file">
<path>app.js</path>
<content>
document.body.dataset.ready = 'yes';
</content>
</action>
"""

CSP_WATCH = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : '';
  (window.__csp = window.__csp || []).push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${where}`,
  );
});
"""


def test_ui_works_under_its_csp(start_server, replay_file, browser: Any) -> None:
    server = start_server(replay_file("A *markdown* reply with `code`.\n\n```js\nlet a = 1;\n```"))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(20_000)
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server.open_url)
        box = page.get_by_test_id("composer-input")
        box.fill("Hello")
        box.press("Enter")
        reply = page.locator('[data-testid="message"][data-role="assistant"]').last
        expect(reply).to_have_attribute("data-status", "complete")
        expect(reply.locator("em")).to_have_text("markdown")
        expect(reply.locator("pre code")).to_contain_text("let a = 1;")

        # A Build conversation: the live preview frame on its own origin loads under frame-src.
        with server.client() as api:
            conv = api.post(
                "/api/conversations", json={"mode": "build", "model": replay_file(BUILD_SCRIPT)}
            ).json()
        page.goto(f"{server.url}/#/c/{conv['id']}")
        box.fill("Make a page")
        box.press("Enter")
        reply = page.locator('[data-testid="message"][data-role="assistant"]').last
        expect(reply).to_have_attribute("data-status", "complete")
        page.get_by_test_id("canvas-tab-preview").click()
        frame = page.frame_locator('[data-testid="preview-frame"]')
        expect(frame.locator("#hello")).to_have_text("Hello preview")
        expect(frame.locator("#hello")).to_have_css("color", "rgb(0, 128, 0)")
        expect(frame.locator("body")).to_have_attribute("data-ready", "yes")
        violations = page.evaluate("window.__csp || []")
    finally:
        context.close()
    assert not errors, errors
    assert violations == [], violations
    flagged = [m for m in console if "Content Security Policy" in m]
    assert flagged == [], flagged
    assert json.dumps(violations)  # evaluated in the app page, not a stale empty default
