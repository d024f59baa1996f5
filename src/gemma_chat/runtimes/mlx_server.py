"""One engine server as a child process on a free loopback port: start, health, stop.

Kept apart from the MLX runtime so that the process logic (start → healthy → crash →
restart → stop) is plain code that tests can drive anywhere with a small stand-in server.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import httpx

from gemma_chat.errors import ModelLoadError

OLLAMA_PORT = 11434  # never take it, even when free: Ollama may start later
TAIL_CHARS = 2000
STOP_TIMEOUT_S = 10.0
_PORT_TAKEN = ("address already in use", "errno 48", "errno 98", "only one usage of each socket")

CommandFor = Callable[[int], list[str]]  # the argv that serves on the given port


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it when we bind port 0)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port != OLLAMA_PORT:
            return port


class ManagedServer:
    """A child HTTP server we start, wait for, watch and stop.

    Its output goes to a log file rather than a pipe (a chatty server would fill a pipe
    and stall); error messages quote the end of that log.
    """

    def __init__(
        self,
        name: str,
        command_for: CommandFor,
        log_path: Path,
        *,
        health_path: str = "/v1/models",
        startup_timeout_s: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command_for = command_for
        self.log_path = log_path
        self.health_path = health_path
        self.startup_timeout_s = startup_timeout_s
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.starts = 0  # how many times a process was started (restarts included)
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, chars: int = TAIL_CHARS) -> str:
        """The end of the server's output, for error messages."""
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-chars:].decode("utf-8", "replace").strip()

    async def start(self) -> str:
        """Start the server (stopping any old one) and wait until it answers; its root URL."""
        await self.stop()
        for _ in range(3):  # another program may grab the port between our probe and its bind
            self._spawn(free_port())
            if await self._wait_healthy():
                return self.url
        raise ModelLoadError(f"{self.name} could not find a free port to listen on.")

    async def stopped_within(self, seconds: float) -> bool:
        """Whether the process has exited, or does within `seconds` (a crash being reaped)."""
        deadline = time.monotonic() + seconds
        while self.running:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return self.process is not None

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            atexit.unregister(self._kill_at_exit)
            if process.poll() is None:
                process.terminate()
                try:
                    await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _spawn(self, port: int) -> None:
        if self._log is not None:
            self._log.close()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.port = port
        try:
            self.process = subprocess.Popen(
                self.command_for(port),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        except OSError as exc:
            raise ModelLoadError(f"Could not start {self.name}: {exc}") from exc
        self.starts += 1
        atexit.register(self._kill_at_exit)  # no orphan server if the app exits abruptly

    async def _wait_healthy(self) -> bool:
        """True once the server answers; False when it lost the race for its port."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.url}{self.health_path}"
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=1.0)) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    tail = self.tail()
                    if any(words in tail.lower() for words in _PORT_TAKEN):
                        return False
                    raise ModelLoadError(
                        f"{self.name} exited (code {code}) before it was ready. "
                        f"Its last output:\n{tail or '(nothing)'}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return True
                if time.monotonic() >= deadline:
                    tail = self.tail()
                    await self.stop()
                    raise ModelLoadError(
                        f"{self.name} did not answer at {url} within "
                        f"{self.startup_timeout_s:g} s. Its last output:\n{tail or '(nothing)'}"
                    )
                await asyncio.sleep(0.1)

    def _kill_at_exit(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
