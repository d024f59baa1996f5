"""`ollama:[URL#]NAME[?num_ctx=N]`: a model served by Ollama, through its native API.

Spec grammar:

    ollama:NAME             e.g. ollama:gemma3:4b or ollama:hf.co/unsloth/gemma-3-4b-it-GGUF:Q4_K_M
    ollama:URL#NAME         e.g. ollama:http://gpu-box:11434#gemma3:27b (the scheme may be left out)
    ...?num_ctx=N           run the model with an N-token context window

Without a URL the server is `$OLLAMA_HOST` (read the way the `ollama` CLI reads it: a bare
`host[:port]` gets port 11434, `0.0.0.0` means this machine) or http://127.0.0.1:11434.

Why the native API rather than Ollama's `/v1`: only the native one takes `think` and
`num_ctx`, streams the thinking as its own `message.thinking` field and reports exact token
counts and decode time (`prompt_eval_count`, `eval_count`, `eval_duration`). It streams NDJSON:
one JSON object a line, the last with `done: true` and a `done_reason`.

The context window: Ollama silently drops the start of a prompt longer than `num_ctx`, so we
always send `num_ctx` and report that same number as the context length: the spec's
`?num_ctx=`, else the model's Modelfile `num_ctx`, else its trained length capped at 8192
(Ollama reserves KV-cache memory for the whole window).

Media: images go in the message's `images` list as plain base64 (no `data:` prefix), with
their labels (a video frame's timestamp) as lines before the message text. Ollama's chat
API has no field for audio, so a message with audio raises RuntimeFailure before anything
is sent; the caller can drop the audio (or transcribe it) and try again. Messages without
media are sent exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

from gemma_chat.errors import ModelLoadError, RuntimeFailure, UnknownModelSpec
from gemma_chat.runtimes.base import (
    CancelToken,
    Capabilities,
    ChatMessage,
    Delta,
    Finish,
    FinishReason,
    GenerationOptions,
    RuntimeBase,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from gemma_chat.runtimes.httputil import (
    PROBE_TIMEOUT,
    STREAM_TIMEOUT,
    abandon_task,
    connection_refused,
    dict_or_empty,
    int_or_none,
    json_or_none,
    put_on_cancel,
    read_body,
)
from gemma_chat.runtimes.media_format import b64, label_text, media_kinds, media_of
from gemma_chat.runtimes.meter import UsageMeter
from gemma_chat.runtimes.thinking import ThinkingSplitter

HOST_ENV = "OLLAMA_HOST"
DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_NUM_CTX = 8192
# A pull streams a status line every few hundred ms; a long silence means a stuck download.
PULL_TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=30.0, pool=30.0)
_MODALITIES = (("vision", "image"), ("audio", "audio"))
_EOF = object()  # the response body ended
_CANCELLED = object()  # cancel.cancel() was called


@dataclass(frozen=True, slots=True)
class OllamaSpec:
    base_url: str
    model: str
    num_ctx: int | None = None


@dataclass(frozen=True, slots=True)
class OllamaModel:
    """One entry of `GET /api/tags`."""

    name: str
    size_bytes: int = 0
    family: str = ""
    parameter_size: str = ""
    quantization: str = ""


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One line of `POST /api/pull`: a status, and byte counts while a layer downloads."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.total and self.completed is not None:
            return min(self.completed / self.total, 1.0)
        return None


def normalize_host(raw: str | None) -> str:
    """An `OLLAMA_HOST`-style address as a base URL without a trailing slash."""
    value = (raw or "").strip().rstrip("/")
    if not value:
        return DEFAULT_HOST
    bare = "://" not in value
    try:
        url = httpx.URL(f"http://{value}" if bare else value)
        if bare and url.port is None:  # as the CLI does: only a bare host gets 11434
            url = url.copy_with(port=DEFAULT_PORT)
        if url.host in ("0.0.0.0", "::"):  # a bind address, not one to connect to
            url = url.copy_with(host="127.0.0.1")
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnknownModelSpec(f"{value!r} is not a valid Ollama address: {exc}") from exc
    return str(url).rstrip("/")


def default_base_url() -> str:
    return normalize_host(os.environ.get(HOST_ENV))


def parse_spec(spec: str) -> OllamaSpec:
    body = spec.strip().removeprefix("ollama:")
    body, _, query = body.partition("?")
    url, sep, name = body.rpartition("#")
    if not sep:
        url, name = "", body
    name = name.strip()
    if not name:
        raise UnknownModelSpec(
            "ollama: needs a model name, e.g. ollama:gemma3:4b or "
            "ollama:http://HOST:11434#gemma3:4b"
        )
    num_ctx: int | None = None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "num_ctx":
            raise UnknownModelSpec(f"Unknown ollama: option {key!r}; the one option is num_ctx.")
        num_ctx = int_or_none(value)
        if not num_ctx or num_ctx <= 0:
            raise UnknownModelSpec(f"num_ctx must be a positive whole number, not {value!r}.")
    base = normalize_host(url) if url.strip() else default_base_url()
    return OllamaSpec(base, name, num_ctx)


# -- helpers for the model manager ----------------------------------------------------------


async def list_models(base_url: str | None = None) -> list[OllamaModel]:
    """The models the Ollama server has pulled."""
    base = normalize_host(base_url) if base_url else default_base_url()
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        return await _tags(client, base)


async def pull(
    base_url: str | None,
    name: str,
    on_progress: Callable[[PullProgress], None],
    cancel: CancelToken | None = None,
) -> bool:
    """Have Ollama download `name`, reporting each status line; False when cancelled.

    Ollama keeps the layers it finished, so a cancelled pull resumes where it stopped.
    """
    base = normalize_host(base_url) if base_url else default_base_url()

    async def status_failure(response: httpx.Response) -> RuntimeFailure:
        message = _error_message(await read_body(response))
        return RuntimeFailure(f"Ollama could not pull {name!r}: {message}")

    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        reader = _LineReader(
            client,
            f"{base}/api/pull",
            {"model": name, "stream": True},
            PULL_TIMEOUT,
            status_failure,
            lambda exc: RuntimeFailure(_connection_message(base, exc)),
            cancel or CancelToken(),
        )
        try:
            while True:
                item = await reader.next()
                if item is _CANCELLED:
                    return False
                if item is _EOF:
                    raise RuntimeFailure(
                        f"Ollama at {base} stopped answering while pulling {name!r}; try again."
                    )
                assert isinstance(item, dict)
                if item.get("error"):
                    raise RuntimeFailure(f"Ollama could not pull {name!r}: {item['error']}")
                status = str(item.get("status") or "")
                digest = item.get("digest")
                on_progress(
                    PullProgress(
                        status=status,
                        digest=digest if isinstance(digest, str) else None,
                        total=int_or_none(item.get("total")),
                        completed=int_or_none(item.get("completed")),
                    )
                )
                if status == "success":
                    return True
        finally:
            await reader.close()


# -- the runtime --------------------------------------------------------------------------


class OllamaRuntime(RuntimeBase):
    def __init__(self, spec: str, *, keep_alive: str | None = None) -> None:
        self.spec = spec
        parsed = parse_spec(spec)
        self.base_url = parsed.base_url
        self.model = parsed.model
        self.num_ctx = parsed.num_ctx
        self.keep_alive = keep_alive  # how long Ollama keeps the model loaded, e.g. "30m"
        self.name = f"{self.model} (Ollama at {self.base_url})"
        self.thinking_supported = False
        self._capabilities = Capabilities(context_length=parsed.num_ctx or DEFAULT_NUM_CTX)
        self._client: httpx.AsyncClient | None = None
        self._loaded = False
        self._load_lock = asyncio.Lock()

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def loaded(self) -> bool:
        """Ollama answered and has the model (load() succeeded, not closed since)."""
        return self._loaded

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=PROBE_TIMEOUT)
        return self._client

    async def load(self) -> None:
        """Check the server answers and has the model; learn its context and modalities."""
        async with self._load_lock:
            if self._loaded:
                return
            client = self._http()
            try:
                response = await client.get(f"{self.base_url}/api/version")
            except httpx.HTTPError as exc:
                raise ModelLoadError(_connection_message(self.base_url, exc)) from exc
            if response.status_code != 200 or json_or_none(response.text) is None:
                raise ModelLoadError(
                    f"{self.base_url} answered HTTP {response.status_code} to /api/version; "
                    "is it an Ollama server?"
                )
            try:
                response = await client.post(
                    f"{self.base_url}/api/show", json={"model": self.model}
                )
            except httpx.HTTPError as exc:
                raise ModelLoadError(_connection_message(self.base_url, exc)) from exc
            if response.status_code == 404:
                raise ModelLoadError(await self._unknown_model_message())
            if response.status_code != 200:
                message = _error_message(response.content)
                raise ModelLoadError(
                    f"Ollama at {self.base_url} answered HTTP {response.status_code} about "
                    f"{self.model!r}: {message}"
                )
            self._learn(json_or_none(response.text) or {})
            self._loaded = True

    def _learn(self, show: dict[str, Any]) -> None:
        """Read capabilities from `/api/show`: its `capabilities` list, model_info, parameters."""
        listed = show.get("capabilities")
        found = {str(c) for c in listed} if isinstance(listed, list) else set()
        if found and "completion" not in found:
            raise ModelLoadError(
                f"{self.model!r} cannot chat (Ollama lists it as: {', '.join(sorted(found))}); "
                "choose a chat model."
            )
        self.thinking_supported = "thinking" in found
        modalities = ["text", *(ours for theirs, ours in _MODALITIES if theirs in found)]
        info = dict_or_empty(show.get("model_info"))
        lengths = (int_or_none(v) for k, v in info.items() if k.endswith(".context_length"))
        trained = next((n for n in lengths if n), None)
        context = (
            self.num_ctx
            or _modelfile_num_ctx(show.get("parameters"))
            or min(trained or DEFAULT_NUM_CTX, DEFAULT_NUM_CTX)
        )
        self._capabilities = Capabilities(
            context_length=context,
            modalities=tuple(modalities),
            thinking=self.thinking_supported,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        self._loaded = False
        if client is not None:
            await client.aclose()

    # -- requests ------------------------------------------------------------------------

    def request_body(
        self, messages: list[ChatMessage], options: GenerationOptions
    ) -> dict[str, Any]:
        if "audio" in media_kinds(messages):
            raise RuntimeFailure(
                f"{self.model} on Ollama cannot hear this audio: Ollama's API does not take "
                "audio; send the message without it (or with a transcript), or use a "
                "runtime that does (llama.cpp with a projector, llama-server, vLLM, MLX)."
            )
        model_options: dict[str, Any] = {"num_ctx": self._capabilities.context_length}
        for ours, theirs in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("top_k", "top_k"),
            ("seed", "seed"),
            ("max_tokens", "num_predict"),
        ):
            value = getattr(options, ours)
            if value is not None:
                model_options[theirs] = value
        if options.stop:
            model_options["stop"] = list(options.stop)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [_message_json(m) for m in messages],
            "stream": True,
            "options": model_options,
        }
        # Ollama refuses `think` for a model without the thinking capability.
        if options.thinking is not None and self.thinking_supported:
            body["think"] = options.thinking
        if self.keep_alive:
            body["keep_alive"] = self.keep_alive
        return body

    async def stream(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        await self.load()
        body = self.request_body(messages, options)
        meter = UsageMeter()
        reader = _LineReader(
            self._http(),
            f"{self.base_url}/api/chat",
            body,
            STREAM_TIMEOUT,
            self._chat_status_failure,
            lambda exc: RuntimeFailure(_connection_message(self.base_url, exc)),
            cancel,
        )
        # An estimate, replaced by Ollama's own count in the last line.
        meter.usage.prompt_tokens = sum(len(m.content) for m in messages) // 4
        splitter = ThinkingSplitter()
        reason: FinishReason | None = None
        server_speed = False
        try:
            while reason is None:
                if cancel.cancelled:
                    reason = "cancelled"
                    break
                item = await reader.next()
                if item is _CANCELLED:
                    reason = "cancelled"
                    break
                if item is _EOF:
                    raise RuntimeFailure(f"Ollama at {self.base_url} closed the stream mid-reply.")
                assert isinstance(item, dict)
                if item.get("error"):
                    raise RuntimeFailure(
                        f"Ollama at {self.base_url} failed mid-reply: {item['error']}"
                    )
                message = item.get("message")
                deltas = _message_deltas(message, splitter) if isinstance(message, dict) else []
                for delta in deltas:
                    yield delta
                if _has_text(message):
                    meter.token()  # Ollama streams one token a line
                    if live := meter.live():
                        yield live
                if item.get("done"):
                    reason = "length" if item.get("done_reason") == "length" else "stop"
                    server_speed = _apply_final_counts(item, meter.usage)
        finally:
            await reader.close()
        for delta in splitter.flush():
            yield delta
        yield Finish(reason or "stop", meter.finish(engine_rate=server_speed))

    async def _chat_status_failure(self, response: httpx.Response) -> RuntimeFailure:
        content = await read_body(response)
        message = _error_message(content)
        lowered = message.lower()
        if response.status_code == 404 or ("not found" in lowered and "model" in lowered):
            return RuntimeFailure(await self._unknown_model_message())
        return RuntimeFailure(
            f"Ollama at {self.base_url} answered HTTP {response.status_code}: {message}"
        )

    async def _unknown_model_message(self) -> str:
        message = (
            f"Ollama at {self.base_url} has no model {self.model!r} — "
            f"run `ollama pull {self.model}` first."
        )
        with contextlib.suppress(RuntimeFailure):
            names = [m.name for m in await _tags(self._http(), self.base_url)]
            message += f" Installed: {', '.join(names) or 'none'}."
        return message


# -- streaming NDJSON -----------------------------------------------------------------------


class _LineReader:
    """Send one streaming request in its own task and queue each NDJSON object.

    The separate task is what lets a cancel end the wait at once: `close()` cancels the
    task, which closes the response, whatever the server is doing.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        body: dict[str, Any],
        timeout: httpx.Timeout,
        status_failure: Callable[[httpx.Response], Awaitable[RuntimeFailure]],
        connection_failure: Callable[[httpx.HTTPError], RuntimeFailure],
        cancel: CancelToken,
    ) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._status_failure = status_failure
        self._connection_failure = connection_failure
        self._task = asyncio.create_task(self._read(client, url, body, timeout))
        put_on_cancel(cancel, self._queue, _CANCELLED)

    async def next(self) -> Any:
        """The next JSON object, or _EOF, or _CANCELLED; raises what the reader hit."""
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        await abandon_task(self._task)  # closes the response; a stop never waits on the server

    async def _read(
        self, client: httpx.AsyncClient, url: str, body: dict[str, Any], limits: httpx.Timeout
    ) -> None:
        try:
            async with client.stream("POST", url, json=body, timeout=limits) as response:
                if response.status_code != 200:
                    raise await self._status_failure(response)
                async for line in response.aiter_lines():
                    data = json_or_none(line) if line.strip() else None
                    if data is not None:
                        self._queue.put_nowait(data)
            self._queue.put_nowait(_EOF)
        except RuntimeFailure as exc:
            self._queue.put_nowait(exc)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            self._queue.put_nowait(_EOF)  # cut off: the caller decides whether that was whole
        except httpx.HTTPError as exc:
            failure = self._connection_failure(exc)
            failure.__cause__ = exc  # `from exc`: next() raises it in the reading task
            self._queue.put_nowait(failure)


