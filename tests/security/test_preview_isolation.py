"""Previews are isolated (issue 10, part 4): one origin per project, no CORS, no cross reads.

Each project is served on a port of its own (`http://127.0.0.1:<project port>/`), which is the
same *site* as the app (`http://127.0.0.1:<app port>`), so the app's SameSite=Strict cookie
goes along to it. The attacks, reproduced against the real app, its real preview server and
Chromium:
- a project's page reads another project's files: by that project's origin (under either
  loopback name), the app's port, or the old `/p/<conversation id>/` paths on its own origin;
- it follows another project's live typing (an EventSource on that project's events);
- any web page reads a workspace file or the live events (`Access-Control-Allow-Origin: *`),
  or runs another project's script file as its own (no-cors `<script src>`);
- another user of the machine scans the ports and reads a project (no cookie);
- a project's page, same-site with the app and carrying its cookie, writes to the app's API
  (creates a conversation, stops a turn, uploads a file) or reads the cookie.
Each is shown to fail, while a project's page still reads its own files and the signed-in
browser still opens the preview in a new tab.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from gemma_chat.server.auth import cookie_name
from gemma_chat.server.runner import RunningServer
from gemma_chat.workspace.preview import CLIENT_URL
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

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])


@dataclass
class Setup:
    server: RunningServer
    a: Project
    b: Project
    app_port: int


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
    app_port = int(server.url.rsplit(":", 1)[1])
    assert a.origin.startswith("http://127.0.0.1:") and len({a.port, b.port, app_port}) == 3
    assert a.url == f"{a.origin}/" and a.id not in a.url and b.id not in b.url
    return Setup(server, a, b, app_port)


@pytest.fixture
def page(browser, setup: Setup) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A page of the browser the user signed in to the app with (it holds the cookie)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, setup.server)
    yield page
    context.close()


def sign_in(page, server: RunningServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.open_url)
    sync_api.expect(page.get_by_test_id("composer-input")).to_be_visible()


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
    a, b, app = setup.a, setup.b, setup.app_port
    page.goto(a.url)
    sync_api.expect(page.locator("h1")).to_have_text("Project A")
    assert page.evaluate("location.origin") == a.origin
    own = page.evaluate(
        "fetch('mine.txt').then((r) => r.text())"
    )  # the project's own file, same-origin
    assert A_SECRET in own
    api_file = f"/api/conversations/{b.id}/files/secret.txt"
    targets = [
        ("b origin", "read", f"{b.origin}/secret.txt"),
        ("b at localhost", "read", f"http://localhost:{b.port}/secret.txt"),
        ("app port, old path", "read", f"http://127.0.0.1:{app}/p/{b.id}/secret.txt"),
        ("app api", "read", f"http://127.0.0.1:{app}{api_file}"),
        ("own origin, old path", "read", f"/p/{b.id}/secret.txt"),
        ("own origin, climbing", "read", f"/..%2f{b.id}/secret.txt"),
        ("b events", "listen", f"{b.origin}/__gemma/events"),
        ("b events, old path", "listen", f"/__gemma/events/{b.id}"),
        ("app port events", "listen", f"http://127.0.0.1:{app}/__gemma/events/{b.id}"),
        ("b script", "run", f"{b.origin}/data.js"),
        ("app api script", "run", f"http://127.0.0.1:{app}{api_file}"),
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
        ("app port", "read", f"http://127.0.0.1:{setup.app_port}/p/{b.id}/secret.txt"),
    ]
    result = page.evaluate(PROBES, {"targets": targets, "secret": B_SECRET})
    assert result == {
        "file": "blocked",  # no CORS header: the browser hides the answer (the server: 403)
        "events": "blocked",
        "script": "blocked",  # refused by the server (Fetch Metadata), not run as the page's
        "app port": "blocked",
    }, result


def test_no_cookie_no_cors_and_no_old_paths_over_http(setup: Setup) -> None:
    """Another user of the machine can find the ports; without the app's cookie (or with
    it, from another origin) they read nothing."""
    b, server = setup.b, setup.server
    evil = {"Origin": "http://evil.example"}
    cookie = {f"gemma_chat_token_{setup.app_port}": server.token}
    with httpx.Client(base_url=b.origin, timeout=10) as stranger:
        for path in (
            "/secret.txt",
            "/",
            "/data.js",
            "/__gemma/events",
            CLIENT_URL,
        ):
            response = stranger.get(path)
            assert response.status_code == 403, path
            assert B_SECRET not in response.text
            assert "access-control-allow-origin" not in response.headers, path
        assert stranger.head("/secret.txt").status_code == 403
        assert "Open this preview from Gemma Chat" in stranger.get("/").text
        # The Bearer token is for scripts and the API: the preview wants the browser's cookie.
        assert stranger.get("/secret.txt", headers=server.headers).status_code == 403
    with httpx.Client(base_url=b.origin, cookies=cookie, timeout=10) as signed_in:
        # The project's origin, asked by another origin: no ACAO, no content.
        for path in ("/secret.txt", "/", "/__gemma/events"):
            response = signed_in.get(path, headers=evil)
            assert response.status_code == 403, path
            assert "access-control-allow-origin" not in response.headers, path
            assert B_SECRET not in response.text
        # With the cookie and no Origin (the signed-in browser's own navigation), it is
        # served, still without CORS headers.
        plain = signed_in.get("/secret.txt")
        assert B_SECRET in plain.text
        assert "access-control-allow-origin" not in plain.headers
        # DNS rebinding: another name for the project's port gets nothing.
        for host in ("evil.example", f"evil.example:{b.port}", f"127.0.0.1:{setup.app_port}"):
            response = signed_in.get("/secret.txt", headers={"Host": host})
            assert response.status_code == 404, host
            assert B_SECRET not in response.text
    # The old paths on the app's port: nothing of any project, with or without the token.
    with httpx.Client(base_url=server.url, cookies=cookie, timeout=10) as app:
        for path in (f"/p/{b.id}/secret.txt", f"/p/{b.id}/", f"/__gemma/events/{b.id}"):
            for headers in (evil, {}):
                response = app.get(path, headers=headers)
                assert response.status_code in (403, 404), (path, headers)
                assert B_SECRET not in response.text
                assert "access-control-allow-origin" not in response.headers


def test_the_signed_in_browser_opens_a_preview_in_a_new_tab(setup: Setup, page, browser) -> None:  # type: ignore[no-untyped-def]
    """ "Open in new tab" from the app: the cookie goes along (same site); the project's
    script cannot read it (HttpOnly). A browser that never signed in gets the hint page."""
    a, server = setup.a, setup.server
    with page.context.expect_page() as opened:
        page.evaluate("(url) => window.open(url, '_blank', 'noopener')", a.url)
    tab = opened.value
    tab.wait_for_load_state()
    sync_api.expect(tab.locator("h1")).to_have_text("Project A")
    tab.wait_for_function("window.__gemmaPreview?.events?.readyState === 1")  # live updates
    cookies = tab.evaluate("document.cookie")
    assert server.token not in cookies and "gemma_chat_token" not in cookies
    # The project's own cookies are its own business; the app's stays hidden.
    tab.evaluate("document.cookie = 'theme=dark'")
    assert server.token not in tab.evaluate("document.cookie")
    tab.close()

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        response = other.goto(a.url)
        assert response is not None and response.status == 403
        sync_api.expect(other.locator("body")).to_contain_text("Open this preview from Gemma Chat")
        assert A_SECRET not in other.content()
    finally:
        stranger.close()


def test_a_port_reused_in_a_later_run_keeps_no_storage(setup: Setup, page) -> None:  # type: ignore[no-untyped-def]
    """Ports are per run; the OS may give A's port to project B after a restart, and B's
    page must not find A's localStorage there. The first page of each port in a run clears
    the origin's storage."""
    a, server = setup.a, setup.server
    signed_in = {"Cookie": f"{cookie_name(setup.app_port)}={server.token}"}
    first = httpx.get(a.url, headers=signed_in, timeout=10)
    assert first.status_code == 200 and first.headers["clear-site-data"] == '"storage"'
    assert "clear-site-data" not in httpx.get(a.url, headers=signed_in, timeout=10).headers
    preview = server.server.config.app.state.gemma.preview
    preview._fresh.discard(a.port)  # so the browser's first visit is the port's first too
    tab = page.context.new_page()
    tab.goto(a.url)
    tab.evaluate("localStorage.setItem('notes', 'A private note')")
    tab.reload()
    assert tab.evaluate("localStorage.getItem('notes')") == "A private note"  # kept in a run

    preview._fresh.discard(a.port)  # what a new run that bound this port again would be
    tab.reload()
    # Chromium empties the origin's storage before the page loads, but the renderer's own
    # copy of localStorage hears of it a moment later on a busy machine: wait for it.
    tab.wait_for_function("localStorage.getItem('notes') === null", timeout=10_000)
    tab.close()


