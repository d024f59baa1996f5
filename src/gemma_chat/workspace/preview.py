"""The live preview: one origin per Build workspace, served and updated live.

The preview runs model-written code, so each project gets an origin of its own:
`http://<label>.localhost:<port>/`, on a port of its own on 127.0.0.1 (browsers resolve
`*.localhost` to loopback without DNS). `<label>` is an HMAC of the conversation id keyed by a
secret made at start, so neither a project's page nor another user of the machine can derive
another project's origin from its id. The server maps the Host header back to the project:
an unknown host (including the bare `127.0.0.1:<port>`, and any DNS-rebinding name) gets 404.
Requests that another site's page makes are refused (Fetch Metadata), and no response carries
CORS headers, so a project's files and live events answer only its own page. Navigations
(the app's `<iframe>`, "open in new tab") are allowed. The page's Content-Security-Policy
(`connect-src 'self'`) keeps it away from the app's API.

Live updates: while the model types a file, the agent loop calls `file_started`,
`file_delta` and `file_done`. The server keeps the text typed so far and pushes each piece
over Server-Sent Events (`/__gemma/events` on the project's origin) to `preview_client.js`, the
script it injects into every HTML page, which applies HTML by DOM morphing, CSS as an inline
stylesheet, and reloads the page once a script file is complete.

Wire protocol (one JSON object per SSE `data:` line):
  {"t": "start", "path"}            a file is being written from empty
  {"t": "delta", "path", "text"}    append text to it
  {"t": "done", "path", "text"?}    the file is complete on disk; `text` is its content when it
                                    differs from the streamed text (null: unreadable or gone)
  {"t": "reload"}                   reload the page (restore, delete, rename...)
A client that connects while a file is being written first gets that file's start and text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import mimetypes
import re
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gemma_chat.workspace.paths import WorkspaceError, normalize, resolve_in

log = logging.getLogger(__name__)

CLIENT_JS = Path(__file__).resolve().parent / "preview_client.js"
IDIOMORPH_JS = Path(__file__).resolve().parent.parent / "ui" / "vendor" / "idiomorph.esm.js"
CLIENT_URL = "/__gemma/preview_client.js"
KEEPALIVE_S = 15.0
MAX_DONE_TEXT = 4_000_000  # bytes: bigger files are announced without their text
MAX_QUEUED = 500  # messages a slow client may lag behind before it is resynchronised
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LABEL_CHARS = 32  # hex digits of the HMAC in a project's host name (128 bits)
_LABEL = re.compile(rf"^[0-9a-f]{{{LABEL_CHARS}}}$")
MAX_APP_ORIGINS = 8
SCOPE_KEY = "gemma.conversation_id"  # where the request's project travels in the ASGI scope
_HEAD_OPEN = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML_OPEN = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(rb"^\s*<!doctype[^>]*>", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"

# Explicit types for what web projects contain: the OS's mimetypes table varies
# (Windows registry, missing /etc/mime.types) and a wrong type breaks modules under nosniff.
CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".bmp": "image/bmp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".pdf": "application/pdf",
}
_TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "application/xml")
_HTML_SUFFIXES = (".html", ".htm")

_PLACEHOLDER = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preview</title>
<style>
html { color-scheme: light dark; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center;
  font: 15px/1.5 system-ui, sans-serif; color: #80848f; }
p { margin: 0; }
</style>
</head>
<body>
<p>Waiting for <code>{path}</code>&hellip; it appears here as soon as the model writes it.</p>
</body>
</html>
"""


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    kind = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    if kind.startswith(_TEXT_TYPES) or kind.endswith("+json") or kind.endswith("+xml"):
        kind += "; charset=utf-8"
    return kind


