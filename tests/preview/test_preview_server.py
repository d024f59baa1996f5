"""The preview server over real HTTP: serving, confinement, headers, injection, live events."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gemma_chat.workspace.preview import (
    CLIENT_URL,
    PreviewServer,
    content_type,
    inject_client,
)
from tests.preview.conftest import CONV, COOKIE, TOKEN

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def write(workspaces: Path, rel: str, data: str | bytes, conv: str = CONV) -> Path:
    target = workspaces / conv / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        target.write_bytes(data)
    else:
        target.write_text(data, encoding="utf-8")
    return target


def client_for(
    server: PreviewServer, conv: str = CONV, cookies: dict[str, str] | None = COOKIE, **kwargs: Any
) -> httpx.AsyncClient:
    """A client of the project's origin (`http://127.0.0.1:<its port>`) that carries the
    app's sign-in cookie, as the signed-in browser does."""
    return httpx.AsyncClient(base_url=server.origin_for(conv), cookies=cookies, **kwargs)


async def get(server: PreviewServer, path: str, conv: str = CONV, **kwargs: Any) -> httpx.Response:
    async with client_for(server, conv, timeout=10) as client:
        return await client.get(path, **kwargs)


def raw_request(target: str, host: str, cookie: bool = True) -> bytes:
    cookies = "".join(f"Cookie: {k}={v}\r\n" for k, v in COOKIE.items()) if cookie else ""
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{cookies}Connection: close\r\n\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    data = await asyncio.wait_for(reader.read(), 10)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def get_raw(
    server: PreviewServer, target: str, host: str = "", conv: str = CONV, port: int = 0
) -> tuple[int, bytes]:
    """Send a request line exactly as given (no client-side normalising of '..'), to the
    project's port (or `port`), naming `host` (default: the project's origin)."""
    port = port or server.port_for(conv)
    host = host or f"127.0.0.1:{port}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw_request(target, host))
    await writer.drain()
    status = await read_response(reader)
    writer.close()
    return status


# -- serving -------------------------------------------------------------------------------------


