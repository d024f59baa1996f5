"""A real runtime loaded for a whole test module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from gemma_chat.runtimes.base import Runtime


@contextmanager
def held(runtime: Runtime) -> Iterator[Runtime]:
    """Load `runtime` on an event loop of its own (whatever loop each test then runs in),
    and close it afterwards on that same thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, runtime.load()).result()
        try:
            yield runtime
        finally:
            pool.submit(asyncio.run, runtime.close()).result()
