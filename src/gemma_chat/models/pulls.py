"""Downloads started from the UI: one background pull per model, any number of watchers.

A pull runs in a worker thread (huggingface_hub blocks) and outlives the request that
started it, like a turn: closing the picker or reloading the page does not stop it, and
a second request for the same model joins it and first receives where it stands.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gemma_chat.errors import DownloadCancelled, RuntimeFailure
from gemma_chat.models.download import OFFLINE_MESSAGE, is_unreachable, pull
from gemma_chat.models.installed import InstalledModel
from gemma_chat.models.ollama_pull import is_ollama_spec, pull_through_ollama
from gemma_chat.models.progress import DownloadProgress

log = logging.getLogger(__name__)
Event = tuple[str, dict[str, Any]]
# A download other than a chat model's (a Whisper model): given the progress callback and
# the cancel event, it blocks until done and returns what the `done` event carries.
Runner = Callable[[Callable[[DownloadProgress], None], threading.Event], dict[str, Any]]


@dataclass
class Pull:
    key: str
    model: str
    quant: str | None
    cancel: threading.Event = field(default_factory=threading.Event)
    latest: dict[str, Any] | None = None  # the newest progress event
    final: Event | None = None  # ("done" | "cancelled" | "error", data)
    task: asyncio.Task[None] | None = None
    runner: Runner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _version: int = 0

    async def _set(self, progress: dict[str, Any] | None, final: Event | None = None) -> None:
        async with self._changed:
            if progress is not None:
                self.latest = progress
            if final is not None:
                self.final = final
            self._version += 1
            self._changed.notify_all()

    async def events(self) -> AsyncIterator[Event]:
        """The latest progress first, then each newer one, then done, cancelled or error.

        Watchers get the newest state rather than every event: a slow browser skips
        stale progress instead of falling behind.
        """
        seen = [-1]
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._version != seen[0])
                seen[0] = self._version
                latest, final = self.latest, self.final
            if latest is not None:
                yield "progress", latest
            if final is not None:
                yield final
                return


class PullManager:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        # How a finished download is described in its `done` event (the server sets it).
        self.describe: Callable[[InstalledModel], dict[str, Any]] = lambda m: {"spec": m.spec}
        self.describe_spec: Callable[[str], dict[str, Any]] = lambda spec: {"spec": spec}
        self._pulls: dict[str, Pull] = {}

    def get(self, model: str, quant: str | None) -> Pull | None:
        return self._pulls.get(_key(model, quant))

    def start(self, model: str, quant: str | None, runner: Runner | None = None) -> Pull:
        """Start pulling, or join the pull of the same model already running.

        `runner` downloads something other than a chat model through the same jobs,
        events and cancel (Whisper models: `model` is then a key like "speech:<id>").
        """
        key = _key(model, quant)
        running = self._pulls.get(key)
        if running is not None:
            return running
        job = Pull(key, model.strip(), quant, runner=runner)
        self._pulls[key] = job
        job.task = asyncio.create_task(self._run(job), name=f"pull-{key}")
        return job

    def running(self) -> dict[str, dict[str, Any]]:
        """Pulls in progress by model spec, with their newest progress (for a reloaded UI)."""
        return {
            job.model: {**(job.latest or {}), "quant": job.quant}
            for job in self._pulls.values()
            if job.final is None
        }

    def cancel(self, model: str, quant: str | None = None) -> bool:
        found = False
        for job in list(self._pulls.values()):
            if job.model == model.strip() and (quant is None or job.quant == quant):
                job.cancel.set()
                found = True
        return found

    async def shutdown(self) -> None:
        jobs = list(self._pulls.values())
        for job in jobs:
            job.cancel.set()
        tasks = [j.task for j in jobs if j.task]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _run(self, job: Pull) -> None:
        loop = asyncio.get_running_loop()

        def on_progress(progress: DownloadProgress) -> None:
            data = progress.as_dict()
            if data.get("phase") == "error":
                return  # the exception below carries the message
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(job._set(data)))

        try:
            if job.runner is not None:
                described = await asyncio.to_thread(job.runner, on_progress, job.cancel)
            elif is_ollama_spec(job.model):
                await asyncio.to_thread(pull_through_ollama, job.model, on_progress, job.cancel)
                described = self.describe_spec(job.model)
            else:
                installed = await asyncio.to_thread(
                    pull,
                    job.model,
                    self.data_dir,
                    quant=job.quant,
                    on_progress=on_progress,
                    cancel=job.cancel,
                )
                described = self.describe(installed)
            await asyncio.sleep(0)  # let queued progress land before the final event
            await job._set(None, ("done", {"model": described}))
        except DownloadCancelled:
            message = "Download cancelled; the next pull resumes it."
            await job._set(None, ("cancelled", {"message": message}))
        except RuntimeFailure as exc:
            await job._set(None, ("error", {"message": str(exc)}))
        except Exception as exc:  # a pull must always end with an answer
            log.exception("pull of %s failed", job.model)
            message = OFFLINE_MESSAGE if is_unreachable(exc) else f"Download failed: {exc}"
            await job._set(None, ("error", {"message": message}))
        finally:
            self._pulls.pop(job.key, None)


def _key(model: str, quant: str | None) -> str:
    return f"{model.strip().lower()}|{(quant or '').upper()}"
