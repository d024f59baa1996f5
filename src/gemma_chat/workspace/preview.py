"""The live preview: one origin per Build workspace, served and updated live.

The preview runs model-written code, so each project gets an origin of its own: a port of its
own on the loopback address, `http://<app host>:<project port>/`, where `<app host>` is the
name the app itself was reached at (127.0.0.1, localhost or [::1]). Every browser supports
that (Safari does not resolve `*.localhost` names). A project's port is bound the first time
its URL is asked for and answered by this module's own Starlette app: the port a request
arrived on says which project it is for, and its Host header must be a loopback name with that
port (DNS rebinding gets 404). At most `MAX_PROJECT_PORTS` are open; the least recently used
closes first. A port handed to one project is never handed to another in the same run.

Who may read a project: only the browser that signed in to the app. Cookies are not scoped
by port, so the app's HttpOnly access-token cookie comes along to every project port; a
request without it (another user of the machine scanning ports, a second browser) gets 403.
Requests that another site's or another project's page makes are refused too (Fetch
Metadata, Origin), and no response carries CORS headers, so a project's files and live events
answer only its own page; navigations (the app's `<iframe>`, "open in new tab") are allowed.
The project page is same-site with the app, so its CSP (`connect-src 'self'`,
`form-action 'self'`, `frame-ancestors` the app) keeps it away from the app's API; the app's
own guard refuses same-site writes besides. Service workers are refused (one would outlive
the project on its port).

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
import errno
import functools
import html
import json
import logging
import mimetypes
import os
import re
import secrets
import socket
import threading
from collections import OrderedDict, deque
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

from gemma_chat.errors import WorkspaceError
from gemma_chat.workspace.paths import normalize, resolve_in

log = logging.getLogger(__name__)

CLIENT_JS = Path(__file__).resolve().parent / "preview_client.js"
IDIOMORPH_JS = Path(__file__).resolve().parent.parent / "ui" / "vendor" / "idiomorph.esm.js"
CLIENT_URL = "/__gemma/preview_client.js"
KEEPALIVE_S = 15.0
MAX_DONE_TEXT = 4_000_000  # bytes: bigger files are announced without their text
MAX_QUEUED = 500  # messages a slow client may lag behind before it is resynchronised
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_APP_ORIGINS = 8
MAX_PROJECT_PORTS = 64  # open project origins; the least recently used closes first
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # the host a project origin may have
DEFAULT_HOST = "127.0.0.1"
COOKIE_PREFIX = "gemma_chat_token"  # the app's sign-in cookie (server/auth.py), any port
BACKLOG = 128
BIND_TRIES = 20
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

SIGN_IN_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Preview</title></head>
<body style="font: 15px/1.5 system-ui, sans-serif; margin: 3em; color: #555">
<p>Open this preview from Gemma Chat: it shows only in the browser that is signed in to the
app, on the same address (127.0.0.1 or localhost) as the app.</p>
</body>
</html>
"""

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
<p>{message}</p>
</body>
</html>
"""
_WAITING = "Waiting for <code>{path}</code>&hellip; it appears here as soon as the model writes it."
_NOT_THERE = (
    "This project has no <code>{path}</code>. It appears here as soon as the model writes it."
)
_EMPTY = "This project has no files yet: pages appear here as soon as the model writes them."


def _has_files(root: Path) -> bool:
    """Whether the project folder holds any file besides its versions (`.git`)."""
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d.casefold() != ".git"]
        if any(name.casefold() != ".git" for name in filenames):
            return True
    return False


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

    def __init__(self, port: int | None = None) -> None:
        self.port = port  # the project port it came in on
        self.items: deque[dict[str, Any]] = deque()
        self.wake = asyncio.Event()
        self.closed = False

    def push(self, message: dict[str, Any]) -> None:
        if message["t"] == "reload":
            self.items.clear()  # the page starts over: nothing before the reload matters
        elif message["t"] == "done" and self._collapse(message):
            return
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

    def _collapse(self, done: dict[str, Any]) -> bool:
        """A file typed start to finish while the client lagged: one `done` with the text
        instead of its start and deltas (a reply writing 2,000 files sends 2,000 messages,
        not 6,000). Only when the client has seen none of it, so nothing typed goes amiss."""
        path, tail = done["path"], 0
        while tail < len(self.items) and self.items[-1 - tail].get("path") == path:
            kind = self.items[-1 - tail]["t"]
            if kind not in ("start", "delta"):
                return False
            tail += 1
            if kind == "start":
                break
        else:
            return False  # no start of this file queued: the client has seen part of it
        pieces = [self.items.pop() for _ in range(tail)][::-1]
        typed = "".join(item.get("text", "") for item in pieces if item["t"] == "delta")
        self.items.append(done if "text" in done else {**done, "text": typed})
        self.wake.set()
        return True

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

    def __init__(
        self, preview: PreviewServer, conversation_id: str, port: int, headers: dict[str, str]
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(headers)  # no body, so no Content-Length
        self.preview = preview
        self.conversation_id = conversation_id
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.preview._subscribe(self.conversation_id, self.port)

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


@dataclass
class _ProjectPort:
    """One project's origin: its listening sockets and the uvicorn server that answers them."""

    conversation_id: str
    port: int
    sockets: list[socket.socket]
    server: _QuietServer | None = None
    task: asyncio.Task[None] | None = None


