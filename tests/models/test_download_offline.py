"""Offline: a pull that cannot reach the hub says so in words, not "[Errno -2] ..."."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from gemma_chat.errors import DownloadError
from gemma_chat.models import download
from gemma_chat.models.download import OFFLINE_MESSAGE, pull
from gemma_chat.models.pulls import PullManager

REPO = "acme/tiny-GGUF"


@pytest.fixture(autouse=True)
def _online_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    for name in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


def _refused_url() -> str:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


UNRESOLVABLE = "http://huggingface.invalid"  # .invalid never resolves (RFC 6761)


@pytest.mark.parametrize("endpoint", [UNRESOLVABLE, "refused"])
def test_an_unreachable_hub_is_reported_as_offline(
    endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = _refused_url() if endpoint == "refused" else endpoint
    with caplog.at_level(logging.INFO), pytest.raises(DownloadError) as raised:
        pull(REPO, tmp_path / "data", endpoint=url)
    message = str(raised.value)
    assert OFFLINE_MESSAGE in message
    assert "Errno" not in message and "Name or service" not in message
    assert OFFLINE_MESSAGE == (
        "You're offline (or huggingface.co can't be reached). Check your connection and try again."
    )
    # The detail is kept for whoever reads the log.
    assert any(url.split("//")[1] in r.getMessage() for r in caplog.records)


def test_the_pull_manager_passes_the_offline_message_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", UNRESOLVABLE)

    async def run() -> tuple[str, dict]:
        manager = PullManager(tmp_path / "data")
        try:
            job = manager.start(REPO, None)
            events = [event async for event in job.events()]
        finally:
            await manager.shutdown()
        return events[-1]

    name, data = asyncio.run(run())
    assert name == "error"
    assert data["message"] == OFFLINE_MESSAGE
