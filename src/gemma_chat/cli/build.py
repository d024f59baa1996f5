"""`gemma-chat build "PROMPT" --out DIR`: a Build turn from the terminal, with live progress.

It runs the server's own turn pipeline (chat/setup.py): the data dir's database, the
context fit, the memory preflight and the round setting all apply. The project folder is
DIR; its conversation is linked to it, so the web app shows the same project, and running
the command again in DIR continues it as a new turn.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.status import Status
from rich.text import Text

from gemma_chat.chat.setup import open_turns
from gemma_chat.cli.interrupts import Interrupts
from gemma_chat.config import Settings
from gemma_chat.errors import KitError, NotFound, RuntimeFailure, WorkspaceError
from gemma_chat.events import TurnEvent
from gemma_chat.private import private_dir
from gemma_chat.store import Database, Store
from gemma_chat.workspace.projects import Projects

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.2
HANDLED = frozenset(
    {
        TurnEvent.TEXT,
        TurnEvent.ACTION_START,
        TurnEvent.ACTION_PARAM,
        TurnEvent.STATS,
        TurnEvent.ACTION_END,
        TurnEvent.CONTEXT,
        TurnEvent.NOTICE,
        TurnEvent.VERSION,
        TurnEvent.ERROR,
        TurnEvent.TURN_END,
    }
)
IGNORED = frozenset(
    {
        TurnEvent.TURN_START,  # nothing to show: the prompt is the command line
        TurnEvent.THINKING,  # the status line says "Thinking…"; the reasoning stays unprinted
        TurnEvent.FILE_START,  # action.param names the file in the status line already
        TurnEvent.FILE_DELTA,  # file contents are for the folder, not the terminal
        TurnEvent.PREVIEW,  # no browser to show the page in; the files are in DIR
    }
)


class _Progress:
    """Renders turn events: prose as it streams, a status line for what is being written."""

    def __init__(self, console: Console, status: Status) -> None:
        self.console = console
        self.status = status
        self.doing = "Thinking…"
        self.tokens = 0
        self.rate: float | None = None
        self.actions: dict[str, dict[str, str]] = {}
        self.version: dict[str, Any] | None = None
        self.error: str | None = None
        self.reason = "stop"
        self._shown = 0.0
        self._mid_line = False  # streamed text left the cursor inside a line

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown < PROGRESS_EVERY_S:
            return
        self._shown = now
        speed = f" · {self.rate:.0f} tok/s" if self.rate else ""
        tokens = f" · {self.tokens} token{'s' if self.tokens != 1 else ''}" if self.tokens else ""
        self.status.update(f"{self.doing}{tokens}{speed}")

    def event(self, name: str, data: dict[str, Any]) -> None:
        if name == TurnEvent.TEXT:
            self.status.stop()
            self.console.print(data["text"], end="", highlight=False, markup=False)
            self._mid_line = not data["text"].endswith("\n")
            self.status.start()
        elif name == TurnEvent.ACTION_START:
            self.actions[data["id"]] = {"name": data["name"]}
            self.doing = f"Running {data['name']}…"
            self._refresh(force=True)
        elif name == TurnEvent.ACTION_PARAM:
            action = self.actions.setdefault(data["id"], {"name": "?"})
            if data["name"] in ("path", "kit", "slot"):
                action[data["name"]] = action.get(data["name"], "") + data["text"]
                target = action.get("path") or action.get("kit") or action.get("slot", "")
                self.doing = f"{_verb(action['name'])} {target.strip()}…"
                self._refresh(force=True)
        elif name == TurnEvent.STATS:
            self.tokens = data.get("completion_tokens") or self.tokens
            self.rate = data.get("tokens_per_s") or self.rate
            self._refresh()
        elif name == TurnEvent.ACTION_END:
            self._action_end(data)
        elif name == TurnEvent.CONTEXT:
            trimmed = data.get("trimmed")
            self._line(Text(f"Left out {trimmed} older message(s) to fit the context.", "dim"))
        elif name == TurnEvent.NOTICE:
            self._line(Text(str(data["message"]), "yellow"))
        elif name == TurnEvent.VERSION:
            self.version = data
            if data.get("title", "").startswith("Started from:"):
                self._line(Text(f"Version {data['index']}: {data['title']}", "dim"))
        elif name == TurnEvent.ERROR:
            self.error = data["message"]
        elif name == TurnEvent.TURN_END:
            self.reason = data["reason"]

    def _action_end(self, data: dict[str, Any]) -> None:
        target = f" {data['path']}" if data.get("path") else ""
        if data["ok"]:
            text = data.get("label") or f"{data['name']}{target}"
            self._line(Text.assemble(("✓ ", "green"), text))
        else:
            failed = f"{data['name']}{target}: {data['result']}"
            self._line(Text.assemble(("✗ ", "red"), failed))
        self.doing = "Thinking…"

    def _line(self, line: str | Text) -> None:
        """A line of its own (model text may have left the cursor mid-line)."""
        self.status.stop()
        if self._mid_line:
            self.console.print()
            self._mid_line = False
        self.console.print(line, highlight=False)
        self.status.start()


def _verb(action: str) -> str:
    return {
        "write_file": "Writing",
        "edit_file": "Editing",
        "start_from": "Starting from",
        "set_slot": "Setting",
        "read_file": "Reading",
    }.get(action, f"Running {action}")


async def _build(prompt: str, out: Path, settings: Settings, console: Console) -> int:
    err = Console(stderr=True)
    started = time.monotonic()
    private_dir(settings.data_dir)
    db = Database(settings.db_path)
    store = Store(db)
    projects = Projects(settings.data_dir / "workspaces")
    turns = open_turns(settings, store, projects)
    try:
        conversation_id = _conversation_for(store, projects, out, prompt, settings.model)
        with console.status(f"Loading {settings.model}…", spinner="dots"):
            await turns.runtimes.switch(settings.model)
        with console.status("Thinking…", spinner="dots") as status:
            progress = _Progress(console, status)
            turn = turns.start(conversation_id, prompt)
            interrupts = Interrupts()
            stop = functools.partial(turns.stop, conversation_id)
            with interrupts.installed(), interrupts.stopping(stop):
                async for name, data in turn.events():
                    progress.event(name, data)
    except (RuntimeFailure, WorkspaceError, KitError) as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    finally:
        await turns.shutdown()
        await turns.runtimes.close()
        db.close()
    code = _report(progress, out, time.monotonic() - started, console, err)
    if settings.model == "embedded":
        _point_to_a_larger_model(console)
    return code


def _conversation_for(store: Store, projects: Projects, out: Path, prompt: str, model: str) -> str:
    """DIR's conversation (a new one the first time), set to use `model`."""
    existing = projects.linked_to(out) if out.exists() else None
    if existing is not None:
        try:
            conversation = store.get_conversation(existing)
            if conversation.model != model:
                store.update_conversation(existing, model=model)
            return existing
        except NotFound:  # the conversation was deleted in the app: start a new one
            pass
    title = prompt.strip().splitlines()[0][:72] if prompt.strip() else "Build"
    conversation = store.create_conversation("build", model, title)
    projects.link(conversation.id, out)
    return conversation.id


