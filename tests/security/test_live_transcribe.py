"""The live-dictation WebSocket: a page on another origin must not open it with the user's
cookie (cross-site WebSocket hijacking: browsers send cookies on WebSocket handshakes to any
origin and apply no CORS), and nobody without the token may open it at all."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from gemma_chat.server.auth import cookie_name

pytestmark = pytest.mark.slow  # the app preloads the built-in model

FOREIGN_ORIGINS = [
    "http://evil.example",
    "null",
    "http://127.0.0.1:1",  # another loopback port: same site, other origin
    "http://localhost.evil.example:8642",
]


def _ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/api/transcribe/live"


def _cookie(server) -> dict[str, str]:
    port = int(server.url.rsplit(":", 1)[1])
    return {"Cookie": f"{cookie_name(port)}={server.token}"}


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_foreign_origin_is_refused_even_with_the_cookie(start_server, origin: str) -> None:
    server = start_server("embedded")
    with pytest.raises(InvalidStatus) as info:
        connect(_ws_url(server), origin=origin, additional_headers=_cookie(server))
    assert info.value.response.status_code == 403


def test_cross_site_fetch_metadata_is_refused(start_server) -> None:
    server = start_server("embedded")
    headers = {**_cookie(server), "Sec-Fetch-Site": "cross-site"}
    with pytest.raises(InvalidStatus) as info:
        connect(_ws_url(server), additional_headers=headers)
    assert info.value.response.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_no_token_is_refused(start_server, headers: dict[str, str]) -> None:
    server = start_server("embedded")
    own = server.url  # even the app's own origin needs the token
    with pytest.raises(InvalidStatus) as info:
        connect(_ws_url(server), origin=own, additional_headers=headers)
    assert info.value.response.status_code == 403


def test_the_app_page_itself_may_connect(start_server) -> None:
    """The control: the same handshake from the app's own origin, with the cookie, works."""
    server = start_server("embedded")
    with connect(_ws_url(server), origin=server.url, additional_headers=_cookie(server)) as ws:
        ws.send(json.dumps({"type": "end"}))
        assert json.loads(ws.recv(timeout=30)) == {"type": "final", "text": ""}
