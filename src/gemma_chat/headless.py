"""`gemma-chat build "PROMPT" --out DIR`: the Build agent without a server or a browser.

The project folder is an ordinary workspace (with its git versions), so running the
command again in the same folder continues the project as a new turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console

from gemma_chat.agent.loop import BuildAgent
from gemma_chat.runtimes.base import CancelToken, ChatMessage, RuntimeFailure
from gemma_chat.runtimes.registry import create_runtime
from gemma_chat.workspace import Versions, Workspace, WorkspaceError


async def _build(prompt: str, out: Path, model: str, console: Console) -> int:
    err = Console(stderr=True)
    try:
        runtime = create_runtime(model)
        with console.status(f"Loading {runtime.name}…", spinner="dots"):
            await runtime.load()
    except RuntimeFailure as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    try:
        workspace, versions = Workspace(out), Versions(out)
        if not versions.list():
            versions.record("Empty project")
    except WorkspaceError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    agent = BuildAgent(runtime, workspace, "cli", grammar=getattr(runtime, "build_grammar", None))
    failed = False

    async def show(name: str, data: dict[str, Any]) -> None:
        if name == "text":
            console.print(data["text"], end="", highlight=False, markup=False)
        elif name == "action.end":
            mark = "[green]✓[/]" if data["ok"] else "[red]✗[/]"
            target = f" {data['path']}" if data.get("path") else ""
            detail = "" if data["ok"] else f": {data['result']}"
            console.print(f"\n{mark} {data['name']}{target}{detail}", highlight=False)

    cancel = CancelToken()
    try:
        outcome = await agent.run([ChatMessage("user", prompt)], cancel, show)
    except RuntimeFailure as exc:
        err.print(f"\n[red]error:[/] {exc}", highlight=False)
        failed = True
        outcome = None
    finally:
        await asyncio.to_thread(versions.record, prompt.strip().splitlines()[0][:72] or "Build")
        await runtime.close()
    files = [f.path for f in workspace.list()]
    console.print(f"\n[dim]{len(files)} file(s) in {out}: {', '.join(files) or 'none'}[/]")
    if outcome is not None and outcome.reason not in ("stop",):
        err.print(f"[yellow]stopped: {outcome.reason}[/]")
    return 1 if failed or not files else 0


def run_build(prompt: str, out: Path, model: str) -> int:
    try:
        return asyncio.run(_build(prompt, out.expanduser().resolve(), model, Console()))
    except KeyboardInterrupt:
        return 130
