"""`--log-level` and $GEMMA_CHAT_LOG_LEVEL, run as real subprocesses: short messages for the
user, tracebacks in the log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_chat.cli.main import build_parser

CLI = [sys.executable, "-m", "gemma_chat"]

# A replay runtime whose stream breaks with a plain RuntimeError after its first piece.
FAILING_CHAT = """
import sys
from gemma_chat.runtimes.replay import ReplayRuntime

original = ReplayRuntime.stream

async def broken(self, *args, **kwargs):
    async for item in original(self, *args, **kwargs):
        yield item
        raise RuntimeError("the wheels came off")

ReplayRuntime.stream = broken
from gemma_chat.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run(
    args: list[str], data_dir: Path, *, level: str | None = None, script: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEMMA_CHAT_HOME": str(data_dir)}
    env.pop("GEMMA_CHAT_LOG_LEVEL", None)
    if level is not None:
        env["GEMMA_CHAT_LOG_LEVEL"] = level
    command = [sys.executable, "-c", script, *args] if script else [*CLI, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def debug_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " DEBUG " in line]


def test_debug_after_the_command_logs_debug_records(tmp_path, replay_file) -> None:
    spec = replay_file("Hello there.")
    result = run(["chat", "hi", "--model", spec, "--log-level", "debug"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello there."  # the answer itself is untouched
    assert debug_lines(result.stderr), result.stderr


def test_the_default_logs_no_debug_records(tmp_path, replay_file) -> None:
    result = run(["chat", "hi", "--model", replay_file("Hello there.")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert not debug_lines(result.stderr), result.stderr


def test_the_environment_sets_the_default_and_the_flag_wins(tmp_path, replay_file) -> None:
    spec = replay_file("Hello there.")
    result = run(["chat", "hi", "--model", spec], tmp_path, level="debug")
    assert debug_lines(result.stderr), result.stderr
    result = run(["--log-level", "error", "chat", "hi", "--model", spec], tmp_path, level="debug")
    assert result.returncode == 0, result.stderr
    assert not debug_lines(result.stderr), result.stderr


def test_an_unexpected_error_is_one_line_for_the_user_and_a_traceback_in_the_log(
    tmp_path, replay_file
) -> None:
    spec = replay_file("alpha beta gamma")
    result = run(["chat", "go", "--model", spec], tmp_path, script=FAILING_CHAT)
    assert result.returncode == 1
    shown = [line for line in result.stdout.splitlines() if "error:" in line]
    assert shown == ["error: Unexpected error: the wheels came off"], result.stdout
    assert "Traceback" not in result.stdout
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: the wheels came off" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-level", "info", "chat", "x"],
        ["chat", "x", "--log-level", "info"],
        ["serve", "--log-level", "info"],
        ["open", "--log-level", "info"],
        ["build", "x", "--out", "o", "--log-level", "info"],
        ["models", "list", "--log-level", "info"],
        ["doctor", "--log-level", "info"],
        ["repair", "--log-level", "info"],
    ],
)
def test_every_command_takes_log_level(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).log_level == "info"


def test_a_sub_command_does_not_undo_the_main_flag() -> None:
    assert build_parser().parse_args(["--log-level", "debug", "doctor"]).log_level == "debug"
