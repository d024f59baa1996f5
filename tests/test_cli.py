"""The `gemma-chat` command, run as a real subprocess."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gemma_chat import __version__
from gemma_chat.store import Database, Store

CLI = [sys.executable, "-m", "gemma_chat"]


def run(args: list[str], data_dir: Path, stdin: str | None = None, timeout: float = 120):
    env = {**os.environ, "GEMMA_CHAT_HOME": str(data_dir)}
    return subprocess.run(
        CLI + args, input=stdin, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_version(tmp_path) -> None:
    result = run(["--version"], tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"gemma-chat {__version__}"


@pytest.mark.slow
def test_one_shot_chat_with_the_embedded_model(tmp_path) -> None:
    result = run(["chat", "Say hello."], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "tok/s" in result.stderr
    # The exchange is saved and will show up in the web UI: read it back from the store.
    store = Store(Database(tmp_path / "gemma-chat.db"))
    conversations, total = store.list_conversations()
    assert total == 1
    saved = store.list_messages(conversations[0].id)
    assert [(m.role, m.status) for m in saved] == [("user", "complete"), ("assistant", "complete")]
    assert saved[0].content == "Say hello."
    assert saved[1].content.strip() == result.stdout.strip()


def test_one_shot_streams_in_pieces(tmp_path, replay_file) -> None:
    spec = replay_file("alpha beta gamma delta", tps=20)
    env = {**os.environ, "GEMMA_CHAT_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [*CLI, "chat", "go", "--model", spec], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    first = proc.stdout.read(5)
    assert first == "alpha"  # arrives before the rest is generated
    rest = proc.stdout.read()
    assert proc.wait(30) == 0
    assert (first + rest).strip() == "alpha beta gamma delta"


def test_repl_reads_prompts_until_exit(tmp_path, replay_file) -> None:
    spec = replay_file("First reply.\n=== turn ===\nSecond reply.")
    result = run(["chat", "--model", spec], tmp_path, stdin="hello\n/new\nagain\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "First reply." in result.stdout and "Second reply." in result.stdout


def test_a_bad_model_is_a_clear_error(tmp_path) -> None:
    result = run(["chat", "hi", "--model", f"gguf:{tmp_path / 'missing.gguf'}"], tmp_path)
    assert result.returncode == 1
    assert "Model file not found" in result.stderr
    result = run(["chat", "hi", "--model", "bogus"], tmp_path)
    assert result.returncode == 1 and "Unknown model spec" in result.stderr


def test_serve_picks_a_free_port_when_the_default_is_busy(tmp_path, replay_file) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy_port = blocker.getsockname()[1]
    env = {**os.environ, "GEMMA_CHAT_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [*CLI, "--no-browser", "--port", str(busy_port), "--model", replay_file("hi")],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        server_file = tmp_path / "server.json"
        deadline = time.monotonic() + 60
        while not server_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        info = json.loads(server_file.read_text())
        assert info["url"].startswith("http://127.0.0.1:")
        assert not info["url"].endswith(f":{busy_port}")
        assert httpx.get(info["url"] + "/api/health").json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        blocker.close()
    assert proc.stderr is not None
    output = proc.stderr.read()
    assert "was busy" in output and info["url"] in output
    assert not server_file.exists()


def test_the_model_picked_last_time_is_the_next_default(tmp_path, monkeypatch) -> None:
    from gemma_chat.cli.main import build_parser, settings_from
    from gemma_chat.config import save_model
    from gemma_chat.models.embedded import embedded_model_path

    monkeypatch.delenv("GEMMA_CHAT_MODEL", raising=False)
    args = build_parser().parse_args(["serve", "--data-dir", str(tmp_path)])
    assert settings_from(args).model == "embedded"
    picked = f"gguf:{embedded_model_path()}"
    save_model(tmp_path, picked)
    assert settings_from(args).model == picked
    # --model and the environment still win, and a model whose files are gone is skipped.
    explicit = build_parser().parse_args(["serve", "--data-dir", str(tmp_path), "--model", "x:y"])
    assert settings_from(explicit).model == "x:y"
    monkeypatch.setenv("GEMMA_CHAT_MODEL", "embedded")
    assert settings_from(args).model == "embedded"
    monkeypatch.delenv("GEMMA_CHAT_MODEL")
    save_model(tmp_path, "gemma-4-31b")  # not downloaded here
    assert settings_from(args).model == "embedded"
