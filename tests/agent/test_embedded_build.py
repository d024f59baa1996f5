"""The real thing: `gemma-chat build` on the built-in model, as a new user runs it.

These tests drive what the user gets (a stopwatch that counts, a page that reacts), not
what the grammar already guarantees (that a page parses).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.kits.conftest import open_page

pytestmark = pytest.mark.slow  # `gemma-chat build` on the built-in model

sync_api = pytest.importorskip("playwright.sync_api")


def _build(prompt: str, out: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gemma_chat", "build", prompt, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GEMMA_CHAT_HOME": str(home), "NO_COLOR": "1"},
    )


def _log(folder: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(folder), "log", "--format=%s"], capture_output=True)
    return out.stdout.decode().splitlines()


def test_a_new_user_asks_for_a_stopwatch_and_gets_one_that_works(tmp_path: Path) -> None:
    out, home = tmp_path / "stopwatch", tmp_path / "home"
    result = _build("a stopwatch with start, stop and reset", out, home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Started from: Stopwatch" in result.stdout
    assert "added: " in result.stdout and "index.html" in result.stdout  # the turn's files
    assert _log(out) == [
        "a stopwatch with start, stop and reset",
        "Started from: Stopwatch",
        "Empty project",
    ]
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        kit = open_page(browser, out)
        page = kit.page
        assert "stopwatch" in page.title().lower()
        shown = page.locator("[aria-live], .big-number, time, output").first
        before = shown.inner_text()
        page.get_by_role("button", name="Start").first.click()
        page.wait_for_timeout(400)
        assert shown.inner_text() != before, "the stopwatch must count"
        page.get_by_role("button", name="Stop").first.click()
        page.get_by_role("button", name="Reset").first.click()
        assert shown.inner_text() == before
        kit.assert_clean()
        kit.close()
        browser.close()


def test_a_coin_flip_request_gets_a_coin_that_flips(tmp_path: Path) -> None:
    out = tmp_path / "coin"
    result = _build("a page that flips a coin when I press a button", out, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Started from: Random Picker" in result.stdout
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        kit = open_page(browser, out, reduced_motion="reduce")
        page = kit.page
        assert "coin" in page.title().lower()
        sides = set()
        for _ in range(12):
            page.get_by_role("button", name="Flip the coin").click()
            sides.add(page.locator("#result").inner_text())
        assert sides <= {"Heads", "Tails"} and sides, sides
        kit.assert_clean()
        kit.close()
        browser.close()


def test_later_requests_change_slots_or_say_plainly_what_is_beyond_the_model(
    tmp_path: Path,
) -> None:
    out, home = tmp_path / "counter", tmp_path / "home"
    assert _build("a counter for push-ups", out, home).returncode == 0
    result = _build("make the background dark blue", out, home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Set background" in result.stdout
    assert "--bg: #00008b" in (out / "theme.css").read_text()
    assert "changed: theme.css" in result.stdout
    before = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    result = _build("add a chart of my progress", out, home)
    assert result.returncode == 0
    assert "beyond the built-in model" in result.stdout
    assert {p.name: p.read_text() for p in out.iterdir() if p.is_file()} == before
    assert _log(out)[:2] == ["add a chart of my progress", "make the background dark blue"]


async def test_the_actions_grammar_makes_every_action_well_formed(tmp_path: Path) -> None:
    """The general grammar (used for gguf: models) on a real model: nothing malformed."""
    from gemma_chat.agent.loop import BuildAgent
    from gemma_chat.models.registry import create_runtime
    from gemma_chat.runtimes.base import CancelToken, ChatMessage, GenerationOptions
    from gemma_chat.workspace import Workspace

    runtime = create_runtime("embedded")
    await runtime.load()
    agent = BuildAgent(
        runtime,
        Workspace(tmp_path / "ws"),
        "c_test",
        options=GenerationOptions(max_tokens=300, temperature=0),
        grammar="actions",
        max_rounds=2,  # each grammar-bound round costs ~20 s on 2 cores; two show the loop
    )
    starts: list[dict] = []
    ends: list[dict] = []

    async def collect(name: str, data: dict) -> None:
        if name == "action.start":
            starts.append(data)
        if name == "action.end":
            ends.append(data)

    await agent.run([ChatMessage("user", "a page with a title")], CancelToken(), collect)
    assert starts, "the first round must act"
    assert {e["id"] for e in ends} >= {s["id"] for s in starts}, "every chip must settle"
    for end in ends:
        # A failed tool is fine (a 135M model picks odd paths), and so is a file the round
        # limit cut off; a malformed action is not.
        assert "not finished" not in end["result"] or "round limit" in end["result"], end
