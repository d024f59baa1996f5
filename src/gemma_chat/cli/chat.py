"""Chat in the terminal, in-process, through the same turn machinery as the server.

Conversations started here are saved like any other and show up in the web UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from gemma_chat.cli.interrupts import Interrupts
from gemma_chat.config import Settings
from gemma_chat.errors import RuntimeFailure
from gemma_chat.events import BUILD_EVENTS, TurnEvent
from gemma_chat.private import PRIVATE_FILE, private_file
from gemma_chat.store import Conversation
from gemma_chat.workbench import AppState

REPL_COMMANDS = (
    ("/new", "start a fresh conversation"),
    ("/model [SPEC]", "show the model, or switch to SPEC (gemma-4-e4b, gguf:PATH, ollama:NAME…)"),
    ("/help", "this list"),
    ("/exit", "quit (or Ctrl+D)"),
)
KEYS = (
    "↑ ↓ recall earlier lines (kept across runs) · Ctrl+R searches them\n"
    "Ctrl+C clears the line, or stops a reply"
)
QUIT_HINT = "Ctrl+D or /exit to quit"
HISTORY_FILE = "chat-history"  # in the data dir, private like the rest of it
PROMPT = "› "

log = logging.getLogger(__name__)

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


async def answer(
    state: AppState,
    conversation_id: str,
    prompt: str,
    console: Console,
    rich_output: bool,
    attachments: Sequence[str] = (),
    interrupts: Interrupts | None = None,
) -> str:
    """Run one turn and show it; returns the turn.end reason. `attachments`: upload ids
    sent with the prompt (as the web UI sends them). Ctrl+C stops the reply: through
    `interrupts` (the REPL's), else through a SIGINT handler of its own for the while."""
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
    own = interrupts is None
    interrupts = interrupts or Interrupts()
    with (
        interrupts.installed() if own else contextlib.nullcontext(),
        interrupts.stopping(lambda: state.turns.stop(conversation_id)),
        live or contextlib.nullcontext(),
    ):
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


ReadLine = Callable[[], Awaitable[str]]


def help_text() -> Group:
    table = Table.grid(padding=(0, 3))
    for command, meaning in REPL_COMMANDS:
        table.add_row(Text(command, "bold"), meaning)
    return Group(table, Text(KEYS, "dim"))


def history_file(data_dir: Path) -> Path:
    """The REPL's line history: created 0600 (the umask may not be set when embedded)."""
    path = data_dir / HISTORY_FILE
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    private_file(path)
    return path


def terminal_reader(data_dir: Path) -> ReadLine:
    """Line editing, ↑/↓ history kept in the data dir, Ctrl+R search (prompt_toolkit).
    Ctrl+C raises KeyboardInterrupt (the line is dropped), Ctrl+D on an empty line EOFError."""
    history: History
    try:
        history = FileHistory(str(history_file(data_dir)))
    except OSError as exc:  # a read-only data dir: edit and recall, just not across runs
        log.warning("line history is not saved: %s", exc)
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=history)
    prompt = FormattedText([("bold ansicyan", PROMPT)])

    async def read() -> str:
        # handle_sigint=False: its handler, once removed, would leave SIGINT killing the
        # process; the REPL's own (Interrupts) stays in place throughout.
        return await session.prompt_async(prompt, handle_sigint=False)

    return read


def plain_reader(console: Console) -> ReadLine:
    """Lines from a pipe or a file (no terminal to edit in)."""

    async def read() -> str:
        return await asyncio.to_thread(console.input, f"[bold cyan]{PROMPT}[/]")

    return read


@contextlib.contextmanager
def keys_wait_for_the_prompt() -> Iterator[None]:
    """Between prompts (a reply streaming, help printing) keys are neither echoed over the
    output nor line-edited by the terminal: they wait, as typed, for the next prompt, so
    nothing typed ahead is lost or garbled, and Ctrl+D typed ahead reaches the prompt.
    Ctrl+C still interrupts (ISIG stays on). prompt_toolkit takes raw mode from here and
    gives this back after each line."""
    try:
        import termios
    except ImportError:  # Windows
        yield
        return
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    held = termios.tcgetattr(fd)
    held[3] &= ~(termios.ECHO | termios.ICANON)  # lflag
    held[3] |= termios.NOFLSH  # Ctrl+C stops a reply without dropping what was typed ahead
    held[6][termios.VMIN], held[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, held)  # TCSANOW: keys already typed stay queued
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


