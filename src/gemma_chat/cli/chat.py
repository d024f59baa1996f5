"""Chat in the terminal, in-process, through the same turn machinery as the server.

Conversations started here are saved like any other and show up in the web UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator, Sequence

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from gemma_chat.config import Settings
from gemma_chat.errors import RuntimeFailure
from gemma_chat.events import BUILD_EVENTS, TurnEvent
from gemma_chat.workbench import AppState

HELP = "Commands: /new starts a fresh conversation · /exit quits · Ctrl+C stops a reply"

HANDLED = frozenset(
    {
        TurnEvent.TEXT,
        TurnEvent.THINKING,
        TurnEvent.STATS,
        TurnEvent.CONTEXT,
        TurnEvent.NOTICE,
        TurnEvent.ERROR,
        TurnEvent.TURN_END,
    }
)
IGNORED = frozenset(
    {
        TurnEvent.TURN_START,  # the prompt is on screen already; ids mean nothing here
        *BUILD_EVENTS,  # terminal chat runs chat turns only; `gemma-chat build` shows these
    }
)


def format_stats(stats: dict | None) -> str:
    if not stats:
        return ""
    parts = []
    if stats.get("ttft_ms") is not None:
        parts.append(f"{stats['ttft_ms']:.0f} ms to first token")
    if stats.get("tokens_per_s"):
        parts.append(f"{stats['tokens_per_s']:.1f} tok/s")
    parts.append(f"{stats.get('completion_tokens', 0)} tokens")
    return " · ".join(parts)


@contextlib.contextmanager
def stop_on_interrupt(state: AppState, conversation_id: str) -> Iterator[None]:
    """Ctrl+C stops the reply (and keeps the REPL) instead of killing the process."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, state.turns.stop, conversation_id)
        installed = True
    except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt is caught instead
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


async def answer(
    state: AppState,
    conversation_id: str,
    prompt: str,
    console: Console,
    rich_output: bool,
    attachments: Sequence[str] = (),
) -> str:
    """Run one turn and show it; returns the turn.end reason. `attachments`: upload ids
    sent with the prompt (as the web UI sends them)."""
    turn = state.turns.start(conversation_id, prompt, attachments)
    text, thinking, reason = "", "", "error"
    stats: dict | None = None
    # Notices get lines of their own, on stderr when stdout is the bare answer (one-shot).
    notes = console if rich_output else Console(stderr=True)

    def view() -> Group:
        parts: list[RenderableType] = []
        if thinking:
            parts.append(Text(thinking.strip(), style="dim italic"))
        parts.append(Markdown(text or "…"))
        return Group(*parts)

    live = (
        Live(view(), console=console, refresh_per_second=15, transient=False)
        if rich_output
        else None
    )
    with stop_on_interrupt(state, conversation_id), live or contextlib.nullcontext():
        try:
            async for name, data in turn.events():
                if name == TurnEvent.TEXT:
                    text += data["text"]
                    if not rich_output:
                        sys.stdout.write(data["text"])
                        sys.stdout.flush()
                elif name == TurnEvent.THINKING:
                    thinking += data["text"]
                elif name == TurnEvent.STATS:
                    stats = data
                elif name == TurnEvent.CONTEXT:
                    left_out = f"Left out {data['trimmed']} older message(s) to fit the context."
                    notes.print(Text(left_out, "dim"), highlight=False)
                elif name == TurnEvent.NOTICE:
                    notes.print(Text(str(data["message"]), "yellow"), highlight=False)
                elif name == TurnEvent.ERROR:
                    if not rich_output and text and not text.endswith("\n"):
                        text += "\n"  # the message starts a line of its own
                        sys.stdout.write("\n")
                    console.print(f"[red]error:[/] {data['message']}", highlight=False)
                elif name == TurnEvent.TURN_END:
                    reason = data["reason"]
                if live is not None and name in (TurnEvent.TEXT, TurnEvent.THINKING):
                    live.update(view())
        except (KeyboardInterrupt, asyncio.CancelledError):
            state.turns.stop(conversation_id)
            if turn.task:
                await turn.task
            reason = "cancelled"
    if not rich_output and text and not text.endswith("\n"):
        sys.stdout.write("\n")
    note = format_stats(stats)
    if reason == "cancelled":
        note = f"stopped · {note}" if note else "stopped"
    elif reason == "length":  # the reply length setting (or the model's own) cut it short
        note = f"stopped at the length limit · {note}" if note else "stopped at the length limit"
    if note:
        Console(stderr=True).print(f"[dim]{note}[/]", highlight=False)
    return reason


async def _chat(settings: Settings, prompt: str | None) -> int:
    console = Console()
    state = AppState.open(settings)
    try:
        runtime = state.runtimes.get(settings.model)
        with console.status(f"Loading {runtime.name}…", spinner="dots"):
            await state.runtimes.switch(settings.model)
    except RuntimeFailure as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False)
        await state.close()
        return 1
    try:
        conversation = state.store.create_conversation("chat", settings.model)
        if prompt is not None:
            reason = await answer(state, conversation.id, prompt, console, rich_output=False)
            return 1 if reason == "error" else 0
        console.print(f"[bold]Gemma Chat[/] · {runtime.name}\n[dim]{HELP}[/]")
        while True:
            try:
                line = await asyncio.to_thread(console.input, "[bold cyan]› [/]")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return 0
            line = line.strip()
            if not line:
                continue
            if line in ("/exit", "/quit"):
                return 0
            if line == "/help":
                console.print(f"[dim]{HELP}[/]")
                continue
            if line == "/new":
                conversation = state.store.create_conversation("chat", settings.model)
                console.print("[dim]New conversation.[/]")
                continue
            await answer(state, conversation.id, line, console, rich_output=console.is_terminal)
    finally:
        await state.close()


def run_chat(settings: Settings, prompt: str | None) -> int:
    try:
        return asyncio.run(_chat(settings, prompt))
    except KeyboardInterrupt:
        return 130
