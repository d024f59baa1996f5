"""Start the server on a real socket: pick a free port, announce it, clean up."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn

from gemma_chat import __version__
from gemma_chat.config import Settings
from gemma_chat.server.app import create_app
from gemma_chat.server.auth import new_token, open_url
from gemma_chat.server.launch import open_in_browser
from gemma_chat.util.atomic import atomic_write_text

log = logging.getLogger(__name__)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the requested port; if it is taken, let the OS pick a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this. asyncio sets it only on sockets made with
    # proto=IPPROTO_TCP, not this one (proto 0), and without it a response written in
    # two parts (headers, then body) waited for the client's delayed ACK: 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@dataclass
class RunningServer:
    """A server started in a background thread (tests, benchmarks, embedding)."""

    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread
    token: str = field(repr=False, default="")

    @property
    def headers(self) -> dict[str, str]:
        """What a script sends to use the API."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def open_url(self) -> str:
        """The link a browser opens to get in (the one `gemma-chat` opens itself)."""
        return open_url(self.url, self.token)

    def client(self, timeout: float = 30) -> httpx.Client:
        """An HTTP client for this server that carries the token."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout)

    def stop(self, timeout: float = 30) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


class ServerRun:
    def __init__(self, settings: Settings, log_level: str = "warning") -> None:
        self.settings = settings
        self.sock = bind_socket(settings.host, settings.port)
        port = self.sock.getsockname()[1]
        self.url = url_for(settings.host, port)
        self.token = new_token()
        config = uvicorn.Config(
            create_app(settings, on_shutdown=self.remove_server_file, token=self.token),
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)

    def write_server_file(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        info = {
            "url": self.url,
            "pid": os.getpid(),
            "token": self.token,
            "version": __version__,
            "model": self.settings.model,
            "started_at": time.time(),
        }
        # 0600 from the first byte: the token in it is the key to the API.
        atomic_write_text(self.settings.server_file, json.dumps(info, indent=2))

    def remove_server_file(self) -> None:
        try:
            info = json.loads(self.settings.server_file.read_text())
            if info.get("pid") == os.getpid() and info.get("url") == self.url:
                self.settings.server_file.unlink()
        except (OSError, ValueError):
            pass

    async def serve(self, on_started: Callable[[str], None] | None = None) -> None:
        async def announce() -> None:
            while not self.server.started:
                if self.server.should_exit:
                    return
                await asyncio.sleep(0.02)
            self.write_server_file()
            if on_started:
                on_started(self.url)

        watcher = asyncio.create_task(announce())
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            watcher.cancel()
            self.remove_server_file()
            self.sock.close()

    def run(
        self, open_browser: bool = True, on_started: Callable[[str], None] | None = None
    ) -> None:
        def started(url: str) -> None:
            if on_started:
                on_started(url)
            if open_browser:  # the link with the token: it logs this browser in
                open_in_browser(self.settings.data_dir, open_url(url, self.token))

        asyncio.run(self.serve(started))

    def start_in_thread(self, timeout: float = 60) -> RunningServer:
        ready = threading.Event()
        thread = threading.Thread(
            target=lambda: asyncio.run(self.serve(lambda _url: ready.set())),
            name="gemma-chat-server",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout):
            self.server.should_exit = True
            raise TimeoutError(f"server did not start within {timeout}s")
        return RunningServer(self.url, self.settings, self.server, thread, self.token)
