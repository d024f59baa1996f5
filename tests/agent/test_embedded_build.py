"""The real thing: the embedded model builds a page under the grammar, and it loads cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

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


async def test_the_actions_grammar_makes_every_action_well_formed(tmp_path: Path) -> None:
    """The general grammar (used for gguf: models) on a real model: nothing malformed."""
    from gemma_chat.agent.loop import BuildAgent
    from gemma_chat.runtimes.base import CancelToken, ChatMessage, GenerationOptions
    from gemma_chat.runtimes.registry import create_runtime
    from gemma_chat.workspace import Workspace

    runtime = create_runtime("embedded")
    await runtime.load()
    agent = BuildAgent(
        runtime,
        Workspace(tmp_path / "ws"),
        "c_test",
        options=GenerationOptions(max_tokens=400, temperature=0),
        grammar="actions",
        max_rounds=2,
    )
    ends: list[dict] = []

    async def collect(name: str, data: dict) -> None:
        if name == "action.end":
            ends.append(data)

    await agent.run([ChatMessage("user", "a page with a title")], CancelToken(), collect)
    assert ends, "the first round must act"
    for end in ends:
        # A failed tool is fine (a 135M model picks odd paths); a malformed action is not.
        assert "not finished" not in end["result"], end
