"""Hand-written response shapes of the engines we talk to, replayed from a loopback server.

The streams in tests/runtimes/fixtures/ were written by hand after each engine's documented
wire format, not captured from a running engine (tests/runtimes/fixtures/README.md says
which engine and version each follows).

Each engine names its reasoning differently (Ollama `message.thinking`, mlx_lm `reasoning`,
mlx_vlm both `reasoning_content` and `reasoning`, vLLM `reasoning_content` before 0.10 and
`reasoning` after, LM Studio `reasoning_content`) and reports usage its own way; these tests
pin the thinking/text split, usage and finish reason the app sees for each. The last part
checks the request the app sends to a vLLM server (see docs/scale-out.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from gemma_chat.runtimes.base import (
    ChatMessage,
    Delta,
    Finish,
    GenerationOptions,
    TextDelta,
    ThinkingDelta,
)
from gemma_chat.runtimes.ollama import OllamaRuntime
from gemma_chat.runtimes.openai_compat import GENERIC, VLLM, OpenAICompatRuntime
from gemma_chat.runtimes.thinking import DEFAULT_MARKERS
from tests.runtimes.fixtures.helpers import OPENAI_STANDARD_FIELDS, collect, texts
from tests.runtimes.fixtures.loopback import Routes, ndjson, ollama_routes, openai_routes

BRIEF = [ChatMessage("system", "Be brief."), ChatMessage("user", "Say hello.")]


def split(deltas: list[Delta]) -> tuple[str, str, Finish]:
    thinking = texts(deltas, ThinkingDelta)
    text = texts(deltas, TextDelta)
    finish = deltas[-1]
    assert isinstance(finish, Finish)
    assert sum(isinstance(d, Finish) for d in deltas) == 1
    return thinking, text, finish


async def openai_stream(
    loopback: Any,
    models: str | dict[str, Any],
    stream: str,
    model: str,
    options: GenerationOptions | None = None,
) -> tuple[OpenAICompatRuntime, list[Delta], Any]:
    fake = loopback(openai_routes(models, stream))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1#{model}", api_key="")
    try:
        deltas = await collect(runtime, options, BRIEF)
    finally:
        await runtime.close()
    return runtime, deltas, fake


async def ollama_stream(loopback: Any, routes: Routes, model: str) -> tuple[list[Delta], Any]:
    fake = loopback(routes)
    runtime = OllamaRuntime(f"ollama:{fake.url}#{model}")
    try:
        deltas = await collect(runtime, messages=BRIEF)
    finally:
        await runtime.close()
    return deltas, fake


# -- Ollama native NDJSON -------------------------------------------------------------------


async def test_ollama_native_thinking_field(loopback) -> None:
    deltas, fake = await ollama_stream(loopback, ollama_routes(), "qwen3:0.6b")
    thinking, text, finish = split(deltas)
    assert (thinking, text, finish.reason) == ("Okay, the user greets me.", "Hello there!", "stop")
    assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (14, 9)
    assert finish.usage.tokens_per_s == pytest.approx(50.0)
    (body,) = fake.bodies("/api/chat")
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_ollama_native_inline_think_tags(loopback) -> None:
    show = {"capabilities": ["completion"], "model_info": {}}
    routes = ollama_routes(show, ndjson("ollama_chat_inline_think.ndjson"))
    deltas, _ = await ollama_stream(loopback, routes, "deepseek-r1:1.5b")
    thinking, text, finish = split(deltas)
    assert (thinking, text, finish.reason) == ("Plan it.\n", "Sure,", "length")
    assert finish.usage.tokens_per_s == pytest.approx(60.0)


# -- mlx_lm.server and mlx_vlm.server -------------------------------------------------------


async def test_mlx_lm_reasoning_field(loopback) -> None:
    runtime, deltas, _ = await openai_stream(
        loopback, "mlx_lm_models.json", "mlx_lm_reasoning.sse", "mlx-community/Qwen3-0.6B-4bit"
    )
    thinking, text, finish = split(deltas)
    assert thinking == "\nThe user said hi.\n" and text == "\n\nHi!"
    assert finish.reason == "stop" and runtime.engine == GENERIC
    usage = finish.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (12, 11, 3)


@pytest.mark.skipif(
    not any(opener.startswith("<|channel>") for opener, _ in DEFAULT_MARKERS),
    reason="the splitter does not know Gemma 4's thought channel yet",
)
async def test_gemma4_thought_channel_inline(loopback) -> None:
    model = "mlx-community/gemma-4-e4b-it-4bit"
    listed = {"object": "list", "data": [{"id": model, "object": "model", "created": 1}]}
    _, deltas, _ = await openai_stream(loopback, listed, "mlx_lm_gemma4_inline.sse", model)
    thinking, text, finish = split(deltas)
    assert thinking.strip() == "The user wants a greeting."
    assert text == "Hello!" and finish.reason == "length"
    assert all("<" not in d.text for d in deltas if isinstance(d, TextDelta))


async def test_mlx_vlm_sends_both_reasoning_fields_once(loopback) -> None:
    _, deltas, _ = await openai_stream(
        loopback,
        "mlx_vlm_models.json",
        "mlx_vlm_reasoning.sse",
        "mlx-community/gemma-3n-E2B-it-4bit",
    )
    thinking, text, finish = split(deltas)
    assert thinking == "Look at the image." and text == "A cat."  # not doubled
    assert finish.reason == "stop"
    assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (281, 6)
    assert finish.usage.tokens_per_s == pytest.approx(41.2)  # its llama.cpp-style timings


# -- vLLM -----------------------------------------------------------------------------------


async def test_vllm_older_reasoning_content_and_length(loopback) -> None:
    runtime, deltas, _ = await openai_stream(
        loopback,
        "vllm_r1_models.json",
        "vllm_reasoning_content.sse",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    )
    thinking, text, finish = split(deltas)
    assert (thinking, text, finish.reason) == ("Two plus two is four.", "The answer is 4", "length")
    assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (17, 16)
    assert runtime.engine == VLLM and runtime.capabilities.context_length == 16384


async def test_vllm_gemma4_reasoning_field(loopback) -> None:
    runtime, deltas, _ = await openai_stream(
        loopback, "vllm_gemma4_models.json", "vllm_gemma4_reasoning.sse", "google/gemma-4-31B-it"
    )
    thinking, text, finish = split(deltas)
    assert (thinking, text, finish.reason) == (
        "The user asks for a haiku.",
        "Autumn moonlight",
        "stop",
    )
    usage = finish.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (25, 12, 16)
    assert runtime.capabilities.context_length == 32768


# -- LM Studio ------------------------------------------------------------------------------


async def test_lmstudio_reasoning_content(loopback) -> None:
    runtime, deltas, fake = await openai_stream(
        loopback,
        "lmstudio_models.json",
        "lmstudio_reasoning.sse",
        "qwen/qwen3-4b",
        GenerationOptions(top_k=40, grammar='root ::= "x"', max_tokens=100),
    )
    thinking, text, finish = split(deltas)
    assert (thinking, text, finish.reason) == ("Simple question.", "Paris.", "stop")
    assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (20, 8)
    assert runtime.engine == GENERIC
    (body,) = fake.bodies("/v1/chat/completions")
    assert set(body) <= OPENAI_STANDARD_FIELDS  # LM Studio gets no engine-specific fields


# -- the request a vLLM server receives -------------------------------------------------------


async def test_request_shape_sent_to_vllm(loopback) -> None:
    options = GenerationOptions(
        max_tokens=256,
        temperature=1.0,
        top_p=0.95,
        top_k=64,
        seed=11,
        stop=["<end>"],
        grammar='root ::= "yes" | "no"',
        thinking=True,
    )
    _, _, fake = await openai_stream(
        loopback,
        "vllm_gemma4_models.json",
        "vllm_gemma4_reasoning.sse",
        "google/gemma-4-31B-it",
        options,
    )
    (body,) = fake.bodies("/v1/chat/completions")
    assert body["model"] == "google/gemma-4-31B-it"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (256, 1.0, 0.95)
    assert (body["seed"], body["stop"]) == (11, ["<end>"])
    assert body["top_k"] == 64  # vLLM's sampling params take top_k
    assert body["chat_template_kwargs"] == {"enable_thinking": True}  # Gemma 4's switch
    assert "cache_prompt" not in body and "grammar" not in body  # llama.cpp-only fields
    assert set(body) == OPENAI_STANDARD_FIELDS | {"top_k", "chat_template_kwargs"}


async def test_vllm_without_thinking_choice_sends_no_template_kwargs(loopback) -> None:
    _, _, fake = await openai_stream(
        loopback, "vllm_gemma4_models.json", "vllm_gemma4_reasoning.sse", "google/gemma-4-31B-it"
    )
    (body,) = fake.bodies("/v1/chat/completions")
    assert "chat_template_kwargs" not in body and "top_k" not in body
    off = GenerationOptions(thinking=False)
    _, _, fake = await openai_stream(
        loopback,
        "vllm_gemma4_models.json",
        "vllm_gemma4_reasoning.sse",
        "google/gemma-4-31B-it",
        off,
    )
    (body,) = fake.bodies("/v1/chat/completions")
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


async def test_vllm_api_key_header(loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMMA_CHAT_OPENAI_API_KEY", "token-abc123")
    fake = loopback(openai_routes("vllm_gemma4_models.json", "vllm_gemma4_reasoning.sse"))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1#google/gemma-4-31B-it")
    try:
        await collect(runtime, messages=BRIEF)
    finally:
        await runtime.close()
    assert {headers.get("Authorization") for _, _, headers, _ in fake.requests} == {
        "Bearer token-abc123"
    }
