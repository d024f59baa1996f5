"""The memory preflight: a model too big for memory is refused before anything is freed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gemma_chat.errors import ModelLoadError
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.fit import plan_for_gguf
from gemma_chat.models.hardware import GPU, Hardware
from gemma_chat.models.preflight import HardwareCache, memory_preflight
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool

MB = 1024**2


def machine(free_mb: int, gpus: tuple[GPU, ...] = ()) -> Hardware:
    return Hardware("Linux", "x86_64", 16 * 1024 * MB, free_mb * MB, 4, 8, gpus)


@pytest.mark.slow
async def test_too_big_is_refused_with_the_numbers_and_the_old_model_stays() -> None:
    tight = machine(free_mb=10_000)
    pool = RuntimePool(create_runtime, preflight=memory_preflight(lambda: tight))
    try:
        first = await pool.switch("embedded")
        small = machine(free_mb=150)  # less than the planner's overhead for any model

        pool._preflight = memory_preflight(lambda: small)
        numbers = r"needs [\d.]+ [MG]B, but only [\d.]+ [MG]B free"
        with pytest.raises(ModelLoadError, match=rf"too big for this machine's memory.*{numbers}"):
            await pool.switch(f"gguf:{embedded_model_path()}")
        assert first.loaded and pool.resident_specs() == ["embedded"]
    finally:
        await pool.close()


@pytest.mark.slow
async def test_memory_freed_by_the_switch_counts_as_available() -> None:
    path = embedded_model_path()
    size = path.stat().st_size
    needed = plan_for_gguf(path, context=8192, hardware=machine(10_000)).total_bytes
    # Free RAM falls short by less than the current model holds: freeing it makes room.
    short = machine(free_mb=0)
    short = replace(short, ram_available_bytes=needed - size + MB)
    with pytest.raises(ModelLoadError):
        await memory_preflight(lambda: short)(RuntimePool(create_runtime).get(f"gguf:{path}"), 0)
    pool = RuntimePool(create_runtime, preflight=memory_preflight(lambda: machine(10_000)))
    try:
        await pool.switch("embedded")
        pool._preflight = memory_preflight(lambda: short)
        other = await pool.switch(f"gguf:{path}")
        assert other.loaded and pool.resident_specs() == [f"gguf:{path}"]
    finally:
        await pool.close()


async def test_gpu_offload_follows_free_vram() -> None:
    gpu = GPU(name="Test GPU", vendor="nvidia", total_bytes=8 * 1024 * MB, free_bytes=20 * MB)
    pool = RuntimePool(create_runtime, preflight=memory_preflight(lambda: machine(10_000, (gpu,))))
    try:
        runtime = pool.get("embedded")
        await pool._preflight(runtime, 0)
        assert 0 <= runtime.n_gpu_layers < 30  # only part of the 30 layers fit in 20 MB
    finally:
        await pool.close()


def test_hardware_is_probed_at_most_every_few_seconds() -> None:
    calls: list[int] = []

    def probe() -> Hardware:
        calls.append(1)
        return machine(1000)

    cache = HardwareCache(probe)
    assert cache.get() is cache.get()
    assert len(calls) == 1
