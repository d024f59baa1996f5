"""The one way a turn pipeline is put together, for the server and the command line alike.

`gemma-chat build` once built its own agent and drifted from the server's (no data dir,
no context fit, no memory preflight, no round setting). Both now get their TurnManager here.
"""

from __future__ import annotations

from gemma_chat.agent.loop import LiveFiles
from gemma_chat.chat.turns import TurnManager
from gemma_chat.config import Settings
from gemma_chat.models.preflight import HardwareCache, memory_preflight
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store import Store
from gemma_chat.workspace.projects import Projects


def open_turns(
    settings: Settings,
    store: Store,
    projects: Projects,
    *,
    live: LiveFiles | None = None,
    hardware: HardwareCache | None = None,
) -> TurnManager:
    hardware = hardware or HardwareCache()
    runtimes = RuntimePool(
        lambda spec: create_runtime(spec, settings.data_dir),
        preflight=memory_preflight(hardware.get),
    )
    return TurnManager(
        store, runtimes, projects=projects, live=live, max_rounds=settings.max_rounds
    )
