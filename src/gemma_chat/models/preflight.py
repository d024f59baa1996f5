"""Refuse to load a model that will not fit, before anything is freed for it.

The pool calls this with the bytes that freeing its idle models would give back, so a
switch from one 5 GB model to another on a 16 GB laptop is judged on the memory it will
really have. Models we cannot plan (no GGUF on disk, HTTP engines) pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from gemma_chat.errors import ModelLoadError
from gemma_chat.models.fit import plan_for_gguf
from gemma_chat.models.hardware import Hardware, detect
from gemma_chat.runtimes.base import OffloadsLayers, Runtime
from gemma_chat.runtimes.pool import Preflight

log = logging.getLogger(__name__)
HARDWARE_TTL_S = 5.0


class HardwareCache:
    """detect() runs nvidia-smi; once every few seconds is plenty."""

    def __init__(self, probe: Callable[[], Hardware] = detect) -> None:
        self._probe = probe
        self._value: Hardware | None = None
        self._at = 0.0

    def get(self) -> Hardware:
        if self._value is None or time.monotonic() - self._at > HARDWARE_TTL_S:
            self._value, self._at = self._probe(), time.monotonic()
        return self._value


def memory_preflight(hardware: Callable[[], Hardware]) -> Preflight:
    async def check(runtime: Runtime, freed_bytes: int) -> None:
        path = runtime.model_file
        if path is None or not path.is_file():
            return  # another engine's memory, or the loader gives the clear error
        context = runtime.requested_context

        def judge() -> None:
            hw = hardware()
            hw = replace(hw, ram_available_bytes=hw.ram_available_bytes + freed_bytes)
            try:
                plan = plan_for_gguf(path, context=context, hardware=hw)
            except (ValueError, OSError) as exc:  # not a GGUF: the loader says so better
                log.debug("no memory plan for %s: %s", path, exc)
                return
            if hw.discrete_gpus and isinstance(runtime, OffloadsLayers):
                runtime.n_gpu_layers = plan.n_gpu_layers  # what free VRAM holds
            if plan.verdict == "wont_fit":
                hint = ""
                recs = plan.recommendations
                if recs.context and recs.context < plan.context:
                    hint = f" It would fit with a {recs.context:,}-token context."
                raise ModelLoadError(
                    f"{runtime.name} is too big for this machine's memory at a "
                    f"{plan.context:,}-token context. {plan.message}.{hint}"
                )

        await asyncio.to_thread(judge)

    return check
