"""Preview fixtures: a PreviewServer on a real port, in the test's loop or in its own thread."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gemma_chat.workspace.preview import PreviewServer
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

CONV = "c_0123456789abcdef"
TOKEN = "preview-test-token"
# The app's sign-in cookie as a browser sends it to a project port (its name carries the
# app's port, here a made-up one).
COOKIE = {"gemma_chat_token_8642": TOKEN}


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    root = tmp_path / "workspaces"
    (root / CONV).mkdir(parents=True)
    return root


@pytest.fixture
async def preview(workspaces: Path) -> AsyncIterator[PreviewServer]:
    server = PreviewServer(workspaces, TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class ThreadedPreview:
    """A PreviewServer in a thread of its own (for the sync Playwright API), the way the
    agent loop may call it from a thread other than the server's loop."""

    def __init__(self, workspaces: Path) -> None:
        self.server = PreviewServer(workspaces, TOKEN)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="preview-test", daemon=True)
        self.thread.start()
        if not started.wait(20):
            raise TimeoutError("the preview server did not start")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(20)
        self.loop.close()


@pytest.fixture
def threaded_preview(workspaces: Path) -> Iterator[PreviewServer]:
    running = ThreadedPreview(workspaces)
    try:
        yield running.server
    finally:
        running.close()


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        message = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
