"""Browser-facing guards: no cross-site writes or WebSockets, no framing, a strict CSP.

The access token travels as a cookie once the browser has logged in, and SameSite=Strict
does not stop a page on another loopback *port* (that is the same site). So every request
that can change something is checked for where it comes from: an `Origin` other than the
app's own, or a `Sec-Fetch-Site` other than `same-origin`/`none`, gets a 403 before its body
is read. Requests with neither header (curl, the CLI, scripts with the token) pass.

Every response also carries headers that keep the app out of other pages' frames and tell
the browser to run only the app's own scripts. Pure ASGI, so event streams stay unbuffered.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemma_chat.server.asgi_json import send_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
WEB_SCHEMES = {"ws": "http", "wss": "https"}
DOCS_PATHS = ("/docs", "/redoc")  # FastAPI's API explorers (and /docs/oauth2-redirect)

CROSS_SITE_DETAIL = (
    "Refused: this request came from another web page ({source}). Only the Gemma Chat "
    "page itself may change things; scripts send no Origin and use the token."
)

# The UI: ES modules and stylesheets from /static, images from uploads (and blob:/data:
# previews), the live preview in a frame on its own origin(s). Nothing inline.
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-src {frames}; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load their viewer from a CDN and start it inline.
# They show no user data, so they get that and no more (they stay unframeable).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "font-src 'self' data: https://fonts.gstatic.com; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
STATIC_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def own_origin(scope: Scope) -> str | None:
    """The origin the request was addressed to: its scheme and Host header.

    The Host header is trustworthy here because TrustedHostMiddleware limits it to loopback
    names, so a page at http://localhost:P and one at http://127.0.0.1:P both work.
    """
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            # A WebSocket handshake's scheme is ws/wss; the page's Origin says http/https.
            scheme = WEB_SCHEMES.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
            return f"{scheme}://{host}" if host else None
    return None


def foreign_source(scope: Scope) -> str | None:
    """Why a state-changing request looks cross-site (None: it does not)."""
    origin = fetch_site = None
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            origin = value.decode("latin-1").strip().lower()
        elif name == b"sec-fetch-site":
            fetch_site = value.decode("latin-1").strip().lower()
    if origin is not None and origin != own_origin(scope):
        return f"Origin {origin}"  # "null" (sandboxed frames, file: pages) is foreign too
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCH:
        return f"Sec-Fetch-Site {fetch_site}"
    return None


def _is_docs(path: str) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in DOCS_PATHS)


class BrowserGuards:
    """Refuses cross-site writes and stamps the security headers on every response.

    `frame_sources` names the origins the UI may frame (the live preview's), asked per
    request because the preview server picks its port at start-up.
    """

    def __init__(self, app: ASGIApp, frame_sources: Callable[[], str | None]) -> None:
        self.app = app
        self.frame_sources = frame_sources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Browsers open WebSockets to any origin and send the cookie along: a page on
            # another port must not get a live connection (cross-site WebSocket hijacking).
            if foreign_source(scope) is not None:
                await send({"type": "websocket.close", "code": 1008})  # a 403 handshake
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policy(scope["path"])
        extra = [*STATIC_HEADERS, (b"content-security-policy", policy.encode("latin-1"))]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        if scope["method"] not in SAFE_METHODS:
            source = foreign_source(scope)
            if source is not None:
                await send_error(send_with_headers, 403, CROSS_SITE_DETAIL.format(source=source))
                return  # the body is never read
        await self.app(scope, receive, send_with_headers)

    def _policy(self, path: str) -> str:
        if _is_docs(path):
            return DOCS_POLICY
        return APP_POLICY.format(frames=self.frame_sources() or "'none'")


def preview_frames(app: ASGIApp) -> str | None:
    """The live preview's CSP source (None until the app has started it)."""
    state = getattr(getattr(app, "state", None), "gemma", None)
    preview = getattr(state, "preview", None)
    return getattr(preview, "frame_src", None) if preview is not None else None
