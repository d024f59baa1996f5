"""`gemma-chat`: the arguments of every command, and which module runs each one (serve.py,
chat.py, build.py, models.py, doctor.py, repair.py). Sub-commands load when they run, so
`--help` and `open` start without the server, llama.cpp or the media libraries."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gemma_chat import __version__
from gemma_chat.cli.common import check_start, settings_from
from gemma_chat.cli.logs import add_log_level, configure_logging
from gemma_chat.config import DEFAULT_HOST, DEFAULT_PORT

log = logging.getLogger(__name__)

COMMANDS = ("serve", "open", "chat", "build", "models", "doctor", "repair")
# Options every command that uses them shares; they may come before the command as well.
GLOBAL = ("--model", "--data-dir", "--log-level")
GLOBAL_DESTS = frozenset({"model", "data_dir"})  # --log-level: see logs.add_log_level


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help="model spec: embedded (default), a catalogue id (gemma-4-e4b), gguf:PATH, "
        "hf:OWNER/REPO[:QUANT], openai:URL[#MODEL], ollama:NAME, mlx:REPO, replay:PATH",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where conversations live (default: $GEMMA_CHAT_HOME or the OS data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemma-chat",
        description="Gemma Chat: a local-first AI workbench. With no command, starts the app.",
    )
    parser.add_argument("--version", action="version", version=f"gemma-chat {__version__}")
    _common(parser)  # before the command too: `gemma-chat --model X chat`
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser(
        "serve",
        help="start the web app (the default); if it already runs for this data dir, open it",
    )
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; a free one if busy)",
    )
    serve.add_argument(
        "--no-browser", action="store_true", help="do not open a browser tab; print the link"
    )
    _common(serve)

    opener = commands.add_parser(
        "open", help="open the running app in the browser, with its access token"
    )
    opener.add_argument(
        "--no-browser", action="store_true", help="only print the link (it holds the token)"
    )
    opener.add_argument(
        "--data-dir",
        type=Path,
        help="the running app's data dir (default: $GEMMA_CHAT_HOME or the OS data dir)",
    )

    chat = commands.add_parser("chat", help="chat in the terminal; with PROMPT, answer once")
    chat.add_argument("prompt", nargs="?", help="answer this and exit; without it, start a REPL")
    _common(chat)

    build = commands.add_parser("build", help="run the Build agent headless into a folder")
    build.add_argument("prompt", help="what to build")
    build.add_argument("--out", type=Path, required=True, help="project folder (created if needed)")
    _common(build)

    from gemma_chat.cli.doctor import register as register_doctor
    from gemma_chat.cli.models import register as register_models
    from gemma_chat.cli.repair import register as register_repair

    register_models(commands)
    register_doctor(commands)
    register_repair(commands)
    add_log_level(parser)
    for sub in _subparsers(parser):  # a command's own default must not undo the main flag
        for action in sub._actions:
            if action.dest in GLOBAL_DESTS:
                action.default = argparse.SUPPRESS
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments, with the options every command shares (GLOBAL) allowed before the
    command as well as after it, and `serve` when no command is named."""
    argv = list(argv)
    parser = build_parser()
    first, leading = _leading_globals(argv)
    rest = argv[first:]
    if first > len(argv):  # the last option lacks its value: argparse says so
        parser.parse_args(argv)
    if not rest or (rest[0] not in COMMANDS and rest[0] not in ("-h", "--help", "--version")):
        argv.insert(first, "serve")
    args = parser.parse_args(argv)
    command, leaf = _chosen(parser, args)
    for option in leading:  # e.g. `--model X doctor`: say so rather than ignore it
        if option not in leaf._option_string_actions:
            parser.error(f"{command} does not take {option}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.log_level)
    log.debug("gemma-chat %s: %s (log level %s)", __version__, args.command, args.log_level)
    if args.command == "chat":
        from gemma_chat.cli.chat import run_chat

        settings = settings_from(args)
        if (failed := check_start(settings, args)) is not None:
            return failed
        return run_chat(settings, args.prompt)
    if args.command == "build":
        from gemma_chat.cli.build import run_build

        settings = settings_from(args)
        if (failed := check_start(settings, args)) is not None:
            return failed
        return run_build(args.prompt, args.out, settings)
    if getattr(args, "handler", None) is not None:  # sub-commands that bring their own
        return int(args.handler(args))
    from gemma_chat.cli.serve import open_running, serve

    if args.command == "open":
        return open_running(args)
    return serve(args)


def _leading_globals(argv: list[str]) -> tuple[int, list[str]]:
    """How many arguments the shared options before the command take up, and which."""
    i, seen = 0, []
    while i < len(argv):
        name, has_value, _ = argv[i].partition("=")
        if name not in GLOBAL:
            break
        seen.append(name)
        i += 1 if has_value else 2
    return i, seen


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser, at any depth (argparse keeps them only in _actions)."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if id(sub) not in found:
                    found[id(sub)] = sub
                    found.update((id(p), p) for p in _subparsers(sub))
    return list(found.values())


def _chosen(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[str, argparse.ArgumentParser]:
    """The command as typed (`models list`) and the parser that read its arguments."""
    words: list[str] = []
    while True:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        word = getattr(args, actions[0].dest, None) if actions else None
        if word is None:
            return " ".join(words), parser
        words.append(word)
        parser = actions[0].choices[word]