WRITE_ATTACK = """<!doctype html>
<html><head><title>attack</title></head><body>
<iframe name="sink"></iframe>
<form id="upload" method="post" enctype="multipart/form-data" target="sink">
  <input type="file" name="file" id="file">
</form>
<form id="stop" method="post" target="sink"></form>
<form id="create" method="post" enctype="text/plain" target="sink">
  <input name='{"mode": "chat", "title": "planted", "x": "' value='"}'>
</form>
</body></html>
"""

# Everything a project page can try against the app, in the page; resolves when all are sent.
WRITE_ATTEMPTS = """async ({app, conv}) => {
  const api = `${app}/api`;
  const forms = {upload: `${api}/attachments`, stop: `${api}/conversations/${conv}/stop`,
                 create: `${api}/conversations`};
  for (const [id, url] of Object.entries(forms)) document.getElementById(id).action = url;
  const dt = new DataTransfer();
  dt.items.add(new File(['planted by a project'], 'planted.txt', {type: 'text/plain'}));
  document.getElementById('file').files = dt.files;
  const out = {};
  for (const id of Object.keys(forms)) {
    try { document.getElementById(id).submit(); out[`form ${id}`] = 'sent'; }
    catch (e) { out[`form ${id}`] = 'blocked'; }
    await new Promise((r) => setTimeout(r, 300));
  }
  const tryFetch = async (name, url, init) => {
    try { const r = await fetch(url, {credentials: 'include', ...init});
          out[name] = r.type === 'opaque' ? 'opaque' : `status ${r.status}`; }
    catch (e) { out[name] = 'blocked'; }
  };
  const fd = new FormData();
  fd.append('file', new Blob(['planted by a project'], {type: 'text/plain'}), 'planted.txt');
  await tryFetch('fetch upload', forms.upload, {method: 'POST', mode: 'no-cors', body: fd});
  await tryFetch('fetch stop', forms.stop, {method: 'POST', mode: 'no-cors'});
  await tryFetch('fetch create', forms.create, {method: 'POST', mode: 'no-cors',
    headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({title: 'planted'})});
  await tryFetch('fetch create json', forms.create, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({title: 'planted'})});
  out.beacon = navigator.sendBeacon(forms.stop) ? 'queued' : 'refused';
  await new Promise((r) => setTimeout(r, 500));
  return out;
}"""


