"""Previews are isolated (issue 10, part 4): one origin per project, no CORS, no cross reads.

The attacks, reproduced against the real app, its real preview server and Chromium:
- a project's page reads another project's files: by that project's origin, the bare preview
  port, or the old `/p/<conversation id>/` paths on its own origin;
- it follows another project's live typing (an EventSource on that project's events);
- any web page reads a workspace file or the live events (`Access-Control-Allow-Origin: *`),
  or runs another project's script file as its own (no-cors `<script src>`).
Each is shown to fail, while a project's page still reads its own files.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from gemma_chat.server.runner import RunningServer
from tests.preview.conftest import launch_chromium
from tests.sse_client import send

sync_api = pytest.importorskip("playwright.sync_api")

A_SECRET = "A-OWN-DATA-1a2b"
B_SECRET = "B-SECRET-DATA-9f8e"


def build_script(page_title: str, data_file: str, data: str) -> str:
    """Replay output for one Build turn: a page, a text file and a script, then done."""
    return f"""Writing the project.
<action name="write_file">
<path>index.html</path>
<content>
<!doctype html>
<html><head><title>{page_title}</title></head><body><h1>{page_title}</h1></body></html>
</content>
</action>
<action name="write_file">
<path>{data_file}</path>
<content>
{data}
</content>
</action>
<action name="write_file">
<path>data.js</path>
<content>
window.leaked = "{data}";
</content>
</action>
=== turn ===
Done.
"""


@dataclass
class Project:
    id: str
    url: str
    origin: str


@dataclass
class Setup:
    server: RunningServer
    a: Project
    b: Project
    preview_port: int


def make_project(server: RunningServer, spec: str) -> Project:
    with server.client() as client:
        made = client.post("/api/conversations", json={"mode": "build", "model": spec})
        assert made.status_code == 201, made.text
        conv_id = made.json()["id"]
    events = send(server.url, conv_id, "Make the project")
    assert [name for name, _ in events][-1] == "turn.end", events[-3:]
    with server.client() as client:
        info = client.get(f"/api/conversations/{conv_id}/preview").json()
    return Project(conv_id, info["url"], info["origin"])


@pytest.fixture
def setup(start_server, replay_file) -> Setup:  # type: ignore[no-untyped-def]
    a_spec = replay_file(build_script("Project A", "mine.txt", A_SECRET))
    b_spec = replay_file(build_script("Project B", "secret.txt", B_SECRET))
    server = start_server(a_spec)
    a = make_project(server, a_spec)
    b = make_project(server, b_spec)
    assert a.origin != b.origin
    assert a.url == f"{a.origin}/" and a.id not in a.url and b.id not in b.url
    port = int(a.origin.rsplit(":", 1)[1])
    return Setup(server, a, b, port)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# What a page tries, in the page: each probe resolves to what the page could read.
PROBES = """async ({targets, secret}) => {
  const read = async (url) => {
    try {
      const r = await fetch(url);
      const text = await r.text();
      return text.includes(secret) ? 'LEAKED' : `status ${r.status}`;
    } catch (e) { return 'blocked'; }
  };
  const listen = (url) => new Promise((resolve) => {
    let source;
    try { source = new EventSource(url); } catch (e) { resolve('blocked'); return; }
    const done = (what) => { source.close(); resolve(what); };
    source.onopen = () => done('OPEN');
    source.onmessage = () => done('OPEN');
    source.onerror = () => done('blocked');
    setTimeout(() => done(source.readyState === 1 ? 'OPEN' : 'blocked'), 3000);
  });
  const run = (url) => new Promise((resolve) => {
    window.leaked = undefined;
    const s = document.createElement('script');
    s.src = url;
    s.onload = () => resolve(window.leaked === undefined ? 'loaded, nothing' : 'LEAKED');
    s.onerror = () => resolve('blocked');
    document.head.append(s);
  });
  const out = {};
  for (const [name, kind, url] of targets) {
    out[name] = await ({read, listen, run})[kind](url);
  }
  return out;
}"""


def test_a_project_page_cannot_read_another_project(setup: Setup, page) -> None:  # type: ignore[no-untyped-def]
    a, b, port = setup.a, setup.b, setup.preview_port
    page.goto(a.url)
    sync_api.expect(page.locator("h1")).to_have_text("Project A")
    assert page.evaluate("location.origin") == a.origin
    own = page.evaluate(
        "fetch('mine.txt').then((r) => r.text())"
    )  # the project's own file, same-origin
    assert A_SECRET in own
    targets = [
        ("b origin", "read", f"{b.origin}/secret.txt"),
        ("bare port, old path", "read", f"http://127.0.0.1:{port}/p/{b.id}/secret.txt"),
        ("localhost, old path", "read", f"http://localhost:{port}/p/{b.id}/secret.txt"),
        ("own origin, old path", "read", f"/p/{b.id}/secret.txt"),
        ("own origin, climbing", "read", f"/..%2f{b.id}/secret.txt"),
        ("b events", "listen", f"{b.origin}/__gemma/events"),
        ("b events, old path", "listen", f"/__gemma/events/{b.id}"),
        ("bare port events", "listen", f"http://127.0.0.1:{port}/__gemma/events/{b.id}"),
        ("b script", "run", f"{b.origin}/data.js"),
    ]
    result = page.evaluate(PROBES, {"targets": targets, "secret": B_SECRET})
    leaks = {name: what for name, what in result.items() if what in ("LEAKED", "OPEN")}
    assert leaks == {}, result
    # The old path on A's own origin is only a path inside A's project: nothing there.
    assert result["own origin, old path"] == "status 404"


class _AttackerPage(BaseHTTPRequestHandler):
    """Any web page the user happens to visit (here on another loopback port, no CSP)."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>attacker</title><p>hello</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_another_site_cannot_read_files_or_events(setup: Setup, page, attacker: str) -> None:  # type: ignore[no-untyped-def]
    """Even a page that knows a project's preview origin reads nothing from it."""
    b = setup.b
    page.goto(attacker)
    targets = [
        ("file", "read", f"{b.origin}/secret.txt"),
        ("events", "listen", f"{b.origin}/__gemma/events"),
        ("script", "run", f"{b.origin}/data.js"),
        ("bare port", "read", f"http://127.0.0.1:{setup.preview_port}/p/{b.id}/secret.txt"),
    ]
    result = page.evaluate(PROBES, {"targets": targets, "secret": B_SECRET})
    assert result == {
        "file": "blocked",  # no CORS header: the browser hides the answer (the server: 403)
        "events": "blocked",
        "script": "blocked",  # refused by the server (Fetch Metadata), not run as the page's
        "bare port": "blocked",
    }, result


def test_no_cors_and_no_old_paths_over_http(setup: Setup) -> None:
    b, port = setup.b, setup.preview_port
    host = b.origin.removeprefix("http://")
    evil = {"Origin": "http://evil.example"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        # The project's own host, asked by another origin: no ACAO, no content.
        for path in ("/secret.txt", "/", "/__gemma/events"):
            response = client.get(path, headers={**evil, "Host": host})
            assert response.status_code == 403, path
            assert "access-control-allow-origin" not in response.headers, path
            assert B_SECRET not in response.text
        # Without an Origin (a script on the machine that knows the label), it is served,
        # still without CORS headers.
        plain = client.get("/secret.txt", headers={"Host": host})
        assert B_SECRET in plain.text
        assert "access-control-allow-origin" not in plain.headers
        # The old paths, on the bare port or under any loopback name: nothing of any project.
        for bare in (f"127.0.0.1:{port}", f"localhost:{port}", "evil.example"):
            for path in (f"/p/{b.id}/secret.txt", f"/p/{b.id}/", f"/__gemma/events/{b.id}"):
                response = client.get(path, headers={**evil, "Host": bare})
                assert response.status_code == 404, (bare, path)
                assert B_SECRET not in response.text
                assert "access-control-allow-origin" not in response.headers
