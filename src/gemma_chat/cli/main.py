"""Command line: `gemma-chat` (serve), `open`, `chat [PROMPT]`, `build`, `models`, `doctor`,
`repair`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gemma_chat import __version__
from gemma_chat.cli.logs import add_log_level, configure_logging
from gemma_chat.config import DEFAULT_HOST, DEFAULT_PORT, MODEL_ENV, Settings, saved_model

if TYPE_CHECKING:
    from rich.console import Console

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


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    settings = Settings(**extra)  # type: ignore[arg-type]
    if args.data_dir:
        settings.data_dir = args.data_dir.expanduser().resolve()
    if args.model:
        settings.model = args.model
    elif not os.environ.get(MODEL_ENV):
        settings.model = _remembered_model(settings) or settings.model
    return settings


def _remembered_model(settings: Settings) -> str | None:
    """The model picked last time, if it can still be used (its files may be gone)."""
    from gemma_chat.errors import RuntimeFailure
    from gemma_chat.models.registry import create_runtime

    spec = saved_model(settings.data_dir)
    if not spec:
        return None
    try:
        create_runtime(spec, settings.data_dir)
    except RuntimeFailure:
        return None
    return spec


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
        if (failed := _check_start(settings, args)) is not None:
            return failed
        return run_chat(settings, args.prompt)
    if args.command == "build":
        from gemma_chat.cli.build import run_build

        settings = settings_from(args)
        if (failed := _check_start(settings, args)) is not None:
            return failed
        return run_build(args.prompt, args.out, settings)
    if getattr(args, "handler", None) is not None:  # sub-commands that bring their own
        return int(args.handler(args))
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


def _check_start(settings: Settings, args: argparse.Namespace) -> int | None:
    """Private data dir, a usable database (else a short message), the daily backup."""
    from gemma_chat.cli.repair import check_start

    return check_start(settings, args.data_dir, umask=args.command != "build")


def _data_dir(args: argparse.Namespace) -> Path:
    settings = Settings()
    if args.data_dir:
        settings.data_dir = args.data_dir.expanduser().resolve()
    return settings.data_dir


def _show_link(console: Console, link: str) -> None:
    # soft_wrap: the link stays on one line, whole, for copying or clicking.
    console.print(f"Open: {link}", soft_wrap=True, highlight=False, markup=False)


def open_running(args: argparse.Namespace) -> int:
    """`gemma-chat open`: the running instance, logged in with its token."""
    from rich.console import Console

    from gemma_chat.server.instance import running_instance

    console = Console(stderr=True)
    data_dir = _data_dir(args)
    instance = running_instance(data_dir / "server.json")
    if instance is None:
        console.print(
            f"Gemma Chat is not running for {data_dir}. Start it with [bold]gemma-chat[/]."
        )
        return 1
    console.print(f"[bold green]Gemma Chat[/] is running at [bold]{instance.url}[/]")
    _show_link(console, instance.open_url)
    if not args.no_browser:
        instance.open_browser()
    return 0


def serve(args: argparse.Namespace) -> int:
    from rich.console import Console

    from gemma_chat.errors import RuntimeFailure
    from gemma_chat.models.registry import create_runtime
    from gemma_chat.server.auth import open_url
    from gemma_chat.server.instance import running_instance
    from gemma_chat.server.runner import ServerRun

    console = Console(stderr=True)
    settings = settings_from(args, host=args.host, port=args.port)
    if running := running_instance(settings.server_file):
        # One server per data dir: a second would share its database. Open that one.
        console.print(
            f"[bold green]Gemma Chat[/] is already running at [bold]{running.url}[/] "
            f"(data: {settings.data_dir}); opening it."
        )
        _show_link(console, running.open_url)
        if not args.no_browser:
            running.open_browser()
        return 0
    if (failed := _check_start(settings, args)) is not None:
        return failed
    try:
        create_runtime(settings.model, settings.data_dir)
    except RuntimeFailure as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    try:
        run = ServerRun(settings, log_level=args.log_level)
    except OSError as exc:
        console.print(
            f"[red]error:[/] cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        )
        return 1

    def started(url: str) -> None:
        busy = settings.port and not url.endswith(f":{settings.port}")
        moved = f" (port {settings.port} was busy)" if busy else ""
        console.print(f"[bold green]Gemma Chat[/] is running at [bold]{url}[/]{moved}")
        _show_link(console, open_url(url, run.token))
        console.print(f"Model: {settings.model} · data: {settings.data_dir} · Ctrl+C to quit")
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            console.print(
                f"[yellow]warning:[/] listening on {settings.host}: anyone who can reach this "
                "machine can use the app and read your conversations."
            )

    with contextlib.suppress(KeyboardInterrupt):
        run.run(open_browser=not args.no_browser, on_started=started)
    return 0
