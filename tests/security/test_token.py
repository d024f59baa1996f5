"""The access token: without it, nothing of the API answers.

The attack: any local process or user could drive the API (read every conversation, load
`openai:http://HOST/` so the next messages go to that host). Now each start makes a token;
the API takes it as `Authorization: Bearer`, or as the HttpOnly SameSite=Strict cookie a
browser gets from `/?token=…`, and answers 401 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route, WebSocketRoute

from gemma_chat import __version__
from gemma_chat.config import Settings
from gemma_chat.server.app import create_app
from gemma_chat.server.auth import cookie_name
from gemma_chat.server.launch import write_launch_file

CLI = [sys.executable, "-m", "gemma_chat"]
PUBLIC = {("GET", "/api/health")}


def _walk(routes: list[Any], prefix: str = "") -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Mount):
            continue  # /static: the UI's own code, public by design
        if isinstance(route, WebSocketRoute):
            continue  # no HTTP methods: tests/security/test_live_transcribe.py covers it
        if isinstance(route, Route):
            yield (
                route
                if not prefix
                else Route(prefix + route.path, route.endpoint, methods=route.methods)
            )
            continue
        # FastAPI 0.165 keeps an included router whole (`_IncludedRouter`): walk into it.
        included = route.original_router
        yield from _walk(included.routes, prefix + route.include_context.prefix)


def guarded_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """Every (method, concrete path) in `app.routes`, but the public ones and /static."""
    app = create_app(Settings(data_dir=tmp_path / "routes", port=0, preload=False))
    found = []
    for route in _walk(app.routes):
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD" and (method, path) not in PUBLIC:
                found.append((method, path))
    return found


@pytest.fixture
def server(start_server, replay_file):  # type: ignore[no-untyped-def]
    return start_server(replay_file("Hello there."))


def test_every_route_refuses_a_request_without_the_token(server, tmp_path: Path) -> None:
    routes = guarded_routes(tmp_path)
    paths = {path for _, path in routes}
    assert len([p for p in paths if p.startswith("/api/")]) >= 20, routes  # found the API
    assert {"/docs", "/redoc", "/openapi.json", "/"} <= paths
    wrong = {"Authorization": "Bearer " + "x" * len(server.token)}
    foreign_cookie = {"Cookie": f"{cookie_name(1)}={server.token}"}  # another port's name
    for method, path in routes:
        if path == "/":
            continue  # the sign-in page (below)
        for headers in ({}, wrong, foreign_cookie, {"Authorization": server.token}):
            response = httpx.request(
                method, f"{server.url}{path}", headers=headers, json={}, timeout=10
            )
            assert response.status_code == 401, (method, path, headers, response.text)
            if path.startswith("/api/"):
                assert "gemma-chat open" in response.json()["detail"], (method, path)
    # Health stays public, but says only that the app runs: which model (a file path, a
    # server's URL in its spec or error) is for those with the token.
    assert httpx.get(f"{server.url}/api/health").json() == {"status": "ok", "version": __version__}
    signed_in = httpx.get(f"{server.url}/api/health", headers=server.headers).json()
    assert signed_in["model"]["spec"] == server.settings.model


def test_the_token_lets_scripts_and_docs_in(server) -> None:
    with server.client() as api:
        assert api.get("/api/conversations").status_code == 200
        assert api.post("/api/conversations", json={}).status_code in (200, 201)
        assert api.get("/openapi.json").json()["info"]["title"] == "Gemma Chat"
        assert api.get("/docs").status_code == 200
    cookie = {"Cookie": f"{cookie_name(int(server.url.rsplit(':', 1)[1]))}={server.token}"}
    assert httpx.get(f"{server.url}/api/conversations", headers=cookie).status_code == 200


def test_the_link_sets_a_strict_http_only_cookie_and_cleans_the_url(server) -> None:
    response = httpx.get(server.open_url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith(f"gemma_chat_token_{server.url.rsplit(':', 1)[1]}=")
    assert server.token in set_cookie
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute.lower() in set_cookie.lower(), set_cookie
    assert "secure" not in set_cookie.lower()

    stale = httpx.get(f"{server.url}/?token=not-the-token", follow_redirects=False)
    assert stale.status_code == 401 and "set-cookie" not in stale.headers
    assert "gemma-chat open" in stale.text and "/static/app.js" not in stale.text


def test_a_link_opened_from_another_site_forwards_with_a_page_of_its_own(server) -> None:
    # A 303 in a chain that began cross-site would not carry the Strict cookie to `/`.
    response = httpx.get(
        server.open_url, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False
    )
    assert response.status_code == 200 and server.token in response.headers["set-cookie"]
    assert '<meta http-equiv="refresh" content="0;url=/">' in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert server.token not in response.text


def test_the_bare_url_shows_how_to_get_in_and_nothing_of_the_app(server) -> None:
    page = httpx.get(server.url + "/")
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert "gemma-chat open" in page.text and "/?token=" in page.text
    assert "/static/app.js" not in page.text  # not the app
    docs = httpx.get(server.url + "/docs", headers={"Accept": "text/html"})
    assert docs.status_code == 401 and "gemma-chat open" in docs.text


def test_server_json_is_private_and_names_url_pid_and_token(server) -> None:
    path = server.settings.server_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    info = json.loads(path.read_text())
    assert info["url"] == server.url and info["pid"] == os.getpid()
    assert info["token"] == server.token and len(server.token) >= 32


# --- in Chromium ------------------------------------------------------------------------

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_the_link_logs_chromium_in_and_the_ui_lists_conversations(server, browser) -> None:
    with server.client() as api:
        api.post("/api/conversations", json={"title": "Only with the key"})
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.open_url)
    assert page.url == server.url + "/"  # the token is gone from the address bar
    expect(page.get_by_test_id("conversation-item")).to_contain_text("Only with the key")
    assert page.evaluate("document.cookie") == ""  # HttpOnly: page scripts cannot read it
    cookie = next(c for c in context.cookies() if c["name"].startswith("gemma_chat_token"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    context.close()

    stranger = browser.new_context()  # a second browser, a bookmark: no cookie
    page = stranger.new_page()
    page.goto(server.url)
    expect(page.get_by_test_id("signin")).to_contain_text("gemma-chat open")
    expect(page.get_by_test_id("conversation-item")).to_have_count(0)
    status = page.evaluate("fetch('/api/conversations').then((r) => r.status)")
    assert status == 401
    stranger.close()


def test_the_launch_file_signs_chromium_in(server, browser, tmp_path: Path) -> None:
    """What `gemma-chat` opens: a private file that forwards to the link (a file:// page is
    another site, so this is the cross-site path), ending signed in on the clean URL."""
    launch = write_launch_file(tmp_path, server.open_url)
    assert launch.stat().st_mode & 0o777 == 0o600
    context = browser.new_context()
    page = context.new_page()
    page.goto(launch.as_uri())
    page.wait_for_url(server.url + "/")
    expect(page.get_by_test_id("composer-input")).to_be_visible()
    expect(page.get_by_test_id("signin")).to_have_count(0)
    context.close()


def test_a_tab_whose_session_ended_says_so(server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.open_url)
    expect(page.get_by_test_id("composer-input")).to_be_visible()
    context.clear_cookies()  # what a restart does: the old cookie no longer opens the API
    box = page.get_by_test_id("composer-input")
    box.fill("Hello?")
    box.press("Enter")
    ended = page.get_by_test_id("session-ended")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("gemma-chat open")
    context.close()


# --- the command line -------------------------------------------------------------------


def _env(home: Path, opened: Path) -> dict[str, str]:
    browser = home.parent / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    return {**os.environ, "GEMMA_CHAT_HOME": str(home), "BROWSER": str(browser)}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, timeout=60)


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    return json.loads(path.read_text())


def test_open_and_a_second_start_open_the_running_instance(tmp_path: Path, replay_file) -> None:
    home, opened = tmp_path / "home", tmp_path / "opened.txt"
    env = _env(home, opened)
    nothing = _cli(["open"], env)
    assert nothing.returncode == 1 and "not running" in nothing.stderr

    spec = replay_file("hi")
    proc = subprocess.Popen(
        [*CLI, "--port", "0", "--model", spec], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        info = _wait_for(home / "server.json", proc)
        link = f"{info['url']}/?token={info['token']}"
        login = httpx.get(link, follow_redirects=False)  # the link it prints and opens works
        assert login.status_code == 303 and info["token"] in login.headers["set-cookie"]

        printed = _cli(["open", "--no-browser"], env)
        assert printed.returncode == 0 and link in printed.stderr

        assert _cli(["open"], env).returncode == 0
        again = _cli(["--port", "0", "--model", spec], env)  # a second start
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr and link in again.stderr
        assert json.loads((home / "server.json").read_text()) == info  # no second server
        launch = (home / "open.html").resolve().as_uri()
        deadline = time.monotonic() + 10
        while opened.read_text().count(launch) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # webbrowser starts the browser in the background
        # The start, `open`, the second start: each opens the private launch file, so the
        # token never appears on the browser's command line (other users can read that).
        assert opened.read_text().split() == [launch] * 3
        assert info["token"] not in opened.read_text()
        assert (home / "open.html").stat().st_mode & 0o777 == 0o600
        assert link in (home / "open.html").read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.stderr is not None
    assert link in proc.stderr.read()  # the first start printed its link
    gone = _cli(["open"], env)
    assert gone.returncode == 1 and "not running" in gone.stderr
