"""Switching models: the previous one is freed, and a failed switch keeps it working."""

from __future__ import annotations

import asyncio

import pytest

from gemma_chat.errors import ModelLoadError, RuntimeFailure, UnknownModelSpec
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import CancelToken, ChatMessage, Finish, GenerationOptions
from gemma_chat.runtimes.pool import RuntimePool

pytestmark = pytest.mark.slow  # loads the built-in model

HI = [ChatMessage("user", "Hi")]


async def reply(runtime) -> Finish:
    options = GenerationOptions(temperature=0, max_tokens=4)
    deltas = [d async for d in runtime.stream(HI, options, CancelToken())]
    assert isinstance(deltas[-1], Finish)
    return deltas[-1]


@pytest.fixture
async def pool():
    pool = RuntimePool(create_runtime)
    yield pool
    await pool.close()


async def test_switching_frees_the_previous_model(pool) -> None:
    other = f"gguf:{embedded_model_path()}"
    first = await pool.switch("embedded")
    assert first.loaded and pool.resident_specs() == ["embedded"]
    second = await pool.switch(other)
    assert second.loaded and not first.loaded
    assert pool.resident_specs() == [other]
    await reply(second)
    # Switching back loads it again, and frees the other.
    again = await pool.switch("embedded")
    assert again is first and first.loaded and not second.loaded


async def test_failed_switch_keeps_the_previous_model(pool, tmp_path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    first = await pool.switch("embedded")
    with pytest.raises(ModelLoadError):
        await pool.switch(f"gguf:{bad}")
    assert first.loaded and pool.resident_specs() == ["embedded"]
    await reply(first)


async def test_a_model_in_use_is_not_freed(pool) -> None:
    other = f"gguf:{embedded_model_path()}"
    async with pool.use("embedded") as first:
        second = await pool.switch(other)
        assert first.loaded and second.loaded  # the busy one stays
        await reply(first)
    third = await pool.switch("embedded")
    assert third is first
    # Now nothing used `other`, so the next switch away from `embedded` could free it.
    await pool.switch(other)
    assert not first.loaded


async def test_preflight_refusal_frees_nothing(tmp_path) -> None:
    seen: list[int] = []

    async def too_big(runtime, freed: int) -> None:
        seen.append(freed)
        if runtime.spec != "embedded":
            raise RuntimeFailure("Won't fit: needs 40 GB, 12 GB free.")

    pool = RuntimePool(create_runtime, preflight=too_big)
    try:
        first = await pool.switch("embedded")
        with pytest.raises(RuntimeFailure, match="Won't fit"):
            await pool.switch(f"gguf:{embedded_model_path()}")
        assert first.loaded
        assert seen[-1] == embedded_model_path().stat().st_size  # what freeing would give
    finally:
        await pool.close()


async def test_unknown_spec_is_rejected_and_changes_nothing(pool) -> None:
    await pool.switch("embedded")
    with pytest.raises(UnknownModelSpec):
        await pool.switch("nonsense:model")
    assert pool.resident_specs() == ["embedded"]


async def test_concurrent_acquires_load_once(pool) -> None:
    runtimes = await asyncio.gather(*(pool.acquire("embedded") for _ in range(3)))
    assert len({id(r) for r in runtimes}) == 1
    for _ in runtimes:
        pool.release("embedded")
    assert not pool.in_use("embedded")
