"""`openai:URL[#MODEL]` against a real llama_cpp.server and against loopback servers
that replay hand-written response shapes of vLLM, Ollama, llama-server and mlx_lm."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from gemma_chat.errors import UnknownModelSpec
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import (
    CancelToken,
    ChatMessage,
    Delta,
    Finish,
    GenerationOptions,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from gemma_chat.runtimes.openai_compat import (
    GENERIC,
    LLAMA_CPP_PYTHON,
    LLAMA_SERVER,
    MIN_REPLY_ROOM,
    VLLM,
    Engine,
    OpenAICompatRuntime,
    detect_engine,
    parse_spec,
)
from tests.runtimes.fixtures.helpers import (
    OPENAI_STANDARD_FIELDS,
    collect,
    collect_cancelled_after,
    llama_cpp_server_command,
    load_error,
    stream_error,
    texts,
)
from tests.runtimes.fixtures.loopback import free_port, json_reply, openai_routes, sse

# -- a real llama_cpp.server -------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, model id) of a llama_cpp.server running the embedded model."""
    model = str(embedded_model_path())
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_cpp_server") / "server.log"
    log = log_path.open("wb")  # a file, not a pipe: its verbose log would fill a pipe
    process = subprocess.Popen(
        llama_cpp_server_command(model, port, n_ctx=2048), stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start within 60 s")
            time.sleep(0.2)
        yield url, model
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.slow
async def test_real_server_default_model_streams_in_pieces(llama_cpp_server) -> None:
    url, model = llama_cpp_server
    runtime = OpenAICompatRuntime(f"openai:{url}")
    try:
        await runtime.load()
        assert runtime.model == model
        assert runtime.engine == LLAMA_CPP_PYTHON
        assert runtime.capabilities.grammar is True
        deltas = await collect(runtime, GenerationOptions(max_tokens=24, temperature=0, seed=1))
        pieces = [d for d in deltas if isinstance(d, TextDelta)]
        assert len(pieces) >= 3 and texts(deltas, TextDelta).strip()
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason in ("stop", "length")
        assert sum(isinstance(d, Finish) for d in deltas) == 1
        assert finish.usage.completion_tokens >= len(pieces) > 0
        assert finish.usage.prompt_tokens > 0 and finish.usage.ttft_ms is not None
    finally:
        await runtime.close()


@pytest.mark.slow
async def test_real_server_model_selection_and_length(llama_cpp_server) -> None:
    url, model = llama_cpp_server
    runtime = create_runtime(f"openai:{url.removesuffix('/v1')}/#{model}")
    assert isinstance(runtime, OpenAICompatRuntime)
    try:
        deltas = await collect(runtime, GenerationOptions(max_tokens=5, temperature=0))
        assert runtime.model == model
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "length"
        assert finish.usage.completion_tokens == 5
    finally:
        await runtime.close()


@pytest.mark.slow
async def test_real_server_grammar_forces_output(llama_cpp_server) -> None:
    url, _ = llama_cpp_server
    runtime = OpenAICompatRuntime(f"openai:{url}")
    try:
        options = GenerationOptions(
            max_tokens=8, temperature=0.9, grammar='root ::= "yes" | "no"', top_k=5
        )
        question = [ChatMessage("user", "Write a long poem about the sea.")]
        deltas = await collect(runtime, options, question)
        assert texts(deltas, TextDelta) in ("yes", "no")
    finally:
        await runtime.close()


@pytest.mark.slow
async def test_real_server_cancel_within_100ms(llama_cpp_server) -> None:
    url, _ = llama_cpp_server
    runtime = OpenAICompatRuntime(f"openai:{url}")
    cancel = CancelToken()
    try:
        options = GenerationOptions(max_tokens=1500, temperature=1.0)
        stream = runtime.stream([ChatMessage("user", "Tell a long story.")], options, cancel)
        cancelled_at = None
        deltas: list[Delta] = []
        async for delta in stream:
            deltas.append(delta)
            if isinstance(delta, TextDelta) and cancelled_at is None:
                cancelled_at = time.perf_counter()
                cancel.cancel()
        assert cancelled_at is not None
        assert time.perf_counter() - cancelled_at < 0.1
        assert isinstance(deltas[-1], Finish) and deltas[-1].reason == "cancelled"
        # The server is free for the next request afterwards.
        again = await collect(runtime, GenerationOptions(max_tokens=3))
        assert isinstance(again[-1], Finish)
    finally:
        await runtime.close()


@pytest.mark.slow
async def test_real_server_unknown_model_lists_ids(llama_cpp_server) -> None:
    url, model = llama_cpp_server
    message = await load_error(OpenAICompatRuntime(f"openai:{url}#no-such-model"))
    assert "no-such-model" in message and model in message


# -- loopback servers replaying hand-written shapes -------------------------------------------


async def test_vllm_reasoning_field(loopback) -> None:
    fake = loopback(openai_routes("vllm_models.json", "vllm_reasoning.sse"))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1/")
    try:
        options = GenerationOptions(
            max_tokens=50, top_k=20, grammar='root ::= "x"', temperature=0.6
        )
        deltas = await collect(runtime, options)
        assert runtime.engine == VLLM
        assert runtime.capabilities.context_length == 40960
        assert runtime.capabilities.grammar is False
        assert texts(deltas, ThinkingDelta) == "The user says hi."
        assert texts(deltas, TextDelta) == "Hello there!"
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "stop"
        assert (finish.usage.prompt_tokens, finish.usage.completion_tokens) == (12, 8)
        assert finish.usage.cached_tokens == 4
        (body,) = fake.bodies("/v1/chat/completions")
        assert body["model"] == "Qwen/Qwen3-0.6B" and body["top_k"] == 20
        assert "grammar" not in body and "cache_prompt" not in body
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    finally:
        await runtime.close()


async def test_ollama_v1_reasoning_and_model_pick(loopback) -> None:
    fake = loopback(openai_routes("ollama_models.json", "ollama_reasoning.sse"))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1#gemma3:1b")
    try:
        deltas = await collect(runtime, GenerationOptions(top_k=3, stop=["END"]))
        assert runtime.engine == GENERIC and runtime.capabilities.context_length == 8192
        assert texts(deltas, ThinkingDelta) == "Okay, a greeting."
        assert texts(deltas, TextDelta) == "Hi!"
        assert isinstance(deltas[-1], Finish) and deltas[-1].usage.completion_tokens == 7
        (body,) = fake.bodies("/v1/chat/completions")
        assert body["model"] == "gemma3:1b" and body["stop"] == ["END"]
        assert set(body) <= OPENAI_STANDARD_FIELDS
    finally:
        await runtime.close()


async def test_llama_server_extras_props_and_reasoning_content(loopback, monkeypatch) -> None:
    monkeypatch.setenv("GEMMA_CHAT_OPENAI_API_KEY", "sekrit")
    routes = openai_routes(
        "llama_server_models.json", "llama_server_reasoning.sse", props="llama_server_props.json"
    )
    fake = loopback(routes)
    runtime = OpenAICompatRuntime(
        f"openai:{fake.url}", chat_template_kwargs={"enable_thinking": True}
    )
    try:
        options = GenerationOptions(grammar='root ::= "yes" | "no"', top_k=7, seed=3)
        deltas = await collect(runtime, options)
        assert runtime.engine == LLAMA_SERVER
        caps = runtime.capabilities
        assert caps.context_length == 4096 and caps.grammar is True
        assert caps.modalities == ("text", "image")
        assert texts(deltas, ThinkingDelta) == "Let me answer."
        assert texts(deltas, TextDelta) == "yes"
        finish = deltas[-1]
        assert isinstance(finish, Finish)
        assert finish.usage.completion_tokens == 4 and finish.usage.prompt_tokens == 14
        assert finish.usage.cached_tokens == 6 and finish.usage.tokens_per_s == 80.0
        (body,) = fake.bodies("/v1/chat/completions")
        assert body["cache_prompt"] is True and body["grammar"] == 'root ::= "yes" | "no"'
        assert body["top_k"] == 7 and body["seed"] == 3
        assert body["chat_template_kwargs"] == {"enable_thinking": True}
        assert all(h.get("Authorization") == "Bearer sekrit" for _, _, h, _ in fake.requests)
    finally:
        await runtime.close()


async def test_generic_server_gets_no_extras_and_think_tags_split(loopback) -> None:
    fake = loopback(openai_routes("generic_models.json", "generic_think.sse"))
    runtime = OpenAICompatRuntime(
        f"openai:{fake.url}/v1", chat_template_kwargs={"enable_thinking": True}
    )
    try:
        options = GenerationOptions(
            max_tokens=4, temperature=0.1, top_p=0.5, top_k=9, seed=1, grammar="root ::= x"
        )
        deltas = await collect(runtime, options)
        assert texts(deltas, ThinkingDelta) == "Short plan."
        assert texts(deltas, TextDelta) == "Done."
        assert all("<" not in d.text for d in deltas if isinstance(d, TextDelta))
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "length"
        assert finish.usage.completion_tokens == 4  # estimated: one per content chunk
        (body,) = fake.bodies("/v1/chat/completions")
        assert set(body) <= OPENAI_STANDARD_FIELDS
        assert body["max_tokens"] == 4 and body["top_p"] == 0.5
    finally:
        await runtime.close()


async def test_live_usage_while_streaming(loopback) -> None:
    chat = sse("ollama_reasoning.sse", pause_s=0.15)
    fake = loopback(openai_routes("ollama_models.json", chat))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    try:
        deltas = await collect(runtime)
        assert any(isinstance(d, Usage) for d in deltas)
    finally:
        await runtime.close()


async def test_rejected_api_key(loopback) -> None:
    error = {"error": {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}}
    fake = loopback({"GET /v1/models": json_reply(error, status=401)})
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    await load_error(runtime, r"rejected the API key.*GEMMA_CHAT_OPENAI_API_KEY")


CONTEXT_EXCEEDED = {
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 5000,
        "n_ctx": 4096,
    }
}
MODEL_NOT_FOUND = {"error": {"message": 'model "qwen3:0.6b" not found, try pulling it first'}}


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        pytest.param(
            openai_routes(
                "llama_server_models.json",
                json_reply(CONTEXT_EXCEEDED, status=400),
                props="llama_server_props.json",
            ),
            r"too long for the model's context \(4096",
            id="context-exceeded",
        ),
        pytest.param(
            openai_routes("ollama_models.json", json_reply(MODEL_NOT_FOUND, status=404)),
            r"no model 'qwen3:0.6b'.*gemma3:1b",  # the ids the server lists
            id="unknown-model-lists-ids",
        ),
    ],
)
async def test_chat_endpoint_errors(loopback, routes, message) -> None:
    await stream_error(OpenAICompatRuntime(f"openai:{loopback(routes).url}/v1"), message)