def _report(progress: _Progress, out: Path, seconds: float, console: Console, err: Console) -> int:
    console.print()
    version = progress.version or {}
    parts = []
    for key, label in (("added", "added"), ("changed", "changed"), ("removed", "removed")):
        if version.get(key):
            parts.append(f"{label}: {', '.join(version[key])}")
    summary = "; ".join(parts) or "no files changed"
    console.print(f"[dim]{out} · {summary} · {seconds:.1f} s[/]", highlight=False)
    if progress.error:
        err.print(f"[red]error:[/] {progress.error}", highlight=False)
        return 1
    if progress.reason not in ("stop",):
        err.print(f"[yellow]stopped: {progress.reason}[/]")
    files = [p for p in out.rglob("*") if p.is_file() and ".git" not in p.relative_to(out).parts]
    return 0 if files else 1


def _point_to_a_larger_model(console: Console) -> None:
    """The built-in model only fills starter kits; say which model would build anything
    here (the same pick as `gemma-chat doctor` and the web app's canvas)."""
    from gemma_chat.models.hardware import detect
    from gemma_chat.models.recommend import recommend

    try:
        best = recommend(detect())
    except Exception:  # a hint must never fail a build
        log.warning("could not suggest a larger model", exc_info=True)
        return
    if best is None:
        return
    size = f"{best.size_bytes / 1e9:.1f} GB"
    console.print(
        f"[dim]The built-in model only fills starter kits. {best.name} ({size}, about "
        f"{best.tokens_per_s:.0f} tokens/s here) builds any app: gemma-chat models pull "
        f"{best.spec} --quant {best.quant}, then add --model {best.spec}.[/]",
        highlight=False,
    )


def run_build(prompt: str, out: Path, settings: Settings) -> int:
    try:
        return asyncio.run(_build(prompt, out.expanduser().resolve(), settings, Console()))
    except KeyboardInterrupt:
        return 130
