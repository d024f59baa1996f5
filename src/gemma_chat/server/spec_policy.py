"""Which model specs the API takes, and which model servers it may send messages to.

A spec that arrives over HTTP is not the user's command line. `replay:PATH` reads any file
the server can read and streams it back as the "reply", so it is for tests and demos only:
refused unless it is the spec the server was started with, or the server's environment has
GEMMA_CHAT_ALLOW_REPLAY=1. An `openai:`/`ollama:` spec naming a server on another machine
would send the user's messages there (and become the default for the next start), so the
first use of such a host needs the user's confirmation; confirmed hosts are remembered in
preferences.json. Loopback servers, and the ones the server was started with or configured
for (OLLAMA_HOST), need none.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from gemma_chat.config import Settings, confirmed_hosts, save_confirmed_host
from gemma_chat.errors import UnknownModelSpec
from gemma_chat.runtimes.ollama import default_base_url
from gemma_chat.runtimes.ollama import parse_spec as parse_ollama_spec
from gemma_chat.runtimes.openai_compat import parse_spec as parse_openai_spec

ALLOW_REPLAY_ENV = "GEMMA_CHAT_ALLOW_REPLAY"
REPLAY_REFUSED = (
    "replay: specs are for tests and demos and are not accepted here. Start the server with "
    "--model replay:PATH, or with GEMMA_CHAT_ALLOW_REPLAY=1 in its environment."
)


class SpecRefused(Exception):
    """A spec this server does not take over HTTP (403)."""


class HostUnconfirmed(Exception):
    """A model server on another machine the user has not agreed to yet (409)."""

    def __init__(self, url: str, origin: str) -> None:
        super().__init__(
            f"This model runs on another machine: your messages would be sent to {url}. "
            'Repeat the request with "confirm_host": true once the user has agreed.'
        )
        self.url = url
        self.origin = origin


@dataclass(frozen=True, slots=True)
class RemoteHost:
    url: str  # where messages go, as the runtime will use it
    origin: str  # scheme://host:port, what a confirmation covers


def is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def _remote(url: str) -> RemoteHost | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnknownModelSpec(f"{url!r} is not a valid server URL: {exc}") from exc
    host = parsed.host
    if not host:
        raise UnknownModelSpec(f"{url!r} is not a valid server URL: it names no host")
    if is_loopback(host):
        return None
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    shown = f"[{host}]" if ":" in host else host
    return RemoteHost(url=url, origin=f"{parsed.scheme}://{shown.lower()}:{port}")


def remote_host(spec: str) -> RemoteHost | None:
    """The other machine a spec would send messages to (None: this one, or not a server)."""
    spec = spec.strip()
    if spec.startswith("openai:"):
        base_url, _ = parse_openai_spec(spec)
        return _remote(base_url)
    if spec.startswith("ollama:"):
        base_url = parse_ollama_spec(spec).base_url
        if base_url == default_base_url():  # OLLAMA_HOST: the user's own configuration
            return None
        return _remote(base_url)
    return None


@dataclass(frozen=True, slots=True)
class SpecPolicy:
    data_dir: Path
    started_with: str  # the spec on the command line (or saved): the user chose it
    allow_replay: bool

    @classmethod
    def for_start(cls, settings: Settings) -> SpecPolicy:
        return cls(
            data_dir=settings.data_dir,
            started_with=settings.model.strip(),
            allow_replay=os.environ.get(ALLOW_REPLAY_ENV, "").strip() == "1",
        )

    def refuse_replay(self, spec: str) -> None:
        spec = spec.strip()
        if spec.startswith("replay:") and not self.allow_replay and spec != self.started_with:
            raise SpecRefused(REPLAY_REFUSED)

    async def check(self, spec: str, confirm_host: bool = False) -> None:
        """Raise unless `spec` may be used as asked; a confirmed host is remembered."""
        self.refuse_replay(spec)
        if spec.strip() == self.started_with:
            return
        remote = remote_host(spec)
        if remote is None:
            return
        known = await asyncio.to_thread(confirmed_hosts, self.data_dir)
        if remote.origin in known:
            return
        if not confirm_host:
            raise HostUnconfirmed(remote.url, remote.origin)
        await asyncio.to_thread(save_confirmed_host, self.data_dir, remote.origin)


def install(app: FastAPI, settings: Settings) -> None:
    app.state.spec_policy = SpecPolicy.for_start(settings)

    @app.exception_handler(SpecRefused)
    async def refused(_: Request, exc: SpecRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(HostUnconfirmed)
    async def unconfirmed(_: Request, exc: HostUnconfirmed) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "confirm": {"url": exc.url, "origin": exc.origin}},
            status_code=409,
        )


def get_spec_policy(request: Request) -> SpecPolicy:
    return request.app.state.spec_policy


Policy = Annotated[SpecPolicy, Depends(get_spec_policy)]
