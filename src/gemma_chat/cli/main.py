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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = _leading_log_level(argv)
    rest = argv[first:]
    if not rest or (rest[0] not in COMMANDS and rest[0] not in ("-h", "--help", "--version")):
        argv.insert(first, "serve")
    args = build_parser().parse_args(argv)
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


def _leading_log_level(argv: list[str]) -> int:
    """How many arguments `--log-level X` takes up before the command, if it comes first."""
    if argv[:1] and argv[0].startswith("--log-level="):
        return 1
    if argv[:1] == ["--log-level"]:
        return min(2, len(argv))
    return 0
