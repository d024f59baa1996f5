"""The context budget: what is trimmed first, the notice, and the model's own tokenizer."""

from __future__ import annotations

from itertools import pairwise

import pytest

from gemma_chat.chat.context_budget import (
    ELIDED,
    elide_tool_results,
    estimate_tokens,
    fit_to_context,
    reply_reserve,
    trim_block,
)
from gemma_chat.chat.turns import TurnManager
from gemma_chat.errors import RuntimeFailure
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import Capabilities, ChatMessage
from gemma_chat.runtimes.llama import LlamaCppRuntime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store import Database, Store
from tests.held_runtime import held


class Estimated:
    """A runtime without a tokenizer of its own: the budget estimates."""

    def __init__(self, context_length: int) -> None:
        self.capabilities = Capabilities(context_length)


def tool_result(body: str) -> str:
    return f'<tool_result name="read_file" ok="true">\n{body}\n</tool_result>'


def conversation(turns: int, size: int) -> list[ChatMessage]:
    messages = [ChatMessage("system", "You build web pages.")]
    for i in range(turns):
        messages += [
            ChatMessage("user", f"request {i} " + "x" * size),
            ChatMessage("assistant", f"answer {i} " + "y" * size),
        ]
    return [*messages, ChatMessage("user", "the newest request")]


async def test_within_budget_nothing_changes() -> None:
    messages = conversation(3, 30)
    fitted = await fit_to_context(Estimated(4096), messages, 256)
    assert fitted.messages == messages and fitted.trimmed == 0
    assert fitted.limit == 4096 and fitted.tokens == 0  # clearly within: not even counted


async def test_near_the_limit_counts_exactly_before_deciding() -> None:
    messages = conversation(3, 1000)  # ~6 KB: over the byte bound, under the token budget
    fitted = await fit_to_context(Estimated(4096), messages, 256)
    assert fitted.trimmed == 0 and 0 < fitted.tokens <= 4096 - 256


async def test_whole_old_turns_go_before_the_current_turn_loses_anything() -> None:
    messages = [
        ChatMessage("system", "sys"),
        ChatMessage("user", "make a page"),
        ChatMessage("assistant", '<action name="read_file"><path>a.html</path></action>'),
        ChatMessage("user", tool_result("z" * 6000)),
        ChatMessage("assistant", "done"),
        ChatMessage("user", "now make it blue"),
        ChatMessage("assistant", '<action name="read_file"><path>b.css</path></action>'),
        ChatMessage("user", tool_result("c" * 900)),
    ]
    fitted = await fit_to_context(Estimated(2048), messages, 512)
    # Dropping from the front costs engines nothing (the prompt's start just moves);
    # eliding in the middle would make them re-read everything after it.
    assert [m.content for m in fitted.messages] == [
        "sys",
        "now make it blue",
        messages[6].content,
        messages[7].content,
    ]
    assert fitted.trimmed == 4 and fitted.tokens <= 2048 - 512


async def test_a_turn_too_long_on_its_own_loses_its_old_tool_results_first() -> None:
    messages = [
        ChatMessage("system", "sys"),
        ChatMessage("user", "make a page"),
        ChatMessage("assistant", '<action name="read_file"><path>a.html</path></action>'),
        ChatMessage("user", tool_result("z" * 6000)),
        ChatMessage("assistant", '<action name="read_file"><path>b.css</path></action>'),
        ChatMessage("user", tool_result("c" * 300)),
    ]
    fitted = await fit_to_context(Estimated(2048), messages, 512)
    assert fitted.trimmed == 1
    assert [m.role for m in fitted.messages] == [m.role for m in messages]
    assert ELIDED in fitted.messages[3].content and "z" * 100 not in fitted.messages[3].content
    assert fitted.messages[1].content == "make a page"  # the request itself stays
    assert fitted.messages[5].content == messages[5].content  # the newest result too
    assert fitted.tokens <= 2048 - 512


async def test_oldest_turns_go_next_keeping_system_and_newest_message() -> None:
    messages = conversation(10, 600)
    fitted = await fit_to_context(Estimated(2048), messages, 256)
    kept = fitted.messages
    assert kept[0].role == "system" and kept[-1].content == "the newest request"
    assert kept[1].role == "user"  # a turn starts with the user, as templates want
    assert "request 9" in kept[-3].content  # the most recent turns are the ones kept
    assert "request 0" not in " ".join(m.content for m in kept)
    assert fitted.trimmed == len(messages) - len(kept)
    assert fitted.tokens <= 2048 - 256


async def test_a_single_message_too_big_is_a_clear_error() -> None:
    messages = [ChatMessage("system", "sys"), ChatMessage("user", "w" * 20_000)]
    with pytest.raises(RuntimeFailure, match="too long for this model"):
        await fit_to_context(Estimated(2048), messages, 256)


async def grow(rounds: int, fit, turn) -> list[list[ChatMessage]]:
    """The messages sent at each round of a conversation that grows by `turn(i)`."""
    history = [ChatMessage("system", "You build web pages.")]
    sent = []
    for i in range(rounds):
        history += turn(i)
        fitted = await fit(history)
        sent.append(list(fitted.messages))
        history.append(ChatMessage("assistant", f"answer {i} " + "y" * 300))
    return sent


def prefix_changes(sent: list[list[ChatMessage]]) -> int:
    """Rounds whose prompt does not begin with the whole previous prompt (a cache miss)."""
    return sum(1 for a, b in pairwise(sent) if b[: len(a)] != a)


