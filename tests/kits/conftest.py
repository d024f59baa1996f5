"""Kit fixtures: a kit rendered into a folder, served on 127.0.0.1, open in real Chromium.

`open_kit("counter", {"title": "Push-ups"})` returns a `KitPage`: the Playwright page plus
every console error and page error seen, so each kit test can drive its main interaction
and then check nothing went wrong.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gemma_chat.kits import default_library, project_files
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

sync_api = pytest.importorskip("playwright.sync_api")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class KitPage:
    page: Any  # playwright.sync_api.Page
    folder: Path
    errors: list[str] = field(default_factory=list)
    context: Any = None  # its browser context
    stop_server: Callable[[], None] = lambda: None

    def assert_clean(self) -> None:
        assert not self.errors, self.errors

    def close(self) -> None:
        self.context.close()
        self.stop_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running
    while it is open, which would stop later asyncio tests from starting theirs."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def serve_folder(folder: Path) -> tuple[str, Callable[[], None]]:
    """A static server for `folder` on a free loopback port; returns its URL and a stop."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def open_page(browser: Any, folder: Path, main: str = "index.html", **context: Any) -> KitPage:
    """Open `folder/main` over HTTP in a fresh context, recording console and page errors."""
    url, stop = serve_folder(folder)
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    kit_page = KitPage(page, folder, context=ctx, stop_server=stop)
    page.on("pageerror", lambda exc: kit_page.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            kit_page.errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("requestfailed", lambda req: kit_page.errors.append(f"requestfailed: {req.url}"))
    page.on(
        "response",
        lambda res: (
            kit_page.errors.append(f"HTTP {res.status}: {res.url}") if res.status >= 400 else None
        ),
    )
    page.goto(f"{url}/{main}")
    page.wait_for_load_state("load")
    return kit_page


@pytest.fixture
def open_kit(browser: Any, tmp_path: Path) -> Iterator[Callable[..., KitPage]]:
    opened: list[KitPage] = []

    def open_(name: str, values: dict[str, object] | None = None, **context: Any) -> KitPage:
        kit = default_library().load(name)
        folder = tmp_path / f"{name}-{len(opened)}"
        folder.mkdir()
        for path, text in project_files(kit, values).items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        kit_page = open_page(browser, folder, kit.manifest.main, **context)
        opened.append(kit_page)
        return kit_page

    yield open_
    for kit_page in opened:
        kit_page.close()