async def _load(state: AppState, spec: str, console: Console) -> str:
    """Load `spec` (a spinner meanwhile); returns its display name. Raises RuntimeFailure."""
    runtime = state.runtimes.get(spec)
    with console.status(f"Loading {runtime.name}…", spinner="dots"):
        await state.runtimes.switch(spec)
    return runtime.name


async def _chat(settings: Settings, prompt: str | None) -> int:
    console = Console()
    errors = Console(stderr=True)
    state = AppState.open(settings)
    try:
        name = await _load(state, settings.model, console)
    except RuntimeFailure as exc:
        errors.print(f"[red]error:[/] {exc}", highlight=False)
        await state.close()
        return 1
    try:
        conversation = state.store.create_conversation("chat", settings.model)
        if prompt is not None:  # rendered in a terminal, the bare text into a pipe
            reason = await answer(
                state, conversation.id, prompt, console, rich_output=console.is_terminal
            )
            return 1 if reason == "error" else 0
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        read = terminal_reader(settings.data_dir) if interactive else plain_reader(console)
        console.print(
            f"[bold]Gemma Chat[/] · {name}\n"
            f"[dim]Type a message · /help for commands · {QUIT_HINT}[/]",
            highlight=False,
        )
        interrupts = Interrupts()
        with (
            keys_wait_for_the_prompt() if interactive else contextlib.nullcontext(),
            interrupts.installed(),
        ):
            return await _repl(state, settings, conversation, name, console, read, interrupts)
    finally:
        await state.close()


async def _repl(
    state: AppState,
    settings: Settings,
    conversation: Conversation,
    name: str,
    console: Console,
    read: ReadLine,
    interrupts: Interrupts,
) -> int:
    hinted = False
    while True:
        try:
            line = await read()
        except KeyboardInterrupt:  # the line is cleared; quitting takes Ctrl+D or /exit
            if not hinted:
                console.print(f"[dim]{QUIT_HINT}[/]")
                hinted = True
            continue
        except EOFError:
            console.print()
            return 0
        line = line.strip()
        if not line:
            continue
        command, _, argument = line.partition(" ")
        if command in ("/exit", "/quit"):
            return 0
        if command == "/help":
            console.print(help_text(), highlight=False)
            continue
        if command == "/new":
            conversation = state.store.create_conversation("chat", settings.model)
            console.print("[dim]New conversation.[/]")
            continue
        if command == "/model":
            conversation, name = await _switch(
                state, settings, conversation, argument.strip(), name, console, interrupts
            )
            continue
        if command.startswith("/") and command[1:].isalpha():
            console.print(f"[yellow]Unknown command {command}.[/] [dim]/help lists them.[/]")
            continue
        await answer(
            state,
            conversation.id,
            line,
            console,
            rich_output=console.is_terminal,
            interrupts=interrupts,
        )


async def _switch(
    state: AppState,
    settings: Settings,
    conversation: Conversation,
    spec: str,
    name: str,
    console: Console,
    interrupts: Interrupts,
) -> tuple[Conversation, str]:
    """`/model SPEC`: load SPEC for this conversation and the ones /new starts (not saved
    as the default for the next start). On failure, or Ctrl+C, the current model stays."""
    if not spec:
        console.print(f"[dim]Model:[/] {name} [dim]({settings.model})[/]", highlight=False)
        return conversation, name
    loading = asyncio.ensure_future(_load(state, spec, console))
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stopped = True
        loading.cancel()

    try:
        with interrupts.stopping(stop):
            loaded = await loading
    except RuntimeFailure as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return conversation, name
    except asyncio.CancelledError:
        if not stopped:  # the REPL itself is being cancelled
            raise
        console.print(f"[dim]Stopped loading; still chatting with[/] {name}", highlight=False)
        return conversation, name
    settings.model = spec
    conversation = state.store.update_conversation(conversation.id, model=spec)
    console.print(f"[dim]Now chatting with[/] {loaded}", highlight=False)
    return conversation, loaded


def run_chat(settings: Settings, prompt: str | None) -> int:
    try:
        return asyncio.run(_chat(settings, prompt))
    except KeyboardInterrupt:
        return 130
