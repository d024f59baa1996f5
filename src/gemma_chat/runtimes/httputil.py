"""Small HTTP and JSON helpers shared by the runtimes that talk to a server over httpx
(`openai_compat`, `ollama`, and through them `mlx`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx

from gemma_chat.runtimes.base import CancelToken

# Probes (model lists, versions) answer at once from a live server.
PROBE_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A long prompt on a slow machine may take minutes before the first token.
STREAM_TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=30.0, pool=30.0)


def int_or_none(value: Any) -> int | None:
    """A whole number from a JSON field that servers send as int, float or digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def dict_or_empty(value: Any) -> dict[str, Any]:
    """A JSON object from an engine's answer, or {} for anything else (null, a list, a
    string): engines differ in which fields they fill."""
    return value if isinstance(value, dict) else {}


def json_or_none(text: str) -> dict[str, Any] | None:
    """A JSON object, or None for anything else: servers' error bodies are not always JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def connection_refused(exc: BaseException) -> bool:
    """Whether a connection error was, underneath, refused: "not running" beats "unreachable"."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or "refused" in str(current).lower():
            return True
        nested = getattr(current, "exceptions", None)  # ExceptionGroup from happy eyeballs
        if nested and any(connection_refused(inner) for inner in nested):
            return True
        current = current.__cause__ or current.__context__
    return False


def retrieve_task_result(task: asyncio.Task[Any]) -> None:
    """Done-callback that reads a task's exception, so asyncio never logs it as unretrieved."""
    if not task.cancelled():
        task.exception()


async def abandon_task(task: asyncio.Task[Any]) -> None:
    """Cancel a reader task (closing its response) without waiting on a slow server."""
    task.cancel()
    task.add_done_callback(retrieve_task_result)
    await asyncio.wait({task}, timeout=0.05)


def put_on_cancel(cancel: CancelToken, queue: asyncio.Queue[Any], item: object) -> None:
    """Queue `item` when `cancel` fires (from any thread), so a waiting reader wakes at once."""
    loop = asyncio.get_running_loop()

    def on_cancel() -> None:
        with contextlib.suppress(RuntimeError):  # the loop may be gone by then
            loop.call_soon_threadsafe(queue.put_nowait, item)

    cancel.on_cancel(on_cancel)


async def read_body(response: httpx.Response) -> bytes:
    """A streamed error response's body, or b"" when the connection broke while reading it."""
    try:
        return await response.aread()
    except httpx.HTTPError:
        return b""
