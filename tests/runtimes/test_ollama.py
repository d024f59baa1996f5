"""`ollama:NAME` against a loopback server replaying hand-written Ollama native-API shapes."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gemma_chat.errors import RuntimeFailure, UnknownModelSpec
from gemma_chat.runtimes.base import (
    CancelToken,
    Finish,
    GenerationOptions,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from gemma_chat.runtimes.ollama import (
    DEFAULT_HOST,
    OllamaRuntime,
    PullProgress,
    list_models,
    normalize_host,
    parse_spec,
    pull,
)
from tests.runtimes.fixtures.helpers import (
    collect,
    collect_cancelled_after,
    load_error,
    stream_error,
    texts,
)
from tests.runtimes.fixtures.loopback import Reply, free_port, json_reply, ndjson, ollama_routes

# -- spec grammar ---------------------------------------------------------------------------


def test_spec_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert parse_spec("ollama:gemma3:4b").base_url == DEFAULT_HOST
    assert parse_spec("ollama:gemma3:4b").model == "gemma3:4b"
    spec = parse_spec("ollama:http://gpu-box:11434/#hf.co/unsloth/gemma-3-4b-it-GGUF:Q4_K_M")
    assert spec.base_url == "http://gpu-box:11434"
    assert spec.model == "hf.co/unsloth/gemma-3-4b-it-GGUF:Q4_K_M"
    assert parse_spec("ollama:gpu-box#gemma3?num_ctx=32768") == parse_spec(
        "ollama:http://gpu-box:11434#gemma3?num_ctx=32768"
    )
    assert parse_spec("ollama:gemma3?num_ctx=32768").num_ctx == 32768
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    assert parse_spec("ollama:gemma3").base_url == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.example.com/")
    assert parse_spec("ollama:gemma3").base_url == "https://ollama.example.com"
    assert normalize_host("10.0.0.5:8080") == "http://10.0.0.5:8080"
    assert normalize_host("") == DEFAULT_HOST
    for bad in ("ollama:", "ollama:http://h:1#", "ollama:x?num_ctx=big", "ollama:x?ctx=1"):
        with pytest.raises(UnknownModelSpec):
            parse_spec(bad)


# -- loading ------------------------------------------------------------------------------


async def test_load_reads_context_modalities_and_thinking(loopback) -> None:
    fake = loopback(ollama_routes("ollama_show_gemma3.json"))
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b")
    try:
        await runtime.load()
        caps = runtime.capabilities
        assert caps.context_length == 8192  # trained 131072, capped: Ollama reserves it all
        assert caps.modalities == ("text", "image") and caps.grammar is False
        assert runtime.thinking_supported is False
        assert fake.bodies("/api/show") == [{"model": "gemma3:4b"}]
    finally:
        await runtime.close()
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b?num_ctx=32768")
    try:
        await runtime.load()
        assert runtime.capabilities.context_length == 32768
    finally:
        await runtime.close()


async def test_modelfile_num_ctx_wins_over_the_cap(loopback) -> None:
    show = {
        "parameters": 'num_ctx                        16384\nstop "<end_of_turn>"',
        "model_info": {"gemma3.context_length": 131072},
        "capabilities": ["completion", "vision", "audio", "thinking"],
    }
    fake = loopback(ollama_routes(show))
    runtime = OllamaRuntime(f"ollama:{fake.url}#my-gemma")
    try:
        await runtime.load()
        assert runtime.capabilities.context_length == 16384
        assert runtime.capabilities.modalities == ("text", "image", "audio")
        assert runtime.thinking_supported
    finally:
        await runtime.close()


async def test_not_running() -> None:
    runtime = OllamaRuntime(f"ollama:http://127.0.0.1:{free_port()}#gemma3:4b")
    await load_error(runtime, r"Ollama is not running at .* `ollama serve`")


async def test_not_an_ollama_server(loopback) -> None:
    fake = loopback({})
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b")
    await load_error(runtime, r"HTTP 404 to /api/version; is it an Ollama")


async def test_unknown_model_says_pull_and_lists_installed(loopback) -> None:
    missing = json_reply({"error": "model 'gemma4:e4b' not found"}, status=404)
    fake = loopback(ollama_routes(missing))
    message = await load_error(OllamaRuntime(f"ollama:{fake.url}#gemma4:e4b"))
    assert "run `ollama pull gemma4:e4b`" in message
    assert "Installed: qwen3:0.6b, gemma3:4b" in message


async def test_embedding_model_refused(loopback) -> None:
    show = {"model_info": {"bert.context_length": 2048}, "capabilities": ["embedding"]}
    fake = loopback(ollama_routes(show))
    await load_error(OllamaRuntime(f"ollama:{fake.url}#nomic-embed-text"), "cannot chat")


# -- streaming ----------------------------------------------------------------------------


async def test_thinking_text_usage_and_request_body(loopback) -> None:
    fake = loopback(ollama_routes())
    runtime = OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b", keep_alive="30m")
    try:
        options = GenerationOptions(
            max_tokens=64, temperature=0.6, top_p=0.95, top_k=20, seed=7, stop=["END"]
        )
        options.thinking = True
        deltas = await collect(runtime, options)
        assert texts(deltas, ThinkingDelta) == "Okay, the user greets me."
        assert texts(deltas, TextDelta) == "Hello there!"
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "stop"
        assert sum(isinstance(d, Finish) for d in deltas) == 1
        usage = finish.usage
        assert (usage.prompt_tokens, usage.completion_tokens) == (14, 9)
        assert usage.tokens_per_s == pytest.approx(50.0)  # 9 tokens in 0.18 s of eval
        assert usage.ttft_ms is not None
        (body,) = fake.bodies("/api/chat")
        assert body == {
            "model": "qwen3:0.6b",
            "messages": [{"role": "user", "content": "Say hello."}],
            "stream": True,
            "options": {
                "num_ctx": 8192,
                "temperature": 0.6,
                "top_p": 0.95,
                "top_k": 20,
                "seed": 7,
                "num_predict": 64,
                "stop": ["END"],
            },
            "think": True,
            "keep_alive": "30m",
        }
    finally:
        await runtime.close()


async def test_think_only_sent_to_thinking_models(loopback) -> None:
    fake = loopback(ollama_routes("ollama_show_gemma3.json"))
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b")
    try:
        await collect(runtime, GenerationOptions(thinking=True))
        await collect(runtime, GenerationOptions())
        assert all("think" not in body for body in fake.bodies("/api/chat"))
    finally:
        await runtime.close()
    fake = loopback(ollama_routes())
    runtime = OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b")
    try:
        await collect(runtime, GenerationOptions(thinking=False))
        await collect(runtime, GenerationOptions())
        first, second = fake.bodies("/api/chat")
        assert first["think"] is False and "think" not in second
    finally:
        await runtime.close()


async def test_inline_think_tags_and_length(loopback) -> None:
    chat = ndjson("ollama_chat_inline_think.ndjson")
    fake = loopback(ollama_routes(chat=chat))
    runtime = OllamaRuntime(f"ollama:{fake.url}#deepseek-r1:1.5b")
    try:
        deltas = await collect(runtime, GenerationOptions(max_tokens=6))
        assert texts(deltas, ThinkingDelta) == "Plan it.\n"
        assert texts(deltas, TextDelta) == "Sure,"
        assert all("<" not in d.text for d in deltas if isinstance(d, TextDelta))
        finish = deltas[-1]
        assert isinstance(finish, Finish) and finish.reason == "length"
        assert finish.usage.completion_tokens == 6
    finally:
        await runtime.close()


async def test_live_usage_while_streaming(loopback) -> None:
    fake = loopback(ollama_routes(chat=ndjson("ollama_chat_thinking.ndjson", pause_s=0.12)))
    runtime = OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b")
    try:
        deltas = await collect(runtime)
        live = [d for d in deltas if isinstance(d, Usage)]
        assert live and live[0].completion_tokens >= 1
    finally:
        await runtime.close()


async def test_error_object_mid_stream(loopback) -> None:
    lines = [
        {"model": "qwen3:0.6b", "message": {"role": "assistant", "content": "Hel"}, "done": False},
        {"error": "an error was encountered while running the model: unexpected EOF"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    chat = Reply(body=body, content_type="application/x-ndjson")
    fake = loopback(ollama_routes(chat=chat))
    runtime = OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b")
    seen = await stream_error(runtime, "failed mid-reply: an error was encountered")
    assert texts(seen, TextDelta) == "Hel"


@pytest.mark.parametrize(
    ("chat", "message"),
    [
        pytest.param(
            ndjson("ollama_chat_thinking.ndjson", cut_after=4),
            "closed the stream mid-reply",
            id="server-closing-mid-stream",
        ),
        pytest.param(
            json_reply({"error": "model 'qwen3:0.6b' not found"}, status=404),
            r"run `ollama pull qwen3:0.6b`",
            id="model-removed-after-load",
        ),
        pytest.param(
            json_reply({"error": "registry.ollama.ai/library/x does not support thinking"}, 400),
            r"HTTP 400: .*does not support thinking",
            id="other-http-error",
        ),
    ],
)
async def test_chat_failures(loopback, chat: Reply, message: str) -> None:
    fake = loopback(ollama_routes(chat=chat))
    await stream_error(OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b"), message)


async def test_cancel_closes_the_stream_within_100ms(loopback) -> None:
    chat = ndjson("ollama_chat_thinking.ndjson", pause_s=0.6)
    fake = loopback(ollama_routes(chat=chat))
    runtime = OllamaRuntime(f"ollama:{fake.url}#qwen3:0.6b")
    try:
        deltas = await collect_cancelled_after(runtime, 0.25)
        assert texts(deltas, ThinkingDelta) == "Okay"  # the first line, then the long pause
        assert await asyncio.to_thread(fake.closed_early.wait, 5)  # the server saw it hang up
    finally:
        await runtime.close()


# -- model management helpers ---------------------------------------------------------------


async def test_list_models(loopback) -> None:
    fake = loopback(ollama_routes())
    models = await list_models(fake.url)
    assert [m.name for m in models] == ["qwen3:0.6b", "gemma3:4b"]
    assert models[1].size_bytes == 3338801804 and models[1].parameter_size == "4.3B"
    assert models[0].quantization == "Q4_K_M" and models[0].family == "qwen3"


async def test_pull_reports_progress(loopback) -> None:
    fake = loopback({"POST /api/pull": ndjson("ollama_pull.ndjson")})
    seen: list[PullProgress] = []
    assert await pull(fake.url, "gemma3:4b", seen.append) is True
    assert fake.bodies("/api/pull") == [{"model": "gemma3:4b", "stream": True}]
    assert seen[0].status == "pulling manifest"
    assert seen[-1].status == "success"
    layer = [p for p in seen if p.digest and p.digest.startswith("sha256:aeda")]
    assert [p.fraction for p in layer] == [None, pytest.approx(1073741824 / 3338787040), 1.0]
    assert layer[0].total == 3338787040


async def test_pull_error_and_unknown_name(loopback) -> None:
    error = {"error": "pull model manifest: file does not exist"}
    fake = loopback({"POST /api/pull": json_reply(error, status=500)})
    with pytest.raises(RuntimeFailure, match=r"could not pull 'nope:1b': pull model manifest"):
        await pull(fake.url, "nope:1b", lambda _: None)
    line = Reply(body=json.dumps(error).encode() + b"\n", content_type="application/x-ndjson")
    fake = loopback({"POST /api/pull": line})
    with pytest.raises(RuntimeFailure, match="file does not exist"):
        await pull(fake.url, "nope:1b", lambda _: None)


async def test_pull_cancel_and_not_running(loopback) -> None:
    fake = loopback({"POST /api/pull": ndjson("ollama_pull.ndjson", pause_s=2.0)})
    cancel = CancelToken()
    seen: list[PullProgress] = []

    def progress(item: PullProgress) -> None:
        seen.append(item)
        cancel.cancel()

    started = time.perf_counter()
    assert await pull(fake.url, "gemma3:4b", progress, cancel) is False
    assert time.perf_counter() - started < 1.0 and len(seen) == 1
    with pytest.raises(RuntimeFailure, match="Ollama is not running"):
        await pull(f"http://127.0.0.1:{free_port()}", "gemma3:4b", lambda _: None)


def test_ollama_pull_reports_our_progress_shape(loopback) -> None:
    import threading

    from gemma_chat.errors import DownloadCancelled
    from gemma_chat.models.ollama_pull import pull_through_ollama

    fake = loopback({"POST /api/pull": ndjson("ollama_pull.ndjson")})
    seen: list[dict] = []
    pull_through_ollama(f"ollama:{fake.url}#gemma3:4b", lambda p: seen.append(p.as_dict()))
    assert seen[0]["phase"] == "checking" and seen[-1]["phase"] == "done"
    downloading = [p for p in seen if p["phase"] == "downloading"]
    assert downloading and downloading[-1]["total"] >= 3338787040
    counts = [p["downloaded"] for p in seen]
    assert counts == sorted(counts)  # never goes backwards across layers

    slow = loopback({"POST /api/pull": ndjson("ollama_pull.ndjson", pause_s=2.0)})
    cancel = threading.Event()
    started = time.perf_counter()
    with pytest.raises(DownloadCancelled, match="keeps the layers"):
        pull_through_ollama(f"ollama:{slow.url}#gemma3:4b", lambda _: cancel.set(), cancel)
    assert time.perf_counter() - started < 1.5