# -- small pieces ---------------------------------------------------------------------------


def _message_json(message: ChatMessage) -> dict[str, Any]:
    """A message as /api/chat takes it; images (no audio: see the module docstring) as
    base64 in `images`, their labels as lines before the text."""
    images = [part for part in media_of(message) if part.kind == "image"]
    if not images:
        return {"role": message.role, "content": message.content}
    labels = [label for label in (label_text(part) for part in images) if label]
    content = "\n".join([*labels, message.content]) if labels else message.content
    return {"role": message.role, "content": content, "images": [b64(p.data) for p in images]}


async def _tags(client: httpx.AsyncClient, base: str) -> list[OllamaModel]:
    try:
        response = await client.get(f"{base}/api/tags")
    except httpx.HTTPError as exc:
        raise RuntimeFailure(_connection_message(base, exc)) from exc
    data = json_or_none(response.text) if response.status_code == 200 else None
    if data is None or not isinstance(data.get("models"), list):
        raise RuntimeFailure(
            f"{base} answered HTTP {response.status_code} to /api/tags; is it an Ollama server?"
        )
    models = []
    for item in data["models"]:
        if not isinstance(item, dict) or not (item.get("name") or item.get("model")):
            continue
        details = dict_or_empty(item.get("details"))
        models.append(
            OllamaModel(
                name=str(item.get("name") or item.get("model")),
                size_bytes=int_or_none(item.get("size")) or 0,
                family=str(details.get("family") or ""),
                parameter_size=str(details.get("parameter_size") or ""),
                quantization=str(details.get("quantization_level") or ""),
            )
        )
    return models


