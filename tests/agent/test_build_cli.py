"""`gemma-chat build` runs the app's own turn pipeline in the data dir it is given."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gemma_chat.store import Database, Store
from gemma_chat.workspace.projects import Projects

SCRIPT = """I'll write the page.
<action name="write_file">
<path>index.html</path>
<content><!doctype html><title>Hi</title><h1>Hi</h1></content>
</action>
Done."""


def test_build_uses_the_data_dir_flag(tmp_path: Path, replay_file: Callable[..., str]) -> None:
    data, home, out = tmp_path / "data", tmp_path / "home", tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "gemma_chat", "build", "a greeting page", "--out", str(out),
         "--data-dir", str(data), "--model", replay_file(SCRIPT)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "GEMMA_CHAT_HOME": str(home), "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "index.html").read_text().startswith("<!doctype html>")
    assert not (home / "gemma-chat.db").exists()  # the flag wins over $GEMMA_CHAT_HOME
    store = Store(Database(data / "gemma-chat.db"))
    conversations, total = store.list_conversations()
    assert total == 1 and conversations[0].mode == "build"
    assert Projects(data / "workspaces").linked_to(out) == conversations[0].id
    saved = store.list_messages(conversations[0].id)
    assert [m.role for m in saved] == ["user", "assistant"]
    assert saved[0].content == "a greeting page"
