"""What the benchmarks share: the app started in its own process, as a user starts it, and
Debian's Chromium launched the way the browser tests launch it (never `playwright install`).

Benchmarks import this as a sibling module (a script's own folder leads the import path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVE = ["-m", "gemma_chat", "serve", "--no-browser", "--port", "0"]


@dataclass
class AppProcess:
    proc: subprocess.Popen[bytes]
    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, timeout: float = 600) -> httpx.Client:
        """An HTTP client that carries the access token (and ignores proxy settings)."""
        return httpx.Client(
            base_url=self.url, headers=self.headers, timeout=timeout, trust_env=False
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def model_loaded(health: dict[str, object]) -> bool:
    model = health.get("model")
    return isinstance(model, dict) and bool(model.get("loaded"))


def start_app(
    data_dir: Path,
    *args: str,
    argv: list[str] | None = None,
    env: dict[str, str] | None = None,
    ready: Callable[[dict[str, object]], bool] = lambda health: True,
    timeout: float = 180,
    log: Path | None = None,
) -> AppProcess:
    """`gemma-chat serve ARGS` (or `python ARGV`) with GEMMA_CHAT_HOME=data_dir, once
    /api/health, asked with the token from its server.json, satisfies `ready`."""
    environment = {**os.environ, "GEMMA_CHAT_HOME": str(data_dir), **(env or {})}
    out = log.open("wb") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            [sys.executable, *(argv or SERVE), *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise SystemExit(f"the server did not start\n{tail}".rstrip())
        try:
            info = json.loads((data_dir / "server.json").read_text())
            app = AppProcess(proc, str(info["url"]), str(info["token"]))
            health = httpx.get(
                f"{app.url}/api/health", headers=app.headers, timeout=10, trust_env=False
            ).json()
            if ready(health):
                return app
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.1)