async def test_stream_cut_mid_reply(loopback) -> None:
    fake = loopback(openai_routes("vllm_models.json", sse("vllm_reasoning.sse", cut_after=4)))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    seen = await stream_error(runtime, "closed the stream mid-reply")
    assert texts(seen, TextDelta) == "Hello"


async def test_cancel_during_slow_read(loopback) -> None:
    fake = loopback(openai_routes("vllm_models.json", sse("vllm_reasoning.sse", pause_s=2.0)))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    try:
        await collect_cancelled_after(runtime, 0.3)
    finally:
        await runtime.close()


async def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    await load_error(create_runtime(f"openai:{url}"), r"connection refused\. Is it running")


async def test_wrong_base_path(loopback) -> None:
    fake = loopback({})
    await load_error(OpenAICompatRuntime(f"openai:{fake.url}/api"), "not found")


def test_spec_parsing_and_detection() -> None:
    assert parse_spec("openai:http://h:8080/v1#m") == ("http://h:8080/v1", "m")
    assert parse_spec("openai:http://h:8080/") == ("http://h:8080/v1", None)
    assert parse_spec("openai:localhost:1234") == ("http://localhost:1234/v1", None)
    with pytest.raises(UnknownModelSpec):
        create_runtime("openai:")
    assert detect_engine("llamacpp", None) == LLAMA_SERVER
    assert detect_engine(None, {"default_generation_settings": {}}) == LLAMA_SERVER
    assert detect_engine("me", None) == LLAMA_CPP_PYTHON
    assert detect_engine("vllm", None) == VLLM
    assert detect_engine("library", None) == GENERIC
    assert detect_engine(None, None) == GENERIC