async def test_serves_files_with_their_content_types(preview: PreviewServer, workspaces: Path):
    write(workspaces, "index.html", "<!doctype html><title>x</title><h1>Hello</h1>")
    write(workspaces, "css/style.css", "h1 { color: red }")
    write(workspaces, "js/app.js", "console.log(1)")
    write(workspaces, "js/mod.mjs", "export const a = 1")
    write(workspaces, "data.json", '{"a": 1}')
    write(workspaces, "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    write(workspaces, "img/cat.png", PNG)
    write(workspaces, "font.woff2", b"wOF2")
    write(workspaces, "blob.unknownext", b"\x00\x01")
    expected = {
        "index.html": "text/html; charset=utf-8",
        "css/style.css": "text/css; charset=utf-8",
        "js/app.js": "text/javascript; charset=utf-8",
        "js/mod.mjs": "text/javascript; charset=utf-8",
        "data.json": "application/json; charset=utf-8",
        "logo.svg": "image/svg+xml; charset=utf-8",
        "img/cat.png": "image/png",
        "font.woff2": "font/woff2",
        "blob.unknownext": "application/octet-stream",
    }
    for rel, kind in expected.items():
        response = await get(preview, f"/{rel}")
        assert response.status_code == 200, rel
        assert response.headers["content-type"] == kind, rel
    assert (await get(preview, "/img/cat.png")).content == PNG
    assert (await get(preview, "/css/style.css")).text == "h1 { color: red }"
    # HEAD and ranges work for media files
    async with client_for(preview) as client:
        head = await client.head("/img/cat.png")
        assert head.status_code == 200 and head.headers["content-length"] == str(len(PNG))
        part = await client.get("/img/cat.png", headers={"Range": "bytes=0-3"})
        assert part.status_code == 206 and part.content == PNG[:4]


def test_content_type_table() -> None:
    assert content_type("a/b.HTML") == "text/html; charset=utf-8"
    assert content_type("x.webmanifest") == "application/manifest+json; charset=utf-8"
    assert content_type("x.wasm") == "application/wasm"
    assert content_type("noext") == "application/octet-stream"


async def test_folders_redirect_and_serve_their_index(preview: PreviewServer, workspaces: Path):
    write(workspaces, "index.html", "<p>root</p>")
    write(workspaces, "docs/index.html", "<p>docs</p>")
    async with client_for(preview) as client:
        assert "<p>root</p>" in (await client.get("/")).text
        folder = await client.get("/docs")
        assert folder.status_code == 307 and folder.headers["location"] == "/docs/"
        assert "<p>docs</p>" in (await client.get("/docs/")).text
    origin = preview.origin_for(CONV)
    assert preview.url_for(CONV) == f"{origin}/"
    assert preview.url_for(CONV, "docs/a page.html") == f"{origin}/docs/a%20page.html"


async def test_each_project_has_its_own_port(workspaces: Path) -> None:
    idle = PreviewServer(workspaces, TOKEN)
    assert idle.frame_src == "'none'"  # not started
    with pytest.raises(RuntimeError):
        idle.port_for(CONV)
    a, b = PreviewServer(workspaces, TOKEN), PreviewServer(workspaces, TOKEN)
    await a.start()
    await b.start()
    try:
        assert a.open_ports == {}  # ports are bound when a preview is asked for
        port = a.port_for(CONV)
        assert a.open_ports == {port: CONV} and a.port_for(CONV) == port
        assert a.origin_for(CONV) == f"http://127.0.0.1:{port}"
        assert a.port_for("c_other") != port  # one origin per project
        assert b.port_for(CONV) != port  # and per server
        assert CONV not in a.url_for(CONV)
        # On the loopback name the app was reached at (its cookie is scoped to that name).
        assert a.origin_for(CONV, "localhost") == f"http://localhost:{port}"
        assert a.origin_for(CONV, "::1") == f"http://[::1]:{port}"
        assert a.origin_for(CONV, "evil.example") == f"http://127.0.0.1:{port}"
        assert a.frame_src == "http://127.0.0.1:* http://localhost:*"
        with pytest.raises(ValueError):
            a.port_for("../c_other")
    finally:
        await a.stop()
        await b.stop()
    with pytest.raises(ValueError):
        PreviewServer(workspaces, "")  # no token, no preview


async def test_early_connections_wait_for_the_server(preview: PreviewServer, workspaces: Path):
    """The port listens from the moment it is handed out: a browser that connects before
    the server task has run is queued, not refused."""
    write(workspaces, "index.html", "<p>early</p>")
    port = preview.port_for("c_early")
    write(workspaces, "index.html", "<p>early</p>", conv="c_early")
    # No await yet: the server task has not started, and the loop is busy with this test.
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.sendall(raw_request("/", f"127.0.0.1:{port}"))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    status, body = await read_response(reader)
    writer.close()
    assert status == 200 and b"early" in body


async def test_ports_are_capped_least_recently_used_first(workspaces: Path) -> None:
    server = PreviewServer(workspaces, TOKEN, max_ports=2)
    await server.start()
    try:
        write(workspaces, "index.html", "<p>one</p>", conv="c_one")
        one = server.port_for("c_one")
        two = server.port_for("c_two")
        assert (await get(server, "/", conv="c_one")).status_code == 200  # c_one used last
        three = server.port_for("c_three")
        assert server.open_ports == {one: "c_one", three: "c_three"}
        await asyncio.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            await get_raw_url(f"http://127.0.0.1:{two}/")
        # Asked again, c_two gets a port (its own again when it is free), never another's.
        again = server.port_for("c_two")
        assert again not in (one, three)
        assert "c_one" not in server.open_ports.values()  # now the least recently used
        assert (await get(server, "/", conv="c_two")).status_code == 404  # its placeholder
    finally:
        await server.stop()
    assert server.open_ports == {}


async def test_missing_files(preview: PreviewServer, workspaces: Path) -> None:
    missing = await get(preview, "/nope.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/plain")
    # A page not written yet is a placeholder with the live client: it turns into the page.
    page = await get(preview, "/")
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert CLIENT_URL in page.text and "This project has no files yet" in page.text
    # ...also for a conversation that has no workspace folder yet
    fresh = await get(preview, "/", conv="c_new")
    assert fresh.status_code == 404 and CLIENT_URL in fresh.text
    # It says what is true: the page is being typed, or the project has other files only.
    preview.file_started(CONV, "index.html")
    typing = await get(preview, "/")
    assert "Waiting for <code>index.html</code>" in typing.text
    preview.file_done(CONV, "index.html")  # a write that failed: nothing on disk
    write(workspaces, "about.html", "<p>about</p>")
    other = await get(preview, "/")
    assert other.status_code == 404
    assert "This project has no <code>index.html</code>" in other.text


# -- confinement ---------------------------------------------------------------------------------


async def test_paths_cannot_leave_the_workspace(preview: PreviewServer, workspaces: Path):
    write(workspaces, "index.html", "<p>mine</p>")
    write(workspaces, "index.html", "<p>other conversation</p>", conv="c_other")
    (workspaces / "secret.txt").write_text("workspaces-level secret")
    (workspaces.parent / "outside.txt").write_text("outside secret")
    (workspaces / CONV / ".git").mkdir()
    (workspaces / CONV / ".git" / "config").write_text("[core]")
    write(workspaces, ".gcw-12345678.tmp", "half-written")
    os.symlink(workspaces.parent / "outside.txt", workspaces / CONV / "link.txt")
    os.symlink(workspaces / "c_other", workspaces / CONV / "linkdir")
    os.symlink("/etc", workspaces / CONV / "etc")

    targets = [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2f..%2foutside.txt",
        "/%2e%2e/c_other/index.html",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/C:%5cWindows%5cwin.ini",
        "/link.txt",
        "/linkdir/index.html",
        "/etc/passwd",
        "/.git/config",
        "/.GIT/config",
        "/.gcw-12345678.tmp",
        "/p/c_other/index.html",  # the old path scheme reaches nothing
        "/p/..%2fsecret.txt/x",
        "/p/%2e%2e/secret.txt",
        "/p/c_bad%2f..%2fc_other/index.html",
    ]
    for target in targets:
        status, body = await get_raw(preview, target)
        assert status in (404, 307), target
        assert b"secret" not in body and b"other conversation" not in body, target
        assert b"root:" not in body and b"[core]" not in body, target
        if status == 307:  # only a folder redirect that stays inside the preview
            assert target.startswith("/p/"), target
    status, body = await get_raw(preview, "/index.html")
    assert status == 200 and b"mine" in body


async def test_only_loopback_names_with_the_project_port(
    preview: PreviewServer, workspaces: Path
) -> None:
    write(workspaces, "index.html", "<p>hi</p>")
    port = preview.port_for(CONV)
    other = preview.port_for("c_other")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert (await get_raw(preview, "/", host=host))[0] == 200, host
    # DNS rebinding, look-alikes, the port missing or another one
    for host in (
        "evil.example",
        f"evil.example:{port}",
        f"127.0.0.1.evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"x.localhost:{port}",
        f"127.0.0.2:{port}",
        f"0.0.0.0:{port}",
        "127.0.0.1",
        "localhost",
        "[::1]",
        f"127.0.0.1:{other}",
        f"localhost:{port + 1}",
        "",
    ):
        for path in ("/", "/index.html", f"/p/{CONV}/", CLIENT_URL, "/__gemma/events"):
            status, body = await get_raw(preview, path, host=host or " ")
            assert status in (400, 404), (host, path)
            assert b"hi" not in body


async def test_never_serves_the_app(preview: PreviewServer) -> None:
    for path in ("/api/health", "/api/conversations", "/static/app.js", "/p/"):
        assert (await get(preview, path)).status_code == 404, path


async def test_other_sites_cannot_read_files_or_events(
    preview: PreviewServer, workspaces: Path
) -> None:
    write(workspaces, "index.html", "<p>page</p>")
    write(workspaces, "secret.txt", "project secret")
    own = preview.origin_for(CONV)
    async with client_for(preview, timeout=5) as client:
        for path in ("/secret.txt", "/index.html", "/__gemma/events"):
            for headers in (
                {"Origin": "http://evil.example"},
                {"Origin": "null"},
                {"Origin": preview.origin_for("c_other")},  # another project, same site
                {"Origin": "http://127.0.0.1:8642"},  # the app itself reads no project file
                {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
                {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"},
                {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"},
                {
                    "Sec-Fetch-Site": "cross-site",
                    "Sec-Fetch-Mode": "navigate",
                    "Sec-Fetch-Dest": "script",
                },
            ):
                response = await client.get(path, headers=headers)
                assert response.status_code == 403, (path, headers)
                assert "project secret" not in response.text
                assert "access-control-allow-origin" not in response.headers
        # The project's own page, and navigations (the app's iframe, a new tab), pass.
        mine = await client.get(
            "/secret.txt", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}
        )
        assert mine.text == "project secret"
        assert "access-control-allow-origin" not in mine.headers
        assert mine.headers["cross-origin-resource-policy"] == "same-origin"
        framed = await client.get(
            "/",
            headers={
                "Sec-Fetch-Site": "same-site",
                "Sec-Fetch-Mode": "navigate",
                "Sec-Fetch-Dest": "iframe",
            },
        )
        assert framed.status_code == 200 and "<p>page</p>" in framed.text


async def test_only_the_signed_in_browser_reads_a_project(
    preview: PreviewServer, workspaces: Path
) -> None:
    """Another user of the machine can scan ports, but has not got the app's cookie."""
    write(workspaces, "index.html", "<p>page</p>")
    write(workspaces, "secret.txt", "project secret")
    refused_cookies: list[dict[str, str] | None] = [
        None,
        {"gemma_chat_token_8642": "wrong"},
        {"gemma_chat_token_8642": TOKEN[:-1]},
        {"other_cookie": TOKEN},  # the right value under a name that is not the app's
    ]
    for cookies in refused_cookies:
        async with client_for(preview, cookies=cookies, timeout=5) as client:
            for path in ("/secret.txt", "/", "/__gemma/events", CLIENT_URL, "/nope"):
                response = await client.get(path)
                assert response.status_code == 403, (cookies, path)
                assert "project secret" not in response.text
                assert "access-control-allow-origin" not in response.headers
            head = await client.head("/secret.txt")
            assert head.status_code == 403
    async with client_for(preview, cookies=None) as client:
        page = await client.get("/")
    assert "Open this preview from Gemma Chat" in page.text
    # The app's cookie under any port's name; the project's own cookies beside it are fine.
    for cookies in ({"gemma_chat_token": TOKEN}, {"theme": "dark", "gemma_chat_token_1": TOKEN}):
        async with client_for(preview, cookies=cookies) as client:
            assert (await client.get("/secret.txt")).text == "project secret"
    # A cookie the project's page set under the app's name does not hide the real one.
    port = preview.port_for(CONV)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cookie = f"gemma_chat_token_8642=junk; gemma_chat_token_8642={TOKEN}"
    writer.write(
        f"GET /secret.txt HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    status, body = await read_response(reader)
    writer.close()
    assert status == 200 and body == b"project secret"


async def test_no_service_workers(preview: PreviewServer, workspaces: Path) -> None:
    """A service worker would outlive the project on its port (and serve the next one)."""
    write(workspaces, "sw.js", "self.onfetch = () => {}")
    refused = await get(preview, "/sw.js", headers={"Service-Worker": "script"})
    assert refused.status_code == 403
    assert (await get(preview, "/sw.js")).status_code == 200


# -- headers and injection -----------------------------------------------------------------------


async def test_strict_headers_on_every_response(preview: PreviewServer, workspaces: Path):
    write(workspaces, "index.html", "<p>x</p>")
    write(workspaces, "a.css", "p{}")
    write(workspaces, "a.png", PNG)
    for path in ("/", "/a.css", "/a.png", "/gone.js"):
        response = await get(preview, path)
        csp = response.headers["content-security-policy"]
        assert "connect-src 'self'" in csp, path
        assert "form-action 'self'" in csp, path
        assert "frame-ancestors 'self'" in csp, path  # only the app (once it asked) frames it
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path
        assert "access-control-allow-origin" not in response.headers, path
    client = await get(preview, CLIENT_URL)
    assert client.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "Idiomorph" in client.text and "gemma-preview-error" in client.text
    assert "export {" not in client.text  # a classic script, not a module
    library = await get(preview, "/__gemma/idiomorph.js")
    assert library.status_code == 200 and "window.Idiomorph" in library.text


async def test_html_pages_get_the_client(preview: PreviewServer, workspaces: Path) -> None:
    write(
        workspaces, "index.html", "<!doctype html><html><head><title>A</title></head><body></body>"
    )
    text = (await get(preview, "/index.html")).text
    tag = f'<script src="{CLIENT_URL}" data-app="[]"></script>'
    assert text == f"<!doctype html><html><head>{tag}<title>A</title></head><body></body>"
    # The app's origin, once the app has asked for the preview: errors go there only.
    preview.trust_app("http://127.0.0.1:8123/")
    text = (await get(preview, "/index.html")).text
    assert 'data-app="[&quot;http://127.0.0.1:8123&quot;]"' in text
    csp = (await get(preview, "/index.html")).headers["content-security-policy"]
    assert "frame-ancestors 'self' http://127.0.0.1:8123" in csp
    # not into other file types
    write(workspaces, "a.js", "var s = '<head></head>'")
    assert (await get(preview, "/a.js")).text == "var s = '<head></head>'"


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "<html><head><title>a</title></head></html>",
            "<html><head>TAG<title>a</title></head></html>",
        ),
        ('<HEAD lang="x"><b>', '<HEAD lang="x">TAG<b>'),
        ("<html lang=en><header>h</header>", "<html lang=en>TAG<header>h</header>"),
        ("<!DOCTYPE html>\n<h1>x</h1>", "<!DOCTYPE html>TAG\n<h1>x</h1>"),
        ("<h1>bare fragment</h1>", "TAG<h1>bare fragment</h1>"),
        ("\ufeff<!doctype html><p>", "\ufeff<!doctype html>TAG<p>"),
    ],
)
def test_injection_placement(page: str, expected: str) -> None:
    tag = f'<script src="{CLIENT_URL}" data-app="[]"></script>'
    assert inject_client(page.encode()).decode() == expected.replace("TAG", tag)


def test_page_scripts_are_left_as_written() -> None:
    """Same-origin now: the page's scripts need no `crossorigin` for their errors to show."""
    page = '<head><script src="app.js"></script><script src=js/b.js defer></script></head>'
    out = inject_client(page.encode(), ['http://a"b']).decode()
    assert out.endswith(page.removeprefix("<head>"))
    assert 'data-app="[&quot;http://a\\&quot;b&quot;]"' in out  # escaped attribute


# -- live events ---------------------------------------------------------------------------------


class Events:
    """The live-update stream of one conversation, as parsed JSON messages."""

    def __init__(self, server: PreviewServer, conv: str = CONV) -> None:
        self.server, self.conv = server, conv
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        async with (
            client_for(self.server, self.conv, timeout=None) as client,
            client.stream("GET", "/__gemma/events") as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "connect-src 'self'" in response.headers["content-security-policy"]
            self.connected.set()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    await self.queue.put(json.loads(line[5:]))

    async def next(self, wait_s: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), wait_s)

    async def take(self, n: int) -> list[dict[str, Any]]:
        return [await self.next() for _ in range(n)]


@pytest.fixture
async def events(preview: PreviewServer) -> AsyncIterator[Events]:
    stream = Events(preview)
    task = asyncio.create_task(stream.run())
    await asyncio.wait_for(stream.connected.wait(), 5)
    await asyncio.sleep(0.05)  # the server has registered the subscriber
    yield stream
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_deltas_stream_as_events(preview: PreviewServer, events: Events, workspaces: Path):
    preview.file_started(CONV, "index.html")
    preview.file_delta(CONV, "index.html", "<h1>Hel")
    await asyncio.sleep(0.05)
    preview.file_delta(CONV, "index.html", "lo</h1>")
    got = await events.take(3)
    assert got == [
        {"t": "start", "path": "index.html"},
        {"t": "delta", "path": "index.html", "text": "<h1>Hel"},
        {"t": "delta", "path": "index.html", "text": "lo</h1>"},
    ]
    # done: the file on disk is what was typed, so the text is not sent again
    write(workspaces, "index.html", "<h1>Hello</h1>")
    preview.file_done(CONV, "index.html")
    assert await events.next() == {"t": "done", "path": "index.html"}
    # done for a file that differs from what streamed (or never streamed: edit_file)
    write(workspaces, "css/a.css", "p { color: red }")
    preview.file_done(CONV, "./css\\a.css")
    assert await events.next() == {"t": "done", "path": "css/a.css", "text": "p { color: red }"}
    # done for a file that is gone
    preview.file_done(CONV, "gone.js")
    assert await events.next() == {"t": "done", "path": "gone.js", "text": None}
    preview.reload(CONV)
    assert await events.next() == {"t": "reload"}


async def test_end_turn_settles_a_half_typed_file(
    preview: PreviewServer, events: Events, workspaces: Path
) -> None:
    write(workspaces, "index.html", "<h1>on disk</h1>")
    preview.end_turn(CONV)  # nothing typing: nothing sent
    preview.file_started(CONV, "index.html")
    preview.file_delta(CONV, "index.html", "<h1>half")
    assert await events.take(2) == [
        {"t": "start", "path": "index.html"},
        {"t": "delta", "path": "index.html", "text": "<h1>half"},
    ]
    preview.end_turn(CONV)  # stopped mid-file: the preview goes back to the file on disk
    assert await events.next() == {"t": "done", "path": "index.html", "text": "<h1>on disk</h1>"}
    preview.end_turn(CONV)
    with pytest.raises(TimeoutError):
        await events.next(wait_s=0.3)


async def test_bad_paths_and_other_conversations_are_not_sent(
    preview: PreviewServer, events: Events
) -> None:
    preview.file_started(CONV, "../escape.html")
    preview.file_delta(CONV, "/etc/passwd", "x")
    preview.file_started("c_other", "index.html")
    preview.file_delta("c_other", "index.html", "not for you")
    preview.file_delta("bad id/..", "index.html", "x")
    preview.file_started(CONV, "ok.css")
    assert await events.next() == {"t": "start", "path": "ok.css"}
    with pytest.raises(TimeoutError):
        await events.next(wait_s=0.3)


async def test_a_late_client_gets_the_text_so_far(preview: PreviewServer) -> None:
    preview.file_started(CONV, "index.html")
    preview.file_delta(CONV, "index.html", "<h1>one ")
    preview.file_delta(CONV, "index.html", "two ")
    late = Events(preview)
    task = asyncio.create_task(late.run())
    try:
        assert await late.take(2) == [
            {"t": "start", "path": "index.html"},
            {"t": "delta", "path": "index.html", "text": "<h1>one two "},
        ]
        preview.file_delta(CONV, "index.html", "three")
        assert await late.next() == {"t": "delta", "path": "index.html", "text": "three"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_calls_from_another_thread_arrive_in_order(
    preview: PreviewServer, events: Events
) -> None:
    pieces = [f"<p>{i}</p>" for i in range(200)]

    def agent() -> None:
        preview.file_started(CONV, "index.html")
        for piece in pieces:
            preview.file_delta(CONV, "index.html", piece)

    thread = threading.Thread(target=agent)
    thread.start()
    thread.join()
    assert await events.next() == {"t": "start", "path": "index.html"}
    text = ""
    while text != "".join(pieces):
        message = await events.next()
        assert message["t"] == "delta"
        text += message["text"]  # a lagging client may get pieces merged, never reordered


async def test_stop_ends_open_streams_quickly(workspaces: Path) -> None:
    server = PreviewServer(workspaces, TOKEN)
    await server.start()
    port = server.port_for(CONV)
    stream = Events(server)
    task = asyncio.create_task(stream.run())
    await asyncio.wait_for(stream.connected.wait(), 5)
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 1.5
    await asyncio.wait_for(task, 5)  # the stream ended cleanly
    with pytest.raises(httpx.ConnectError):
        await get_raw_url(f"http://127.0.0.1:{port}/")


async def get_raw_url(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=2) as client:
        return await client.get(url)


async def test_two_servers_and_restart(workspaces: Path) -> None:
    a, b = PreviewServer(workspaces, TOKEN), PreviewServer(workspaces, TOKEN)
    await a.start()
    await b.start()
    try:
        assert a.port_for(CONV) != b.port_for(CONV)
        write(workspaces, "index.html", "<p>shared</p>")
        assert "shared" in (await get(a, "/")).text
        assert "shared" in (await get(b, "/")).text
    finally:
        await a.stop()
        await b.stop()
    a.file_delta(CONV, "x.html", "typed while stopped")  # harmless