def inject_client(page: bytes, app_origins: Iterable[str] = ()) -> bytes:
    """Put the live-update script into an HTML page, as early as possible (so it catches the
    page's own errors): just inside <head>, else after <html> or the doctype, else first.

    `app_origins` are the only origins the script reports errors to (postMessage's
    targetOrigin): never `*`, so a page that frames the preview learns nothing.
    """
    apps = html.escape(json.dumps(list(app_origins), separators=(",", ":")))
    tag = f'<script src="{CLIENT_URL}" data-app="{apps}"></script>'.encode()
    bom = page.startswith(_BOM)
    body = page[len(_BOM) :] if bom else page
    for pattern in (_HEAD_OPEN, _HTML_OPEN, _DOCTYPE):
        match = pattern.search(body, 0, 8192) if pattern is not _DOCTYPE else pattern.match(body)
        if match:
            body = body[: match.end()] + tag + body[match.end() :]
            break
    else:
        body = tag + body
    return (_BOM if bom else b"") + body


def _client_bundle() -> tuple[str, str]:
    """(preview_client.js with idiomorph inside it, idiomorph as a classic script)."""
    morph = IDIOMORPH_JS.read_text(encoding="utf-8")
    morph = re.sub(r"^export\s*\{\s*Idiomorph\s*\}\s*;?\s*$", "", morph, flags=re.MULTILINE)
    client = CLIENT_JS.read_text(encoding="utf-8")
    bundle = f"(function () {{\n{morph}\n{client}\n}})();\n"
    standalone = f"{morph}\nwindow.Idiomorph = Idiomorph;\n"
    return bundle, standalone


# -- live state ------------------------------------------------------------------------------------


class _Subscriber:
    """One open event stream: messages wait here until the stream sends them."""

    def __init__(self) -> None:
        self.items: deque[dict[str, Any]] = deque()
        self.wake = asyncio.Event()
        self.closed = False

    def push(self, message: dict[str, Any]) -> None:
        last = self.items[-1] if self.items else None
        if (
            last is not None
            and message["t"] == "delta"
            and last["t"] == "delta"
            and last["path"] == message["path"]
        ):
            # A client that lags gets one bigger delta rather than many small ones.
            self.items[-1] = {**last, "text": last["text"] + message["text"]}
        else:
            self.items.append(message)
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


