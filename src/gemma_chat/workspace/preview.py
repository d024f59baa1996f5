"""The live preview: a separate origin that serves each Build workspace and updates it live.

The preview runs model-written code, so it gets its own port on 127.0.0.1: a different origin
from the app, which its Content-Security-Policy (`connect-src 'self'`) and the app's
`<iframe sandbox>` (no allow-same-origin) keep away from the app's API and storage. It serves
workspace files only, never anything of the app.

Live updates: while the model types a file, the agent loop calls `file_started`,
`file_delta` and `file_done`. The server keeps the text typed so far and pushes each piece
over Server-Sent Events (`/__gemma/events/<conversation id>`) to `preview_client.js`, the
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
import html
import json
import logging
import mimetypes
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
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
_HEAD_OPEN = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_HTML_OPEN = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(rb"^\s*<!doctype[^>]*>", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"
_SCRIPT_TAG = re.compile(rb"<script\b[^>]*>", re.IGNORECASE)
_SRC_ATTR = re.compile(rb"""\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_CROSSORIGIN = re.compile(rb"\scrossorigin\b", re.IGNORECASE)
_ABSOLUTE = re.compile(rb"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)

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


def _cors_script(match: re.Match[bytes]) -> bytes:
    tag = match.group(0)
    src = _SRC_ATTR.search(tag)
    if src is None or _CROSSORIGIN.search(tag):
        return tag
    value = next(v for v in src.groups() if v is not None)
    if _ABSOLUTE.match(value):
        return tag  # another server's script: it may not send CORS headers
    return tag[:7] + b" crossorigin" + tag[7:]


def inject_client(page: bytes, conversation_id: str) -> bytes:
    """Put the live-update script into an HTML page, as early as possible (so it catches the
    page's own errors): just inside <head>, else after <html> or the doctype, else first.

    The app frames the preview without allow-same-origin, so to the page its own script files
    are cross-origin, and their errors would reach `window.onerror` as a bare "Script error.".
    Marking the page's own <script src> elements `crossorigin` (the files are served with
    `Access-Control-Allow-Origin: *`) keeps the message, file and line for the errors strip.
    """
    page = _SCRIPT_TAG.sub(_cors_script, page)
    tag = (
        f'<script src="{CLIENT_URL}" data-conv="{html.escape(conversation_id)}"></script>'
    ).encode()
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
    """Serves `<workspaces_dir>/<conversation id>/` at `/p/<conversation id>/` on its own port.

    Start it inside the app's event loop (`await start()`); the live-update methods may be
    called from that loop or from any other thread.
    """

    def __init__(self, workspaces_dir: Path, host: str = "127.0.0.1") -> None:
        self.workspaces_dir = Path(workspaces_dir)
        self.host = host
        self.port: int | None = None
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
        """The preview origin, like `http://127.0.0.1:PORT`."""
        if self.port is None:
            raise RuntimeError("The preview server is not started.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
        base = f"{self.url}/p/{quote(conversation_id, safe='')}/"
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

    def _headers(self, kind: str | None = None) -> dict[str, str]:
        origin = self.url if self.port is not None else ""
        headers = {
            # The page may only talk to its own origin (never the app's API on another port).
            "Content-Security-Policy": f"connect-src 'self' {origin}".strip(),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            # The app frames previews with sandbox (no allow-same-origin): the page's origin is
            # opaque, so its module scripts, fetch() of its own files, fonts and our event
            # stream are CORS requests from "null".
            "Access-Control-Allow-Origin": "*",
        }
        if kind:
            headers["Content-Type"] = kind
        return headers

    def _app(self) -> Starlette:
        hosts = sorted({"127.0.0.1", "localhost", "::1", "[::1]", self.host})
        return Starlette(
            routes=[
                Route("/p/{conversation_id}", self._conversation_root, methods=["GET", "HEAD"]),
                Route("/p/{conversation_id}/{path:path}", self._file, methods=["GET", "HEAD"]),
                Route(CLIENT_URL, self._client, methods=["GET", "HEAD"]),
                Route("/__gemma/idiomorph.js", self._morph_lib, methods=["GET", "HEAD"]),
                Route("/__gemma/events/{conversation_id}", self._events, methods=["GET"]),
            ],
            # A web page whose domain resolves to 127.0.0.1 must not read workspaces.
            middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        )

    def _not_found(self, message: str = "Not found") -> Response:
        return Response(message, 404, headers=self._headers("text/plain; charset=utf-8"))

    async def _client(self, request: Request) -> Response:
        return Response(self._bundle, headers=self._headers("text/javascript; charset=utf-8"))

    async def _morph_lib(self, request: Request) -> Response:
        return Response(self._idiomorph, headers=self._headers("text/javascript; charset=utf-8"))

    async def _conversation_root(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        if not _SAFE_ID.match(conversation_id):
            return self._not_found()
        return RedirectResponse(f"/p/{conversation_id}/", 307, headers=self._headers())

    async def _events(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        if not _SAFE_ID.match(conversation_id):
            return self._not_found()
        headers = self._headers()
        headers["X-Accel-Buffering"] = "no"
        return _EventStream(self, conversation_id, headers)

    async def _file(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        raw = request.path_params["path"]
        if not _SAFE_ID.match(conversation_id):
            return self._not_found()
        wanted = raw + "index.html" if raw == "" or raw.endswith("/") else raw
        root = self.workspaces_dir / conversation_id
        try:
            rel = normalize(wanted)
            target = resolve_in(root, rel)
        except WorkspaceError:
            return self._not_found()
        if target.is_dir():
            return RedirectResponse(
                f"/p/{conversation_id}/{quote(rel, safe='/')}/", 307, headers=self._headers()
            )
        is_page = rel.lower().endswith(_HTML_SUFFIXES)
        if not target.is_file():
            if not is_page:
                return self._not_found()
            # A page not written yet: a placeholder that turns into it as the model types.
            page = _PLACEHOLDER.replace("{path}", html.escape(rel)).encode()
            body = inject_client(page, conversation_id)
            return Response(body, 404, headers=self._headers("text/html; charset=utf-8"))
        if is_page:
            try:
                page = await asyncio.to_thread(target.read_bytes)
            except OSError:
                return self._not_found()
            body = inject_client(page, conversation_id)
            return Response(body, headers=self._headers("text/html; charset=utf-8"))
        headers = self._headers()
        return FileResponse(target, headers=headers, media_type=content_type(rel))