def loopback_name(host: str | None) -> str:
    """The project origin's host for an app reached at `host` (so the app's cookie, which
    is scoped to the host name, comes along): one of LOOPBACK_NAMES, else 127.0.0.1."""
    name = (host or "").strip().lower()
    if name == "::1":
        name = "[::1]"
    return name if name in LOOPBACK_NAMES else DEFAULT_HOST


def _listen(family: socket.AddressFamily, address: str, port: int) -> socket.socket:
    """Bind and listen at once: connections that come before the server runs wait in the
    backlog instead of being refused."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if os.name != "nt":  # a project gets its old port back despite TIME_WAIT (not Windows,
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # where it means share)
        sock.bind((address, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class PreviewServer:
    """Serves `<workspaces_dir>/<conversation id>/` at `http://<loopback name>:<its port>/`.

    Start it inside the app's event loop (`await start()`); a project's port is bound the
    first time its URL is asked for, from that loop or any thread, and the live-update methods
    may be called from any thread too. Every request must carry `token` in a cookie whose name
    starts with `cookie_prefix`: the app's sign-in cookie, which browsers send to every port.
    """

    def __init__(
        self,
        workspaces_dir: Path,
        token: str,
        *,
        cookie_prefix: str = COOKIE_PREFIX,
        max_ports: int = MAX_PROJECT_PORTS,
    ) -> None:
        if not token:
            raise ValueError("The preview server needs the app's access token.")
        self.workspaces_dir = Path(workspaces_dir)
        self.max_ports = max_ports
        self._token = token.encode()
        self._cookie_prefix = cookie_prefix
        self._ports: OrderedDict[str, _ProjectPort] = OrderedDict()  # least recent first
        self._by_port: dict[int, str] = {}  # open ports -> their project
        self._given: dict[int, str] = {}  # every port handed out since start -> its project
        self._fresh: set[int] = set()  # ports whose storage this run has already cleared
        self._ipv6 = socket.has_ipv6
        self._ports_lock = threading.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._app_origins: list[str] = []
        self._live: dict[str, _Live] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._asgi = self._app()
        self._bundle, self._idiomorph = _client_bundle()
        self._lock = threading.Lock()  # guards _live when called before start or after stop

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._loop is not None

    @property
    def open_ports(self) -> dict[int, str]:
        """The project ports open now, and their projects."""
        with self._ports_lock:
            return dict(self._by_port)

    def port_for(self, conversation_id: str) -> int:
        """The project's port, bound now if it has none (the least recently used one closes
        when more than `max_ports` are open)."""
        if not _SAFE_ID.match(conversation_id):
            raise ValueError(f"Not a conversation id: {conversation_id!r}")
        if self._loop is None:
            raise RuntimeError("The preview server is not started.")
        with self._ports_lock:
            entry = self._ports.get(conversation_id)
            if entry is not None:
                self._ports.move_to_end(conversation_id)
                return entry.port
            port, sockets = self._bind(conversation_id)
            entry = _ProjectPort(conversation_id, port, sockets)
            self._ports[conversation_id] = entry
            self._by_port[port] = conversation_id
            self._given[port] = conversation_id
            evicted: list[_ProjectPort] = []
            while len(self._ports) > self.max_ports:
                _, old = self._ports.popitem(last=False)
                del self._by_port[old.port]
                evicted.append(old)
        self._call(self._serve, entry)
        for old in evicted:
            self._call(self._retire, old)
        return port

    def _bind(self, conversation_id: str) -> tuple[int, list[socket.socket]]:
        """A fresh port on 127.0.0.1 (and the same one on ::1 where the machine has IPv6):
        the project's own from earlier in this run if it is free, never another project's."""
        earlier = [p for p, c in self._given.items() if c == conversation_id]
        for attempt in range(BIND_TRIES):
            wanted = earlier[-1] if earlier and attempt == 0 else 0
            try:
                v4 = _listen(socket.AF_INET, "127.0.0.1", wanted)
            except OSError:
                if wanted:
                    continue  # its old port is taken now: any other will do
                raise
            port = v4.getsockname()[1]
            if self._given.get(port, conversation_id) != conversation_id:
                v4.close()  # another project's origin earlier in this run: its storage is there
                continue
            if not self._ipv6:
                return port, [v4]
            try:
                return port, [v4, _listen(socket.AF_INET6, "::1", port)]
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and attempt < BIND_TRIES - 1:
                    v4.close()
                    continue
                if exc.errno != errno.EADDRINUSE:
                    self._ipv6 = False  # no IPv6 loopback here: 127.0.0.1 and localhost only
                return port, [v4]
        raise OSError("No free port for a project preview.")

    def _serve(self, entry: _ProjectPort) -> None:
        """In the loop: start answering on a project's sockets (unless it closed meanwhile)."""
        if self._by_port.get(entry.port) != entry.conversation_id or self._loop is None:
            for sock in entry.sockets:
                sock.close()
            return
        config = uvicorn.Config(
            self._asgi,
            log_config=None,  # the app's own server has configured logging already
            log_level=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        entry.server = _QuietServer(config)
        entry.task = asyncio.create_task(
            entry.server.serve(sockets=entry.sockets), name=f"preview-{entry.port}"
        )
        log.debug("preview of %s on port %d", entry.conversation_id, entry.port)

    def _retire(self, entry: _ProjectPort) -> None:
        """In the loop: close a project's port (its open event streams end first)."""
        self._end_streams(entry.port)
        task = asyncio.create_task(self._close(entry))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _close(self, entry: _ProjectPort) -> None:
        if entry.server is not None:
            entry.server.should_exit = True
        if entry.task is not None:
            (outcome,) = await asyncio.gather(entry.task, return_exceptions=True)
            if isinstance(outcome, Exception):  # it ran unattended: say what ended it
                log.error("preview server on port %d failed", entry.port, exc_info=outcome)
        for sock in entry.sockets:
            sock.close()

    def _end_streams(self, port: int | None = None) -> None:
        for live in list(self._live.values()):
            for sub in list(live.subscribers):
                if port is None or sub.port == port:
                    sub.close()  # lets the stream end, so shutdown need not wait for it

    def origin_for(self, conversation_id: str, host: str | None = None) -> str:
        """The project's own origin, like `http://127.0.0.1:PORT`, on the loopback name the
        app was reached at (`host`)."""
        return f"http://{loopback_name(host)}:{self.port_for(conversation_id)}"

    def url_for(
        self, conversation_id: str, path: str = "index.html", host: str | None = None
    ) -> str:
        """The preview URL of a file; `index.html` (the default) is the folder URL."""
        base = f"{self.origin_for(conversation_id, host)}/"
        if not path or path == "index.html":
            return base
        return base + quote(normalize(path), safe="/")

    @property
    def app_origins(self) -> tuple[str, ...]:
        return tuple(self._app_origins)

    def trust_app(self, origin: str) -> None:
        """Let pages report to the app at `origin` (postMessage's target) and be framed by it.
        The app's API calls this with the origin it was reached at, before it frames a preview."""
        origin = origin.rstrip("/").lower()
        if origin in self._app_origins:
            return
        self._app_origins.append(origin)
        del self._app_origins[:-MAX_APP_ORIGINS]

    @property
    def frame_src(self) -> str:
        """The CSP sources for the app's `frame-src`: any port of the loopback names, since
        project ports are bound after the app's page (and its policy) has loaded; `'none'`
        before start. (CSP has no syntax for IPv6 literals, so an app reached at [::1] frames
        nothing; it opens previews in a tab.)"""
        if self._loop is None:
            return "'none'"
        return "http://127.0.0.1:* http://localhost:*"

    async def start(self) -> None:
        """Ready to serve: ports are bound lazily, in this loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        if self._loop is None:
            return
        with self._ports_lock:
            entries = list(self._ports.values())
            self._ports.clear()
            self._by_port.clear()
        self._end_streams()
        await asyncio.gather(
            *(self._close(e) for e in entries), *self._retiring, return_exceptions=True
        )
        self._loop = None

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
    @functools.lru_cache(maxsize=4096)  # called for every delta the model types
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
        if not live.subscribers:  # nobody watches: no need to read the file
            self._forget(conversation_id)
            return
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

    def _subscribe(self, conversation_id: str, port: int | None = None) -> _Subscriber:
        live = self._live.setdefault(conversation_id, _Live())
        sub = _Subscriber(port)
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

    def _project_of(self, scope: Scope, headers: Headers) -> tuple[str, str] | None:
        """(the project, its origin as the request names it) from the port the request came
        in on, or None: an unknown port, or a Host that is not a loopback name with that
        port (DNS rebinding)."""
        server = scope.get("server")
        port = server[1] if server else None
        conversation_id = self._by_port.get(port) if isinstance(port, int) else None
        if conversation_id is None:
            return None
        host = headers.get("host", "").strip().lower()
        name, sep, given = host.rpartition(":")
        if not sep or given != str(port) or name not in LOOPBACK_NAMES:
            return None
        return conversation_id, f"http://{host}"

    def _signed_in(self, headers: Headers) -> bool:
        """The app's access-token cookie is there (under any port's name: the app's port is
        part of its name). Every pair is looked at: a project page can add cookies for the
        host, but cannot read the HttpOnly one."""
        found = False
        for pair in headers.get("cookie", "").split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name.startswith(self._cookie_prefix):
                given = value.strip().strip('"').encode("utf-8", "replace")
                found |= secrets.compare_digest(given, self._token)
        return found

    def _touch(self, conversation_id: str) -> None:
        with self._ports_lock:
            if conversation_id in self._ports:
                self._ports.move_to_end(conversation_id)

    def _headers(self, kind: str | None = None, page: bool = False) -> dict[str, str]:
        ancestors = " ".join(["'self'", *self._app_origins])
        headers = {
            # The page may only talk to its own origin (never the app's API), and only the
            # app (or the project itself) may frame it.
            "Content-Security-Policy": (
                f"connect-src 'self'; form-action 'self'; frame-ancestors {ancestors}"
            ),
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
        """A request made by another origin's page (another site, another project, the app):
        not a navigation (the app's iframe, a new tab, a link) and not from the project's
        own page."""
        origin = headers.get("origin")
        if origin is not None and origin.lower() != own_origin:
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
            project = self._project_of(scope, headers)
            if project is None:
                # Like TrustedHostMiddleware, but only loopback names with this port pass.
                await self._not_found()(scope, receive, send)
                return
            conversation_id, own_origin = project
            if self._foreign(headers, own_origin):
                refused = self._refused("Only the project's own page may read this.")
            elif not self._signed_in(headers):
                refused = self._refused(SIGN_IN_PAGE, html_page=True)
            elif headers.get("service-worker"):
                refused = self._refused("Service workers are off in previews.")
            else:
                self._touch(conversation_id)
                scope[SCOPE_KEY] = conversation_id
                await routes(scope, receive, send)
                return
            await refused(scope, receive, send)

        return app

    def _refused(self, message: str, html_page: bool = False) -> Response:
        kind = "text/html" if html_page else "text/plain"
        return Response(message, 403, headers=self._headers(f"{kind}; charset=utf-8"))

    def _not_found(self, message: str = "Not found") -> Response:
        return Response(message, 404, headers=self._headers("text/plain; charset=utf-8"))

    async def _client(self, request: Request) -> Response:
        return Response(self._bundle, headers=self._headers("text/javascript; charset=utf-8"))

    async def _morph_lib(self, request: Request) -> Response:
        return Response(self._idiomorph, headers=self._headers("text/javascript; charset=utf-8"))

    async def _events(self, request: Request) -> Response:
        headers = self._headers()
        headers["X-Accel-Buffering"] = "no"
        port = request.scope["server"][1]
        return _EventStream(self, request.scope[SCOPE_KEY], port, headers)

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
        port = request.scope["server"][1]
        if port not in self._fresh:
            # The OS may hand this port out again in a later run, to another project: its
            # page must not find the earlier project's localStorage or IndexedDB there.
            self._fresh.add(port)
            page_headers["Clear-Site-Data"] = '"storage"'
        if not target.is_file():
            if not is_page:
                return self._not_found()
            # A page not written yet: a placeholder that turns into it as the model types.
            # It says what is true now: the page is being typed, or it is not in the project,
            # or the project (a version restored, a turn that wrote nothing) has no files.
            live = self._live.get(conversation_id)
            if live is not None and live.typing:
                message = _WAITING
            elif await asyncio.to_thread(_has_files, root):
                message = _NOT_THERE
            else:
                message = _EMPTY
            text = message.replace("{path}", html.escape(rel))
            page = _PLACEHOLDER.replace("{message}", text).encode()
            return Response(inject_client(page, self._app_origins), 404, headers=page_headers)
        if is_page:
            try:
                page = await asyncio.to_thread(target.read_bytes)
            except OSError:
                return self._not_found()
            return Response(inject_client(page, self._app_origins), headers=page_headers)
        return FileResponse(target, headers=self._headers(), media_type=content_type(rel))
