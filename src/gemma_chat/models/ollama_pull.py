"""`ollama:NAME` downloads: Ollama fetches the model, we show its progress like our own.

Ollama reports per-layer byte counts; they are summed into the same DownloadProgress the
Hugging Face downloads use, so the CLI bar and the picker need no second code path.
"""

from __future__ import annotations

import asyncio
import threading

from gemma_chat.errors import DownloadCancelled
from gemma_chat.models.progress import ProgressCallback, ProgressTracker
from gemma_chat.runtimes.base import CancelToken
from gemma_chat.runtimes.ollama import PullProgress, parse_spec, pull


def is_ollama_spec(spec: str) -> bool:
    return spec.strip().startswith("ollama:")


def pull_through_ollama(
    spec: str, on_progress: ProgressCallback | None, cancel: threading.Event | None = None
) -> None:
    """Have Ollama pull the model; blocking. DownloadCancelled when cancelled."""
    parsed = parse_spec(spec)
    tracker = ProgressTracker(spec.strip(), on_progress)
    totals: dict[str, int] = {}
    completed: dict[str, int] = {}
    token = CancelToken()
    stop_watching = threading.Event()

    def watch() -> None:
        while cancel is not None and not stop_watching.is_set():
            if cancel.wait(0.1):
                token.cancel()
                return

    def on(progress: PullProgress) -> None:
        status = progress.status.lower()
        if progress.digest and progress.total:
            if progress.digest not in totals:
                totals[progress.digest] = progress.total
                tracker.set_plan(sum(totals.values()), len(totals))
                tracker.start_file(progress.digest[:19], 0)
            before = sum(completed.values())
            completed[progress.digest] = progress.completed or 0
            tracker.advance(max(sum(completed.values()) - before, 0))
        elif status.startswith("verifying"):
            tracker.set_phase("verifying")
        elif status == "success":
            tracker.set_phase("done")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        tracker.set_phase("checking")
        finished = asyncio.run(pull(parsed.base_url, parsed.model, on, token))
    finally:
        stop_watching.set()
    if not finished:
        raise DownloadCancelled(f"Stopped pulling {parsed.model}; Ollama keeps the layers it has.")