async def test_server_template_without_system_role_gets_it_folded(loopback) -> None:
    refusal = {"error": {"message": "System role not supported", "type": "invalid_request"}}
    chat = [json_reply(refusal, 400), sse("ollama_reasoning.sse")]  # refused, then served
    fake = loopback(openai_routes("ollama_models.json", chat))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1#gemma3:1b")
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]
    try:
        deltas = await collect(runtime, messages=messages)
        assert texts(deltas, TextDelta) == "Hi!"
        first, second = fake.bodies("/v1/chat/completions")
        assert [m["role"] for m in first["messages"]] == ["system", "user"]
        assert second["messages"] == [{"role": "user", "content": "Be brief.\n\nHi"}]
    finally:
        await runtime.close()


async def test_thinking_switch_goes_to_engines_that_take_template_kwargs(loopback) -> None:
    fake = loopback(openai_routes("vllm_models.json", "vllm_reasoning.sse"))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    try:
        await collect(runtime, GenerationOptions(thinking=False))
        await collect(runtime, GenerationOptions())
        off, default = fake.bodies("/v1/chat/completions")
        assert off["chat_template_kwargs"] == {"enable_thinking": False}
        assert "chat_template_kwargs" not in default
    finally:
        await runtime.close()


# -- constructor options --------------------------------------------------------------------


