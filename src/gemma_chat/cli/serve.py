"""`gemma-chat` / `gemma-chat serve` (start the web app, or open the one already running
for this data dir) and `gemma-chat open`."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from rich.console import Console

from gemma_chat.cli.common import check_start, settings_from
from gemma_chat.config import Settings
from gemma_chat.errors import RuntimeFailure
from gemma_chat.models.registry import create_runtime
from gemma_chat.server.auth import open_url
from gemma_chat.server.instance import running_instance
from gemma_chat.server.runner import ServerRun


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
    if (failed := check_start(settings, args)) is not None:
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
