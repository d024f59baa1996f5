"""Options every command shares (`--model`, `--data-dir`, `--log-level`) may come before
the command as well as after it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_chat.cli.main import parse_args
from gemma_chat.store import Database, Store


def test_model_and_data_dir_before_the_command_are_used(tmp_path, replay_file) -> None:
    data = tmp_path / "elsewhere"
    spec = replay_file("Answered from before the command.")
    env = {**os.environ, "GEMMA_CHAT_HOME": str(tmp_path / "home")}
    leading = ["--model", spec, "--data-dir", str(data), "--log-level", "info"]
    result = subprocess.run(
        [sys.executable, "-m", "gemma_chat", *leading, "chat", "the question"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Answered from before the command."
    # The conversation went to --data-dir, not to $GEMMA_CHAT_HOME.
    conversations, total = Store(Database(data / "gemma-chat.db")).list_conversations()
    assert total == 1 and conversations[0].model == spec
    assert not (tmp_path / "home" / "gemma-chat.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "replay:x", "chat"],
        ["--model=replay:x", "chat"],
        ["chat", "--model", "replay:x"],
        ["--log-level", "debug", "--model", "replay:x", "chat", "hi"],
        ["--model", "replay:x", "--log-level=debug", "chat", "hi"],
        ["--model", "replay:x", "build", "a site", "--out", "o"],
        ["--model", "replay:x", "serve"],
    ],
)
def test_the_model_may_come_first_or_after(argv: list[str]) -> None:
    assert parse_args(argv).model == "replay:x"


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "d", "chat"],
        ["chat", "--data-dir", "d"],
        ["--data-dir", "d", "open"],
        ["--data-dir", "d", "models", "list"],
        ["models", "list", "--data-dir", "d"],
        ["--data-dir", "d", "repair"],
        ["--data-dir", "d"],  # the default command
    ],
)
def test_the_data_dir_may_come_first_or_after(argv: list[str]) -> None:
    assert parse_args(argv).data_dir == Path("d")


def test_without_a_command_the_leading_options_go_to_serve() -> None:
    args = parse_args(["--model", "replay:x", "--log-level", "info"])
    assert (args.command, args.model, args.log_level) == ("serve", "replay:x", "info")


def test_the_later_value_wins() -> None:
    assert parse_args(["--model", "a", "chat", "--model", "b"]).model == "b"
    assert parse_args(["--log-level", "debug", "chat", "--log-level", "error"]).log_level == "error"


def test_defaults_when_absent() -> None:
    args = parse_args(["chat"])
    assert args.model is None and args.data_dir is None


def test_an_option_the_command_does_not_take_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--model", "replay:x", "doctor"])
    assert exit_.value.code == 2
    assert "doctor does not take --model" in capsys.readouterr().err


def test_a_missing_value_is_argparses_error(capsys) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--model"])
    assert "--model: expected one argument" in capsys.readouterr().err
