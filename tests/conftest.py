"""Shared fixtures: real servers on 127.0.0.1, replay scripts, temporary data dirs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gemma_chat.config import Settings
from gemma_chat.server.runner import RunningServer, ServerRun
from tests import authed

_counter = itertools.count()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast tests first, then the `slow` ones (those that load a real model). The sort is
    stable, so each group keeps its collected order and a module's tests stay together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the user's real data directory."""
    monkeypatch.setenv("GEMMA_CHAT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GEMMA_CHAT_MODEL", raising=False)
    # Tests drive replay: specs through the API; tests/security/test_specs.py unsets it.
    monkeypatch.setenv("GEMMA_CHAT_ALLOW_REPLAY", "1")


@pytest.fixture
def replay_file(tmp_path: Path) -> Callable[..., str]:
    """Write a replay script; returns its model spec (`replay:PATH?tps=N`)."""

    def make(text: str, tps: float = 0) -> str:
        path = tmp_path / f"replay-{next(_counter)}.txt"
        path.write_text(text, encoding="utf-8")
        return f"replay:{path}?tps={tps:g}"

    return make


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start the real app on 127.0.0.1 (a free port) in a background thread."""
    servers: list[RunningServer] = []

    def start(model: str = "embedded", data_dir: Path | None = None) -> RunningServer:
        settings = Settings(
            data_dir=data_dir or tmp_path / f"data-{next(_counter)}",
            model=model,
            port=0,
        )
        server = ServerRun(settings).start_in_thread()
        servers.append(server)
        authed.register(server.url, server.token)  # tests.authed sends it for them
        return server

    yield start
    for server in servers:
        server.stop()
