"""The runtimes a process has open, and switching between models without a restart.

Models that live in this process's memory (llama.cpp) are "resident". Switching to a
resident model first frees the other resident models nobody is using (two 8 GB models
do not fit a 16 GB laptop), then loads the new one; if that fails, the models it freed
are loaded again, so a failed switch leaves the app working on the model it had.
Models behind HTTP (openai:, ollama:) cost this process nothing and are never evicted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from gemma_chat.errors import RuntimeFailure
from gemma_chat.runtimes.base import Runtime

log = logging.getLogger(__name__)

# Checks a resident model fits before anything is freed for it; raises RuntimeFailure.
# It is told how many bytes the models that would be freed hold now.
Preflight = Callable[[Runtime, int], Awaitable[None]]


class RuntimePool:
    """One runtime instance per spec, shared by every conversation that uses it."""

    def __init__(
        self,
        factory: Callable[[str], Runtime],
        preflight: Preflight | None = None,
    ) -> None:
        self._factory = factory
        self._preflight = preflight
        self._runtimes: dict[str, Runtime] = {}
        self._leases: Counter[str] = Counter()
        self._switching = asyncio.Lock()

    def get(self, spec: str) -> Runtime:
        """The runtime for a spec, created (not loaded) on first use; validates the spec."""
        spec = spec.strip()
        runtime = self._runtimes.get(spec)
        if runtime is None:
            runtime = self._factory(spec)
            self._runtimes[spec] = runtime
        return runtime

    def loaded(self, spec: str) -> Runtime | None:
        return self._runtimes.get(spec.strip())

    def is_loaded(self, spec: str) -> bool:
        """Whether a spec's model is ready now (Runtime.loaded), without creating its
        runtime: the one answer /api/health and /api/models both give."""
        runtime = self._runtimes.get(spec.strip())
        return runtime is not None and runtime.loaded

    def in_use(self, spec: str) -> bool:
        return self._leases[spec.strip()] > 0

    def resident_specs(self) -> list[str]:
        """Specs whose model is in this process's memory now."""
        return [s for s, r in self._runtimes.items() if r.resident and r.loaded]

    async def acquire(self, spec: str) -> Runtime:
        """A loaded runtime, leased until release(); raises RuntimeFailure."""
        spec = spec.strip()
        runtime = self.get(spec)
        if not runtime.resident:
            await runtime.load()
        elif not runtime.loaded:
            async with self._switching:
                await self._switch_to(spec, runtime)
        self._leases[spec] += 1
        return runtime

    def release(self, spec: str) -> None:
        spec = spec.strip()
        if self._leases[spec] > 0:
            self._leases[spec] -= 1

    @asynccontextmanager
    async def use(self, spec: str) -> AsyncIterator[Runtime]:
        runtime = await self.acquire(spec)
        try:
            yield runtime
        finally:
            self.release(spec)

    async def switch(self, spec: str) -> Runtime:
        """Make a model the one in use (the model picker) and free every idle resident one.

        A model that was kept because a turn was using it goes once that turn is over
        and the user picks again; a turn never loses its model mid-reply.
        """
        async with self.use(spec) as runtime:
            # Also when the new model runs elsewhere (Ollama, a server): it needs the RAM.
            async with self._switching:
                for other in self.resident_specs():
                    if other != spec.strip() and self._leases[other] == 0:
                        await self._runtimes[other].close()
            return runtime

    async def _switch_to(self, spec: str, runtime: Runtime) -> None:
        if runtime.loaded:  # another task loaded it while we waited
            return
        idle = [
            other for other in self.resident_specs() if other != spec and self._leases[other] == 0
        ]
        if self._preflight is not None:
            freed = sum(self._runtimes[s].memory_bytes for s in idle)
            await self._preflight(runtime, freed)
        for other in idle:
            log.info("freeing %s to load %s", other, spec)
            await self._runtimes[other].close()
        try:
            await runtime.load()
        except BaseException:
            self._runtimes.pop(spec, None)  # a later try starts from a fresh instance
            await self._restore(idle)
            raise

    async def _restore(self, specs: list[str]) -> None:
        for other in specs:
            try:
                await self._runtimes[other].load()
            except RuntimeFailure as exc:  # pragma: no cover - it loaded a moment ago
                log.warning("could not reload %s after a failed switch: %s", other, exc)

    async def unload(self, spec: str) -> None:
        """Free a model now (its files are about to be deleted); it reloads on next use."""
        runtime = self._runtimes.pop(spec.strip(), None)
        if runtime is not None:
            await runtime.close()

    async def close(self) -> None:
        runtimes, self._runtimes = list(self._runtimes.values()), {}
        for runtime in runtimes:
            await runtime.close()
