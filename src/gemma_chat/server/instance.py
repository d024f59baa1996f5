"""The instance already running for a data directory, found through its server.json.

`gemma-chat` opens it instead of starting a second server on the same database, and
`gemma-chat open` opens it with its token.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gemma_chat.server.auth import open_url
from gemma_chat.server.launch import open_in_browser


@dataclass(frozen=True)
class Instance:
    url: str
    pid: int
    token: str = field(repr=False)
    data_dir: Path = field(default=Path("."))

    @property
    def open_url(self) -> str:
        return open_url(self.url, self.token)

    def open_browser(self) -> None:
        open_in_browser(self.data_dir, self.open_url, wait=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone's process; the health probe decides
    return True


def running_instance(server_file: Path, timeout: float = 3) -> Instance | None:
    """The server that wrote `server_file`, if its process lives and it answers."""
    try:
        info = json.loads(server_file.read_text(encoding="utf-8"))
        found = Instance(
            url=str(info["url"]),
            pid=int(info["pid"]),
            token=str(info["token"]),
            data_dir=server_file.parent,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(found.pid):
        return None
    try:
        health = httpx.get(f"{found.url}/api/health", timeout=timeout, trust_env=False)
        ok = health.status_code == 200 and health.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return None
    return found if ok else None
