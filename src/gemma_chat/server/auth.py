"""The per-start access token: who may use the API.

Whoever can read `server.json` (mode 0600) or was handed the link may use the API; other
users of the machine and web pages the user happens to visit cannot. Browsers get the token
once through `/?token=…`, which trades it for an HttpOnly, SameSite=Strict cookie; scripts send
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gemma_chat.server.signin import signin_page

COOKIE_PREFIX = "gemma_chat_token"
# What anyone may fetch: the health probe and the UI's own code (no data in either).
PUBLIC_PATHS = frozenset({"/api/health"})
PUBLIC_PREFIXES = ("/static/",)
SIGNED_IN = "signed_in"  # request.state key on public paths: did the request carry the token
HOW_TO_GET_IN = (
    "This needs Gemma Chat's access token. In a browser, open the link printed when "
    "gemma-chat started, or run `gemma-chat open`. Scripts send "
    "`Authorization: Bearer <token>`, with the token from server.json in the data directory."
)


_ENTER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=/">
<meta name="color-scheme" content="light dark">
<title>Gemma Chat</title></head>
<body><p><a href="/">Open Gemma Chat</a></p></body></html>
"""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def open_url(url: str, token: str) -> str:
    """The link that logs a browser in: `/?token=…` sets the cookie, then redirects."""
    return f"{url}/?token={token}"


def cookie_name(port: int | None) -> str:
    """One cookie per port: browsers share cookies across ports of a host, and two
    instances (two data directories) must not log each other's tabs out."""
    return f"{COOKIE_PREFIX}_{port}" if port else COOKIE_PREFIX


def _same(given: str, token: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8", "replace"), token.encode())


class TokenGate:
    """Pure ASGI middleware (streams and SSE pass through unbuffered) that lets a request in
    only with the token, except the public paths and the sign-in exchange on `/`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        server = scope.get("server")
        name = cookie_name(server[1] if server else None)
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            # Open to all, but a public route may say more to those with the token.
            scope.setdefault("state", {})[SIGNED_IN] = self._allowed(headers, name)
            await self.app(scope, receive, send)
            return
        if path == "/" and scope["type"] == "http":
            offered = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
            if offered:
                response = self._exchange(offered[0], name, headers)
                await response(scope, receive, send)
                return
        if self._allowed(headers, name):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = self._refusal(path, headers)
        await response(scope, receive, send)

    def _allowed(self, headers: Headers, name: str) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(credentials.strip(), self.token):
            return True
        cookie = cookie_parser(headers.get("cookie", "")).get(name)
        return cookie is not None and _same(cookie, self.token)

    def _exchange(self, offered: str, name: str, headers: Headers) -> Response:
        """`/?token=…`: a right token becomes the cookie and a clean URL; a wrong one, the
        sign-in page (no cookie).

        A link opened from another site (the launch file, a page, a chat) reaches the clean
        URL through a page of our own (meta refresh), not a 303: a redirect chain that began
        cross-site never sends a SameSite=Strict cookie, so it would land on the sign-in
        page, while a navigation the app's own page starts is same-site.
        """
        if not _same(offered, self.token):
            return signin_page(stale_link=True)
        no_store = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        response: Response
        if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            response = HTMLResponse(_ENTER_PAGE, headers=no_store)
        else:  # typed, bookmarked, a script: the redirect stays same-site
            response = RedirectResponse("/", status_code=303, headers=no_store)
        # No Secure flag: the app is plain http on loopback.
        response.set_cookie(name, self.token, path="/", httponly=True, samesite="strict")
        return response

    @staticmethod
    def _refusal(path: str, headers: Headers) -> Response:
        wants_page = path == "/" or "text/html" in headers.get("accept", "")
        if wants_page and not path.startswith("/api"):
            return signin_page()  # a page a person opened: `/`, `/docs`
        return JSONResponse(
            {"detail": HOW_TO_GET_IN},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
        )
