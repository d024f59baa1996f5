"""The real thing: the embedded model builds a page under the grammar, and it loads cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

sync_api = pytest.importorskip("playwright.sync_api")


def test_build_command_with_the_embedded_model_makes_a_page_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "counter"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gemma_chat.cli",
            "build",
            "a counter page with a button",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GEMMA_CHAT_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 0, result.stderr
    assert "✓ write_file index.html" in result.stdout
    page_file = out / "index.html"
    html = page_file.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    log = subprocess.run(
        ["git", "-C", str(out), "log", "--format=%s"], capture_output=True, text=True
    )
    assert log.stdout.splitlines() == ["a counter page with a button", "Empty project"]

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        assert page.locator("body").count() == 1
        title = page.title()
        browser.close()
    assert not problems, problems
    assert title.strip()
