"""Reusing llama.cpp's cache past a cut: the plan, and the real engine after a trim."""

from __future__ import annotations

import pytest

from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.runtimes.base import CancelToken, ChatMessage, Finish, GenerationOptions, Usage
from gemma_chat.runtimes.kv_reuse import Run, plan_reuse
from gemma_chat.runtimes.llama import LlamaCppRuntime
from tests.held_runtime import held


def span(start: int, length: int = 40) -> list[int]:
    return list(range(start, start + length))


def test_a_plain_prefix_is_reused_in_place() -> None:
    plan = plan_reuse([*span(0), 1, 2], [*span(0), 9, 9])
    assert plan.prefix == 40 and plan.runs == () and plan.reused == 40


def test_the_last_prompt_token_is_always_left_to_evaluate() -> None:
    plan = plan_reuse(span(0), span(0))
    assert plan.reused == 39


def test_a_stretch_cut_after_the_system_prompt_is_bridged() -> None:
    system, dropped, kept = [1, 2, 3], span(100), span(200, 60)
    plan = plan_reuse([*system, *dropped, *kept], [*system, *kept, 7, 8])
    assert plan.prefix == 3
    assert plan.runs == (Run(source=43, target=3, length=60),)
    assert plan.reused == 63  # all but the new message


def test_new_text_ends_the_reuse() -> None:
    # llama.cpp cannot evaluate new text in a gap, so a stub in the middle ends it.
    before, result, after = span(0), span(500, 300), span(1000, 100)
    plan = plan_reuse([*before, *result, *after], [*before, 7, 7, 7, *after, 5])
    assert plan.prefix == 40 and plan.runs == () and plan.reused == 40


def test_several_gaps_are_bridged_in_order() -> None:
    a, b, c = span(10), span(60), span(110)
    cached = [0, *a, 99, 98, *b, 97, *c]
    plan = plan_reuse(cached, [0, *a, *b, *c, 5])
    assert plan.prefix == 41
    assert plan.runs == (Run(43, 41, 40), Run(84, 81, 40))


def test_short_chance_matches_are_not_reused() -> None:
    # A role marker shared by two messages is not a kept turn.
    marker = span(50, 10)
    plan = plan_reuse([1, 2, *marker, *span(300)], [1, 2, 3, *marker, *span(600), 4])
    assert plan.runs == () and plan.reused == 2


def test_the_longest_continuation_wins() -> None:
    marker = span(5, 10)
    cached = [0, 7, *marker, 40, 41, *marker, *span(100)]
    plan = plan_reuse(cached, [0, *marker, *span(100), 1])
    assert plan.prefix == 1
    assert plan.runs == (Run(source=14, target=1, length=50),)


def test_runs_never_move_right() -> None:
    # New text longer than the gap it fills would push the run onto cache not yet moved.
    plan = plan_reuse([0, 1, *span(100)], [0, *span(500, 10), *span(100), 2])
    assert plan.runs == () and plan.reused == 1


def test_without_shifting_only_the_prefix_counts() -> None:
    plan = plan_reuse([1, 2, *span(10)], [1, *span(10), 3], shift=False)
    assert plan.runs == () and plan.reused == 1


def test_a_different_conversation_reuses_nothing() -> None:
    import random

    rng = random.Random(1)
    cached = [rng.randrange(50_000) for _ in range(32_000)]
    plan = plan_reuse(cached, [rng.randrange(50_000) for _ in range(32_000)])
    assert plan.reused == 0


@pytest.fixture(scope="module")
def model():
    with held(LlamaCppRuntime("embedded", embedded_model_path(), context_length=4096)) as runtime:
        yield runtime


async def reply(runtime: LlamaCppRuntime, messages: list[ChatMessage]) -> tuple[str, Usage]:
    text, usage = "", Usage()
    options = GenerationOptions(max_tokens=12, temperature=0)
    async for delta in runtime.stream(messages, options, CancelToken()):
        text += getattr(delta, "text", "")
        if isinstance(delta, Finish):
            usage = delta.usage
    return text, usage


def chat(turns: range) -> list[ChatMessage]:
    messages = [ChatMessage("system", "You answer in one short sentence.")]
    for i in turns:
        messages += [
            ChatMessage("user", f"Note {i}: the parcel for room {i} is blue. " * 6),
            ChatMessage("assistant", f"Noted: room {i} gets a blue parcel. " * 4),
        ]
    return messages


def assert_cache_holds(runtime: LlamaCppRuntime, prompt: list[int]) -> None:
    """The cache holds the prompt, then the reply, in order at their positions."""
    import llama_cpp

    llm = runtime._llm
    assert llm.n_tokens >= len(prompt)
    assert list(llm.input_ids[: len(prompt)]) == prompt
    assert llama_cpp.llama_memory_seq_pos_max(llm._ctx.memory, 0) == llm.n_tokens - 1


@pytest.mark.slow
async def test_after_old_turns_are_dropped_the_engine_reads_only_the_new_message(model) -> None:
    question = ChatMessage("user", "Which room was mentioned last?")
    _, first = await reply(model, [*chat(range(10)), question])
    assert first.cached_tokens < first.prompt_tokens // 2

    trimmed = [*chat(range(4, 10)), question]  # the budget dropped turns 0-3
    text, usage = await reply(model, trimmed)
    prompt, _ = model.render_prompt(trimmed)
    assert usage.prompt_tokens == len(prompt)
    assert usage.cached_tokens == len(prompt) - 1  # kept turns and question: all cached
    assert text.strip()
    assert_cache_holds(model, prompt)


@pytest.mark.slow
async def test_another_conversation_reuses_only_what_it_shares(model) -> None:
    await reply(model, [*chat(range(3)), ChatMessage("user", "Which room?")])
    other = [ChatMessage("system", "Reply in French."), ChatMessage("user", "Bonjour " * 40)]
    _, usage = await reply(model, other)
    assert usage.cached_tokens < 10
    assert_cache_holds(model, model.render_prompt(other)[0])
