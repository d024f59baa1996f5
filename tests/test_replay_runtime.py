import asyncio
import time

import pytest

from gemma_chat.errors import ModelLoadError
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import (
    CancelToken,
    ChatMessage,
    Finish,
    GenerationOptions,
    TextDelta,
    ThinkingDelta,
)
from gemma_chat.runtimes.replay import ReplayRuntime, split_segments

PROMPT = [ChatMessage("user", "hi")]


async def collect(runtime, options=None, cancel=None):
    out = []
    async for delta in runtime.stream(
        PROMPT, options or GenerationOptions(), cancel or CancelToken()
    ):
        out.append(delta)
    return out


def text_of(deltas) -> str:
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


def test_segments_split_on_separator_lines() -> None:
    script = "first\nline\n=== turn ===\nsecond\n=== turn ===\n"
    assert split_segments(script) == ["first\nline", "second", ""]


async def test_each_call_streams_the_next_segment_then_nothing(replay_file) -> None:
    runtime = create_runtime(replay_file("Hello there.\n=== turn ===\nSecond answer."))
    assert isinstance(runtime, ReplayRuntime)
    first, second, third = [await collect(runtime) for _ in range(3)]
    assert text_of(first) == "Hello there."
    assert text_of(second) == "Second answer."
    assert text_of(third) == ""
    assert isinstance(third[-1], Finish) and third[-1].reason == "stop"
    assert first[-1].usage.completion_tokens == 3  # "Hello", " there", "."


async def test_thinking_tags_become_thinking_deltas(replay_file) -> None:
    deltas = await collect(create_runtime(replay_file("<think>Plan it.</think>Done.")))
    assert "".join(d.text for d in deltas if isinstance(d, ThinkingDelta)) == "Plan it."
    assert text_of(deltas) == "Done."


async def test_pace_follows_tokens_per_second(replay_file) -> None:
    runtime = create_runtime(replay_file("one two three four five six", tps=50))
    started = time.perf_counter()
    deltas = await collect(runtime)
    assert time.perf_counter() - started >= 6 / 50 * 0.8
    assert deltas[-1].usage.tokens_per_s == pytest.approx(50, rel=0.5)


async def test_cancel_stops_quickly(replay_file) -> None:
    runtime = create_runtime(replay_file("word " * 1000, tps=20))
    cancel = CancelToken()
    asyncio.get_running_loop().call_later(0.2, cancel.cancel)
    started = time.perf_counter()
    deltas = await collect(runtime, cancel=cancel)
    assert time.perf_counter() - started < 0.2 + 0.1
    assert deltas[-1].reason == "cancelled"


async def test_max_tokens_ends_with_length(replay_file) -> None:
    deltas = await collect(
        create_runtime(replay_file("a b c d e f")), GenerationOptions(max_tokens=3)
    )
    assert deltas[-1].reason == "length"
    assert text_of(deltas) == "a b c"


async def test_missing_script_is_a_clear_error(tmp_path) -> None:
    runtime = create_runtime(f"replay:{tmp_path / 'nope.txt'}")
    with pytest.raises(ModelLoadError, match="Cannot read replay script"):
        await runtime.load()