async def test_given_engine_replaces_detection(loopback) -> None:
    routes = openai_routes(
        "llama_server_models.json",
        "llama_server_reasoning.sse",
        props="llama_server_props.json",  # looks like llama-server
    )
    fake = loopback(routes)
    engine = Engine("mlx_lm.server", frozenset({"top_k"}))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1", engine=engine)
    assert runtime.engine == engine  # before load() too
    try:
        options = GenerationOptions(top_k=7, grammar='root ::= "yes"', max_tokens=9)
        await collect(runtime, options)
        assert runtime.engine == engine and runtime.name.startswith("gemma-3-1b-it (mlx_lm")
        assert runtime.capabilities.grammar is False
        assert runtime.capabilities.context_length == 4096  # still learned from /props
        (body,) = fake.bodies("/v1/chat/completions")
        assert body["top_k"] == 7
        assert "cache_prompt" not in body and "grammar" not in body
    finally:
        await runtime.close()


async def test_trust_model_keeps_an_unlisted_model(loopback) -> None:
    fake = loopback(openai_routes("ollama_models.json", "ollama_reasoning.sse"))
    spec = f"openai:{fake.url}/v1#my/local-model"
    await load_error(OpenAICompatRuntime(spec), r"no model 'my/local-model'.*gemma3:1b")

    trusting = OpenAICompatRuntime(spec, trust_model=True)
    try:
        deltas = await collect(trusting)
        assert trusting.model == "my/local-model" and texts(deltas, TextDelta) == "Hi!"
        (body,) = fake.bodies("/v1/chat/completions")
        assert body["model"] == "my/local-model"
    finally:
        await trusting.close()

    empty = loopback({"GET /v1/models": json_reply({"object": "list", "data": []})})
    runtime = OpenAICompatRuntime(f"openai:{empty.url}/v1#served", trust_model=True)
    try:
        await runtime.load()  # an empty list is no reason to fail either
        assert runtime.model == "served" and runtime.engine == GENERIC
    finally:
        await runtime.close()


# -- max_tokens when the caller gives none ---------------------------------------------------


async def test_generic_server_gets_the_room_left_in_a_known_context(loopback) -> None:
    models = {"object": "list", "data": [{"id": "m", "object": "model", "context_length": 4096}]}
    fake = loopback(openai_routes(models, "generic_think.sse"))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
    try:
        await collect(runtime)  # "Say hello.": 10 characters, one message
        long_prompt = [ChatMessage("user", "word " * 4000)]
        await collect(runtime, messages=long_prompt)
        await collect(runtime, GenerationOptions(max_tokens=100))
        short, long, given = fake.bodies("/v1/chat/completions")
        assert runtime.capabilities.context_length == 4096
        assert short["max_tokens"] == 4096 - (10 // 3 + 8)
        assert long["max_tokens"] == MIN_REPLY_ROOM  # the prompt leaves less: a floor
        assert given["max_tokens"] == 100  # the caller's choice stands
    finally:
        await runtime.close()


async def test_no_max_tokens_without_a_known_context_or_for_llama_cpp_and_vllm(
    loopback,
) -> None:
    # ollama_models.json says nothing of its context; vllm_models.json has max_model_len
    # 40960; llama-server's /props n_ctx 4096.
    unknown = loopback(openai_routes("ollama_models.json", "ollama_reasoning.sse"))
    vllm = loopback(openai_routes("vllm_models.json", "vllm_reasoning.sse"))
    llama = loopback(
        openai_routes(
            "llama_server_models.json",
            "llama_server_reasoning.sse",
            props="llama_server_props.json",
        )
    )
    for fake in (unknown, vllm, llama):
        runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1")
        try:
            await collect(runtime)
        finally:
            await runtime.close()
        (body,) = fake.bodies("/v1/chat/completions")
        assert "max_tokens" not in body, fake.url