@dataclass
class _Live:
    """Per conversation: the files being typed now, and who is watching."""

    typing: dict[str, list[str]] = field(default_factory=dict)
    subscribers: set[_Subscriber] = field(default_factory=set)

    def snapshot(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for path, pieces in self.typing.items():
            out.append({"t": "start", "path": path})
            if pieces:
                out.append({"t": "delta", "path": path, "text": "".join(pieces)})
        return out


def _sse(message: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(message, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handling: the app's own server owns Ctrl+C and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _EventStream(Response):
    """The SSE stream of one conversation's live updates, until the client or server leaves."""

    media_type = "text/event-stream"

    def __init__(self, preview: PreviewServer, conversation_id: str, headers: dict[str, str]):
        self.status_code = 200
        self.background = None
        self.init_headers(headers)  # no body, so no Content-Length
        self.preview = preview
        self.conversation_id = conversation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.preview._subscribe(self.conversation_id)

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            sub.close()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send(
                {"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True}
            )
            while not sub.closed:
                if not sub.items:
                    sub.wake.clear()
                    try:
                        await asyncio.wait_for(sub.wake.wait(), KEEPALIVE_S)
                    except TimeoutError:
                        chunk = b": keep-alive\n\n"
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                batch = b"".join(_sse(m) for m in sub.items)
                sub.items.clear()
                await send({"type": "http.response.body", "body": batch, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-send
        finally:
            watcher.cancel()
            self.preview._unsubscribe(self.conversation_id, sub)


# -- the server ------------------------------------------------------------------------------------


class PreviewServer:
    """Serves `<workspaces_dir>/<conversation id>/` at `http://<label>.localhost:<port>/`.

    Start it inside the app's event loop (`await start()`); the live-update methods may be
    called from that loop or from any other thread. `secret` keys the labels; by default a
    fresh one per instance, so preview origins change at every start.
    """

    def __init__(
        self, workspaces_dir: Path, host: str = "127.0.0.1", secret: bytes | None = None
    ) -> None:
        self.workspaces_dir = Path(workspaces_dir)
        self.host = host
        self.port: int | None = None
        self._secret = secret or secrets.token_bytes(32)
        self._labels: dict[str, str] = {}  # label -> conversation id
        self._app_origins: list[str] = []
        self._live: dict[str, _Live] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._bundle, self._idiomorph = _client_bundle()
        self._lock = threading.Lock()  # guards _live when called before start or after stop

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's bare address, like `http://127.0.0.1:PORT` (for logs: it serves no
        project; each project has its own origin, `origin_for`)."""
        if self.port is None:
            raise RuntimeError("The preview server is not started.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def label_for(self, conversation_id: str) -> str:
        """The project's host label: a DNS label nobody can derive without the secret."""
        if not _SAFE_ID.match(conversation_id):
            raise ValueError(f"Not a conversation id: {conversation_id!r}")
        digest = hmac.new(self._secret, conversation_id.encode(), hashlib.sha256).hexdigest()
        label = digest[:LABEL_CHARS]
        self._labels[label] = conversation_id
        return label

    def origin_for(self, conversation_id: str) -> str:
        """The project's own origin, like `http://<label>.localhost:PORT`."""
        if self.port is None:
            raise RuntimeError("The preview server is not started.")
        return f"http://{self.label_for(conversation_id)}.localhost:{self.port}"

    @property
    def app_origins(self) -> tuple[str, ...]:
        return tuple(self._app_origins)

    def trust_app(self, origin: str) -> None:
        """Let pages report to the app at `origin` (postMessage's target). The app's API
        calls this with the origin it was reached at, before it frames a preview."""
        origin = origin.rstrip("/").lower()
        if origin in self._app_origins:
            return
        self._app_origins.append(origin)
        del self._app_origins[:-MAX_APP_ORIGINS]

    @property
    def frame_src(self) -> str:
        """The CSP source expression that matches every project's preview origin
        (`http://*.localhost:PORT`), for the app's `frame-src`; `'none'` before start."""
        if self.port is None:
            return "'none'"
        return f"http://*.localhost:{self.port}"

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started

    def url_for(self, conversation_id: str, path: str = "index.html") -> str:
        """The preview URL of a file; `index.html` (the default) is the folder URL."""
        base = f"{self.origin_for(conversation_id)}/"
        if not path or path == "index.html":
            return base
        return base + quote(normalize(path), safe="/")

    async def start(self) -> None:
        if self._task is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(),
            log_config=None,  # the app's own server has configured logging already
            log_level=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self._server = _QuietServer(config)
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="preview-server")
        while not self._server.started:
            if self._task.done():
                await self._task  # raises the start-up error
                raise RuntimeError("The preview server stopped while starting.")
            await asyncio.sleep(0.01)
        log.info("preview server on %s", self.url)

    async def stop(self) -> None:
        if self._task is None or self._server is None:
            return
        for live in list(self._live.values()):
            for sub in list(live.subscribers):
                sub.close()  # lets the event streams end, so shutdown need not wait for them
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._task = None
            self._server = None
            self._loop = None
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    # -- live updates (called by the agent loop) ---------------------------------------------

    def file_started(self, conversation_id: str, path: str) -> None:
        """A file is being written from empty (write_file's content is about to stream)."""
        self._call(self._started, conversation_id, path)

    def file_delta(self, conversation_id: str, path: str, text: str) -> None:
        """More of the file's content, as the model types it."""
        self._call(self._delta, conversation_id, path, text)

    def file_done(self, conversation_id: str, path: str) -> None:
        """The file is complete on disk (also for files changed without streaming: edit_file)."""
        self._call(self._done, conversation_id, path)

    def end_turn(self, conversation_id: str) -> None:
        """The turn is over: a file still being typed (a stopped turn) goes back to its disk
        state in the preview. A no-op when every write finished."""
        self._call(self._end_turn, conversation_id)

    def reload(self, conversation_id: str) -> None:
        """Reload every open preview of the conversation (restore, delete, rename...)."""
        self._call(self._reload, conversation_id)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            with self._lock:
                fn(*args)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    @staticmethod
    def _path(conversation_id: str, path: str) -> str | None:
        if not _SAFE_ID.match(conversation_id):
            return None
        try:
            return normalize(path)
        except WorkspaceError:
            return None

    def _broadcast(self, live: _Live, message: dict[str, Any]) -> None:
        for sub in list(live.subscribers):
            if len(sub.items) >= MAX_QUEUED:
                sub.items.clear()  # hopelessly behind: start it over from the current state
                sub.push({"t": "reload"})
                for item in live.snapshot():
                    sub.push(item)
            sub.push(message)

    def _started(self, conversation_id: str, path: str) -> None:
        rel = self._path(conversation_id, path)
        if rel is None:
            return
        live = self._live.setdefault(conversation_id, _Live())
        live.typing[rel] = []
        self._broadcast(live, {"t": "start", "path": rel})

    def _delta(self, conversation_id: str, path: str, text: str) -> None:
        rel = self._path(conversation_id, path)
        if rel is None or not text:
            return
        live = self._live.setdefault(conversation_id, _Live())
        if rel not in live.typing:  # a delta without a start: begin the file here
            live.typing[rel] = []
            self._broadcast(live, {"t": "start", "path": rel})
        live.typing[rel].append(text)
        self._broadcast(live, {"t": "delta", "path": rel, "text": text})

    def _done(self, conversation_id: str, path: str) -> None:
        rel = self._path(conversation_id, path)
        if rel is None:
            return
        live = self._live.setdefault(conversation_id, _Live())
        pieces = live.typing.pop(rel, None)
        typed = "".join(pieces) if pieces is not None else None
        on_disk = self._read_text(conversation_id, rel)
        message: dict[str, Any] = {"t": "done", "path": rel}
        if typed is None or on_disk != typed:
            message["text"] = on_disk
        self._broadcast(live, message)
        self._forget(conversation_id)

    def _end_turn(self, conversation_id: str) -> None:
        live = self._live.get(conversation_id)
        for rel in list(live.typing) if live else []:
            self._done(conversation_id, rel)

    def _reload(self, conversation_id: str) -> None:
        if not _SAFE_ID.match(conversation_id):
            return
        live = self._live.setdefault(conversation_id, _Live())
        live.typing.clear()
        self._broadcast(live, {"t": "reload"})
        self._forget(conversation_id)

    def _forget(self, conversation_id: str) -> None:
        live = self._live.get(conversation_id)
        if live is not None and not live.typing and not live.subscribers:
            del self._live[conversation_id]

    def _read_text(self, conversation_id: str, rel: str) -> str | None:
        try:
            target = resolve_in(self.workspaces_dir / conversation_id, rel)
            if not target.is_file() or target.stat().st_size > MAX_DONE_TEXT:
                return None
            return target.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError, WorkspaceError):
            return None

    def _subscribe(self, conversation_id: str) -> _Subscriber:
        live = self._live.setdefault(conversation_id, _Live())
        sub = _Subscriber()
        for item in live.snapshot():
            sub.push(item)
        live.subscribers.add(sub)
        return sub

    def _unsubscribe(self, conversation_id: str, sub: _Subscriber) -> None:
        live = self._live.get(conversation_id)
        if live is not None:
            live.subscribers.discard(sub)
            self._forget(conversation_id)

    # -- HTTP --------------------------------------------------------------------------------------

    def _project_of(self, host: str) -> str | None:
        """The conversation whose origin a Host header names, or None (unknown, bare port,
        another name: DNS rebinding)."""
        name, sep, port = host.lower().rpartition(":")
        if not sep or port != str(self.port):
            return None
        label, _, rest = name.partition(".")
        if rest != "localhost" or not _LABEL.match(label):
            return None
        conversation_id = self._labels.get(label)
        if conversation_id is None:  # a project the app has not asked about since start
            self._index_workspaces()
            conversation_id = self._labels.get(label)
        return conversation_id

    def _index_workspaces(self) -> None:
        try:
            names = [p.name for p in self.workspaces_dir.iterdir() if p.is_dir()]
        except OSError:
            return
        for name in names:
            if _SAFE_ID.match(name):
                self.label_for(name)

    def _headers(self, kind: str | None = None, page: bool = False) -> dict[str, str]:
        headers = {
            # The page may only talk to its own origin (never the app's API).
            "Content-Security-Policy": "connect-src 'self'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        }
        if not page:
            # Belt and braces with _foreign: no other origin may embed the project's files.
            headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if kind:
            headers["Content-Type"] = kind
        return headers

    @staticmethod
    def _foreign(headers: Headers, own_origin: str) -> bool:
        """A request made by another origin's page: not a navigation (the app's iframe, a new
        tab, a link) and not from the project's own page."""
        origin = headers.get("origin")
        if origin is not None and origin != own_origin:
            return True
        site = headers.get("sec-fetch-site")
        if site is None or site in ("same-origin", "none"):
            return False
        navigation = headers.get("sec-fetch-mode") == "navigate" and headers.get(
            "sec-fetch-dest"
        ) in ("document", "iframe", "frame")
        return not navigation

    def _app(self) -> Callable[[Scope, Receive, Send], Any]:
        routes = Starlette(
            routes=[
                Route(CLIENT_URL, self._client, methods=["GET", "HEAD"]),
                Route("/__gemma/idiomorph.js", self._morph_lib, methods=["GET", "HEAD"]),
                Route("/__gemma/events", self._events, methods=["GET"]),
                Route("/{path:path}", self._file, methods=["GET", "HEAD"]),
            ],
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await routes(scope, receive, send)
                return
            headers = Headers(scope=scope)
            conversation_id = self._project_of(headers.get("host", ""))
            if conversation_id is None:
                # Like TrustedHostMiddleware, but only our projects' names pass.
                await self._not_found()(scope, receive, send)
                return
            if self._foreign(headers, self.origin_for(conversation_id)):
                refused = Response(
                    "Only the project's own page may read this.",
                    403,
                    headers=self._headers("text/plain; charset=utf-8"),
                )
                await refused(scope, receive, send)
                return
            scope[SCOPE_KEY] = conversation_id
            await routes(scope, receive, send)

        return app

    def _not_found(self, message: str = "Not found") -> Response:
        return Response(message, 404, headers=self._headers("text/plain; charset=utf-8"))

    async def _client(self, request: Request) -> Response:
        return Response(self._bundle, headers=self._headers("text/javascript; charset=utf-8"))

    async def _morph_lib(self, request: Request) -> Response:
        return Response(self._idiomorph, headers=self._headers("text/javascript; charset=utf-8"))

    async def _events(self, request: Request) -> Response:
        headers = self._headers()
        headers["X-Accel-Buffering"] = "no"
        return _EventStream(self, request.scope[SCOPE_KEY], headers)

    async def _file(self, request: Request) -> Response:
        conversation_id = request.scope[SCOPE_KEY]
        raw = request.path_params["path"]
        wanted = raw + "index.html" if raw == "" or raw.endswith("/") else raw
        root = self.workspaces_dir / conversation_id
        try:
            rel = normalize(wanted)
            target = resolve_in(root, rel)
        except WorkspaceError:
            return self._not_found()
        if target.is_dir():
            return RedirectResponse(f"/{quote(rel, safe='/')}/", 307, headers=self._headers())
        is_page = rel.lower().endswith(_HTML_SUFFIXES)
        page_headers = self._headers("text/html; charset=utf-8", page=True)
        if not target.is_file():
            if not is_page:
                return self._not_found()
            # A page not written yet: a placeholder that turns into it as the model types.
            page = _PLACEHOLDER.replace("{path}", html.escape(rel)).encode()
            return Response(inject_client(page, self._app_origins), 404, headers=page_headers)
        if is_page:
            try:
                page = await asyncio.to_thread(target.read_bytes)
            except OSError:
                return self._not_found()
            return Response(inject_client(page, self._app_origins), headers=page_headers)
        return FileResponse(target, headers=self._headers(), media_type=content_type(rel))