def test_a_project_page_cannot_write_to_the_app(  # type: ignore[no-untyped-def]
    setup: Setup, browser, replay_file
) -> None:
    """The project page is same-site with the app and its requests carry the app's cookie.
    Its CSP (connect-src, form-action 'self') stops them in the browser; with the CSP
    bypassed, the app's own guard refuses them (Sec-Fetch-Site same-site, a foreign Origin)."""
    a, server = setup.a, setup.server
    slow = replay_file(" ".join(["word"] * 240), tps=20)  # a 12 s reply to try to stop
    with server.client() as api:
        made = api.post("/api/conversations", json={"mode": "chat", "model": slow})
        assert made.status_code == 201, made.text
        conv = made.json()["id"]
        before = api.get("/api/conversations").json()["total"]
    workspace = server.settings.data_dir / "workspaces" / a.id
    (workspace / "attack.html").write_text(WRITE_ATTACK, encoding="utf-8")
    events: list[Any] = []
    turn = threading.Thread(target=lambda: events.extend(send(server.url, conv, "go")))
    turn.start()
    deadline = time.monotonic() + 10
    with server.client() as api:
        while not api.get(f"/api/conversations/{conv}").json()["running"]:
            assert time.monotonic() < deadline, "the turn did not start"
            time.sleep(0.05)

    answers: dict[bool, list[tuple[str, int]]] = {}
    seen: dict[bool, dict[str, str]] = {}
    for bypass in (False, True):
        context = browser.new_context(bypass_csp=bypass)
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, server)
            page.goto(f"{a.url}attack.html")
            assert page.evaluate("location.origin") == a.origin
            got: list[tuple[str, int]] = []  # the app's answers to the page's requests
            page.on(
                "response",
                lambda r, got=got: (
                    got.append((r.url, r.status))
                    if r.url.startswith(f"{server.url}/api/")
                    else None
                ),
            )
            seen[bypass] = page.evaluate(WRITE_ATTEMPTS, {"app": server.url, "conv": conv})
            page.wait_for_timeout(500)
            answers[bypass] = got
        finally:
            context.close()
        with server.client() as api:
            assert api.get(f"/api/conversations/{conv}").json()["running"] is True, bypass

    # Under the preview's CSP, nothing reaches the app at all.
    assert answers[False] == [], answers[False]
    assert {k: v for k, v in seen[False].items() if k.startswith("fetch")} == {
        "fetch upload": "blocked",
        "fetch stop": "blocked",
        "fetch create": "blocked",
        "fetch create json": "blocked",
    }, seen[False]
    # Without it, the requests do reach the app (the cookie goes along) and are refused.
    assert len(answers[True]) >= 4, (answers[True], seen[True])
    assert {status for _, status in answers[True]} == {403}, answers[True]

    turn.join(60)
    assert events and events[-1][0] == "turn.end"
    assert events[-1][1]["reason"] == "stop"  # finished on its own; no stop got through
    attachments = server.settings.data_dir / "attachments"
    assert not attachments.exists() or not [p for p in attachments.rglob("*") if p.is_file()]
    with server.client() as api:
        listed = api.get("/api/conversations").json()
        assert listed["total"] == before
        assert all(c["title"] != "planted" for c in listed["conversations"])