def _message_deltas(message: dict[str, Any], splitter: ThinkingSplitter) -> list[Delta]:
    out: list[Delta] = []
    thinking = message.get("thinking")
    if isinstance(thinking, str) and thinking:
        out.append(ThinkingDelta(thinking))
    content = message.get("content")
    if isinstance(content, str) and content:
        out.extend(splitter.feed(content))  # for models whose think tags Ollama leaves inline
    return [d for d in out if not isinstance(d, TextDelta | ThinkingDelta) or d.text]


def _has_text(message: Any) -> bool:
    return isinstance(message, dict) and any(
        isinstance(message.get(k), str) and message[k] for k in ("content", "thinking")
    )


def _apply_final_counts(chunk: dict[str, Any], usage: Usage) -> bool:
    """Copy the last line's counts into usage; says whether it gave the decode speed."""
    prompt = int_or_none(chunk.get("prompt_eval_count"))
    if prompt is not None:
        usage.prompt_tokens = prompt
    count = int_or_none(chunk.get("eval_count"))
    if count is not None:
        usage.completion_tokens = count
    duration_ns = int_or_none(chunk.get("eval_duration"))
    if count and duration_ns and duration_ns > 0:
        usage.tokens_per_s = count / (duration_ns / 1e9)
        return True
    return False


def _modelfile_num_ctx(parameters: Any) -> int | None:
    """`num_ctx` from `/api/show`'s `parameters` text (`name value` lines)."""
    if not isinstance(parameters, str):
        return None
    for line in parameters.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "num_ctx":
            return int_or_none(parts[1])
    return None


def _connection_message(base: str, exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        if connection_refused(exc):
            return f"Ollama is not running at {base} — start it with `ollama serve`."
        return (
            f"Cannot reach Ollama at {base}: {exc or 'connection failed'}. Is the address "
            f"right? (set {HOST_ENV} or use ollama:http://HOST:11434#NAME)"
        )
    if isinstance(exc, httpx.TimeoutException):
        return f"Ollama at {base} did not answer in time."
    return f"Cannot talk to Ollama at {base}: {exc or type(exc).__name__}."


def _error_message(content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    data = json_or_none(text) or {}
    error = data.get("error")
    return str(error).strip() if error else text.strip()[:300] or "no details"
