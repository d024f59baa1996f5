"""The composition root: the long-lived objects a front end opens, and their start-up and
shut-down.

The web server and the terminal chat both open an AppState; it knows nothing of HTTP,
so a front end that is not a server never imports FastAPI.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from gemma_chat.chat.setup import open_turns
from gemma_chat.chat.turns import TurnManager
from gemma_chat.config import Settings
from gemma_chat.errors import RuntimeFailure
from gemma_chat.media.attachments import AttachmentStore
from gemma_chat.models.installed import InstalledModel
from gemma_chat.models.library import describe_spec, list_models
from gemma_chat.models.preflight import HardwareCache
from gemma_chat.models.pulls import PullManager
from gemma_chat.private import private_dir
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store import Database, Store
from gemma_chat.workspace.preview import PreviewServer
from gemma_chat.workspace.projects import Projects

log = logging.getLogger(__name__)
UNSENT_UPLOAD_TTL_S = 24 * 3600


@dataclass
class AppState:
    settings: Settings
    db: Database
    store: Store
    runtimes: RuntimePool
    turns: TurnManager
    projects: Projects
    preview: PreviewServer
    hardware: HardwareCache
    pulls: PullManager
    attachments: AttachmentStore
    load_error: str | None = None
    _preload: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, token: str | None = None) -> AppState:
        """`token` is the app's access token: previews answer only requests carrying its
        sign-in cookie (None, as for the terminal chat: a random one nobody holds)."""
        private_dir(settings.data_dir)
        db = Database(settings.db_path)
        store = Store(db)
        hardware = HardwareCache()
        projects = Projects(settings.data_dir / "workspaces")
        preview = PreviewServer(projects.root, token or secrets.token_urlsafe(32))
        turns = open_turns(settings, store, projects, live=preview, hardware=hardware)
        runtimes = turns.runtimes
        pulls = PullManager(settings.data_dir)
        attachments = AttachmentStore(db, settings.data_dir / "attachments")
        turns.attachments = attachments
        state = cls(
            settings, db, store, runtimes, turns, projects, preview, hardware, pulls, attachments
        )
        pulls.describe = state.describe_installed
        pulls.describe_spec = lambda spec: describe_spec(runtimes, spec)
        return state

    def describe_installed(self, installed: InstalledModel) -> dict[str, Any]:
        """The picker's view of a model that has just been downloaded."""
        hardware = self.hardware.get()
        specs = [installed.spec]
        for model in list_models(
            self.runtimes, self.settings.data_dir, self.settings.model, hardware, specs
        ):
            if model["spec"] in (installed.id, installed.spec):
                return model
        return {"spec": installed.spec, "name": installed.spec, "installed": True}

    def start_preload(self) -> None:
        self._preload = asyncio.create_task(self._load_default())

    async def tidy(self) -> None:
        """Start-up housekeeping: uploads never sent (or whose message was deleted) go
        after a day, so abandoned files do not pile up in the data dir."""
        try:
            removed = await asyncio.to_thread(self.attachments.delete_unlinked, UNSENT_UPLOAD_TTL_S)
        except OSError as exc:
            log.warning("could not tidy old uploads: %s", exc)
            return
        if removed:
            log.info("removed %d old unsent uploads", removed)

    async def _load_default(self) -> None:
        try:
            await self.runtimes.switch(self.settings.model)
            self.load_error = None
        except RuntimeFailure as exc:
            # The app keeps running; the error shows in /api/health and on the next turn.
            self.load_error = str(exc)
            log.warning("default model did not load: %s", exc)

    async def close(self) -> None:
        if self._preload:
            await asyncio.gather(self._preload, return_exceptions=True)
        await self.pulls.shutdown()
        await self.turns.shutdown()
        await self.preview.stop()
        await self.runtimes.close()
        self.db.close()