async def test_past_the_budget_the_cut_moves_in_blocks_so_the_prefix_survives_rounds() -> None:
    runtime, reply = Estimated(4096), 512
    budget = 4096 - reply
    fitted = []

    async def fit(history):
        result = await fit_to_context(runtime, history, reply)
        fitted.append(result)
        return result

    sent = await grow(60, fit, lambda i: [ChatMessage("user", f"request {i} " + "x" * 300)])
    over = [f for f in fitted if f.trimmed]
    assert len(over) > 40  # most rounds are past the budget
    assert all(f.tokens <= budget for f in over)
    # ~230 tokens a round, a block of budget/4 ~ 890: a cut every ~4 rounds, not every round.
    growth = 230 * len(over)
    assert prefix_changes(sent) <= growth // trim_block(budget) + 2
    # ...and each prompt still holds most of the budget.
    assert min(f.tokens for f in over) >= budget - trim_block(budget) - 250
    for messages in sent:
        assert messages[0].role == "system" and messages[1].role == "user"
        assert messages[-1].content.startswith("request")


async def test_build_sessions_past_the_budget_keep_their_prefix_for_rounds() -> None:
    runtime, reply = Estimated(4096), 512
    budget = 4096 - reply

    def build_turn(i: int) -> list[ChatMessage]:
        if i % 3:  # three rounds a turn: a request, then two rounds of results
            return [ChatMessage("user", tool_result(f"file {i} " + "z" * 600))]
        return [ChatMessage("user", f"request {i}: change the page")]

    fitted = []

    async def fit(history):
        result = await fit_to_context(runtime, history, reply)
        fitted.append(result)
        return result

    sent = await grow(60, fit, build_turn)
    over = [f for f in fitted if f.trimmed]
    assert len(over) > 40 and all(f.tokens <= budget for f in over)
    assert all(m[1].content.startswith("request") for m in sent)  # whole turns kept
    # ~270 tokens a round on average: a cut every few rounds, never in the middle.
    assert prefix_changes(sent) <= 270 * len(over) // trim_block(budget) + 2


def test_reserve_and_elision_helpers() -> None:
    assert reply_reserve(8192, 1024) == 1024
    assert reply_reserve(8192, None) == 2048
    assert reply_reserve(1000, 4000) == 500  # never more than half the window
    text = "before " + tool_result("secret body") + " after"
    assert elide_tool_results(text) == (
        f'before <tool_result name="read_file" ok="true">\n{ELIDED}\n</tool_result> after'
    )
    assert estimate_tokens("abcdef") >= 2


@pytest.fixture(scope="module")
def small_context_model():
    with held(LlamaCppRuntime("embedded", embedded_model_path(), context_length=512)) as runtime:
        yield runtime


@pytest.mark.slow
async def test_counts_come_from_the_models_own_tokenizer(small_context_model) -> None:
    runtime = small_context_model
    (count,) = await runtime.count_tokens(["The capital of France is Paris."])
    assert count == len(runtime._llm.tokenize(b"The capital of France is Paris.", add_bos=False))
    messages = conversation(1, 10)
    prompt, _ = runtime.render_prompt(messages)
    assert await runtime.count_prompt_tokens(messages) == len(prompt)


@pytest.mark.slow
async def test_real_tokenizer_budget_fits_the_real_window(small_context_model) -> None:
    runtime = small_context_model
    messages = conversation(8, 200)
    fitted = await fit_to_context(runtime, messages, 128)
    assert fitted.trimmed > 0 and fitted.limit == 512
    assert await runtime.count_prompt_tokens(fitted.messages) == fitted.tokens <= 512 - 128


async def test_a_turn_over_budget_publishes_the_context_event(tmp_path, replay_file) -> None:
    store = Store(Database(tmp_path / "t.db"))
    spec = replay_file("Sure.") + "&ctx=600"
    pool = RuntimePool(create_runtime)
    manager = TurnManager(store, pool)
    conv = store.create_conversation("chat", spec)
    for i in range(6):
        store.add_message(conv.id, "user", f"question {i} " + "q" * 400)
        store.add_message(conv.id, "assistant", f"answer {i} " + "a" * 400)
    turn = manager.start(conv.id, "and now?")
    await turn.task
    events = dict((name, data) for name, data in turn.log)
    assert events["context"]["trimmed"] > 0 and events["context"]["limit"] == 600
    assert events["turn.end"]["reason"] == "stop"
    (sent,) = pool.loaded(spec).calls
    assert sent[-1].content == "and now?" and "question 0" not in sent[0].content
    # Nothing is lost: the stored conversation keeps every message.
    assert len(store.list_messages(conv.id)) == 14


async def test_media_counts_against_the_budget_and_old_media_goes_first() -> None:
    from gemma_chat.runtimes.base import MediaPart

    image = MediaPart("image", "image/png", b"x", "old.png")
    messages = [
        ChatMessage("system", "sys"),
        *[
            m
            for i in range(6)
            for m in (ChatMessage("user", f"look {i}", (image,)), ChatMessage("assistant", "ok"))
        ],
        ChatMessage("user", "and this one?", (image,)),
    ]
    fitted = await fit_to_context(Estimated(1024), messages, 128)
    kept_images = sum(len(m.media) for m in fitted.messages)
    assert 1 <= kept_images < 7 and fitted.messages[-1].media == (image,)
    assert fitted.tokens <= 1024 - 128
