"""`openai:URL[#MODEL]`: any OpenAI-compatible chat-completions server.

Works with llama.cpp's llama-server, llama-cpp-python's `llama_cpp.server`, mlx_lm.server,
Ollama's `/v1`, LM Studio, vLLM and SGLang. We speak plain HTTP through httpx (no SDK):
`GET /v1/models` to find the model, `POST /v1/chat/completions` with `stream: true` read as
Server-Sent Events.

Engine-specific request fields (`cache_prompt`, `grammar`, `top_k`, `chat_template_kwargs`)
go only to engines known to accept them (see `detect_engine`); every other server gets the
standard OpenAI fields alone, since some reject unknown fields.

When the caller sets no `max_tokens`, llama.cpp and vLLM servers get none (they reply until
the context is full); other servers get the room the prompt leaves in the context when they
report its length, since their own default may be a few hundred tokens (mlx_lm.server).

Media (`ChatMessage.media`, user turns only) goes as OpenAI content parts, media first and
the message text last, each labelled part preceded by a short text part naming it (a
video frame's timestamp): images as `image_url` with a `data:` URI; audio as `input_audio
{data, format}` (llama-server, LM Studio, mlx_vlm.server, generic servers) or, for vLLM, as
`audio_url` with a `data:audio/wav;base64,…` URI (the form vLLM's multimodal docs show).
mlx_vlm.server keeps only the last text part of a message, so it gets the labels folded
into that one text part. A message without media keeps its plain string `content`, so a
text-only request is byte for byte what it was (servers' prompt caches depend on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
from gemma_chat.runtimes.media_format import (
    audio_format,
    b64,
    data_uri,
    label_text,
    media_of,
)
from gemma_chat.runtimes.meter import UsageMeter
from gemma_chat.runtimes.system_role import (
    fold_system_prompt,
    has_system_prompt,
    rejects_system_role,
)
from gemma_chat.runtimes.thinking import ThinkingSplitter

API_KEY_ENV = "GEMMA_CHAT_OPENAI_API_KEY"
API_KEY_FALLBACK_ENV = "OPENAI_API_KEY"
DEFAULT_CONTEXT = 8192
# Without max_tokens some servers stop after a few hundred tokens (mlx_lm.server: 512), so
# we send the room the prompt leaves in the context, estimated high, and never less than this.
MIN_REPLY_ROOM = 256
CHARS_PER_TOKEN_ESTIMATE = 3  # low on purpose: the prompt estimate must not under-count
MESSAGE_OVERHEAD_ESTIMATE = 8  # role markers and separators per message
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
_CONTEXT_WORDS = re.compile(
    r"context|too long|maximum.{0,20}length|exceed|n_ctx|too many tokens", re.IGNORECASE
)
_EOF = object()  # the response body ended
_DONE = object()  # the server sent `data: [DONE]`
_CANCELLED = object()  # cancel.cancel() was called


@dataclass(frozen=True, slots=True)
class Engine:
    """What kind of server answers, and which non-standard request fields it accepts."""

    name: str
    extras: frozenset[str] = frozenset()

    @property
    def llama_cpp(self) -> bool:
        return self.name in ("llama-server", "llama_cpp.server")

    @property
    def replies_fill_context(self) -> bool:
        """Whether a request without max_tokens may run until the context is full; other
        servers may apply a short default of their own (mlx_lm.server: 512 tokens)."""
        return self.llama_cpp or self.name == "vllm"

    @property
    def audio_part(self) -> str:
        """The content part audio goes in: vLLM documents `audio_url` with a data URI;
        llama-server, LM Studio, mlx_vlm.server and OpenAI itself take `input_audio`."""
        return "audio_url" if self.name == "vllm" else "input_audio"

    @property
    def one_text_part(self) -> bool:
        """mlx_vlm.server reads only the last text part of a message (it places media by
        its own template), so labels must share the message text's part."""
        return self.name == "mlx_vlm.server"


LLAMA_SERVER = Engine(
    "llama-server", frozenset({"cache_prompt", "grammar", "top_k", "chat_template_kwargs"})
)
LLAMA_CPP_PYTHON = Engine("llama_cpp.server", frozenset({"grammar", "top_k"}))
VLLM = Engine("vllm", frozenset({"top_k", "chat_template_kwargs"}))
GENERIC = Engine("generic")


def detect_engine(owned_by: str | None, props: dict[str, Any] | None) -> Engine:
    """Pick the engine from what the server told us.

    | evidence                                              | engine           | extras sent                                          |
    |-------------------------------------------------------|------------------|------------------------------------------------------|
    | `GET /props` answers a JSON object                    | llama-server     | cache_prompt, grammar, top_k, chat_template_kwargs   |
    | `/v1/models` `owned_by` == "llamacpp"                 | llama-server     | (same)                                               |
    | `/v1/models` `owned_by` == "me" (no `/props`)         | llama_cpp.server | grammar, top_k (its request model has both fields)   |
    | `/v1/models` `owned_by` == "vllm"                     | vllm             | top_k, chat_template_kwargs                          |
    | anything else (Ollama, LM Studio, mlx_lm, SGLang, …)  | generic          | none: model, messages, stream, temperature, top_p,   |
    |                                                       |                  | max_tokens, seed, stop only                          |
    """  # noqa: E501
    if isinstance(props, dict) or owned_by == "llamacpp":
        return LLAMA_SERVER
    if owned_by == "me":
        return LLAMA_CPP_PYTHON
    if owned_by == "vllm":
        return VLLM
    return GENERIC


def parse_spec(spec: str) -> tuple[str, str | None]:
    """`openai:URL[#MODEL]` → (base URL ending in /v1, model id or None)."""
    body = spec.strip().removeprefix("openai:")
    url, _, model = body.partition("#")
    url = url.strip().rstrip("/")
    if not url:
        raise UnknownModelSpec(
            "openai: needs a server URL, e.g. openai:http://127.0.0.1:8080/v1#MODEL"
        )
    if "://" not in url:
        url = "http://" + url
    if not url.endswith("/v1"):
        url += "/v1"
    return url, model.strip() or None


def api_key_from_env() -> str | None:
    return os.environ.get(API_KEY_ENV) or os.environ.get(API_KEY_FALLBACK_ENV) or None


class OpenAICompatRuntime(RuntimeBase):
    """`openai:URL[#MODEL]`.

    `engine`: use this engine rather than detect one (for servers that do not identify
    themselves, such as the MLX servers we start). `trust_model`: when `/v1/models` does not
    list the spec's `#MODEL`, use it anyway rather than fail load() (mlx_lm.server lists only
    Hugging Face cache entries with a sharded-weights index, not always the model it serves).
    """

    def __init__(
        self,
        spec: str,
        *,
        api_key: str | None = None,
        chat_template_kwargs: dict[str, Any] | None = None,
        engine: Engine | None = None,
        trust_model: bool = False,
    ) -> None:
        self.spec = spec
        self.base_url, self.requested_model = parse_spec(spec)
        self.root_url = self.base_url.removesuffix("/v1")
        self.model: str | None = self.requested_model
        self.name = f"{self.requested_model or 'OpenAI-compatible'} ({self.root_url})"
        self.chat_template_kwargs = chat_template_kwargs
        self._fold_system = False  # set once the server's template refused a system turn
        self._given_engine = engine
        self.trust_model = trust_model
        self.engine = engine or GENERIC
        self._api_key = api_key if api_key is not None else api_key_from_env()
        self._client: httpx.AsyncClient | None = None
        self._capabilities = Capabilities(context_length=DEFAULT_CONTEXT)
        self._context_known = False  # whether the server told us its context length
        self._model_ids: list[str] = []
        self._loaded = False
        self._load_lock = asyncio.Lock()

    # -- setup -------------------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def loaded(self) -> bool:
        """The server answered and has the model (load() succeeded, not closed since)."""
        return self._loaded

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._client = httpx.AsyncClient(headers=headers, timeout=PROBE_TIMEOUT)
        return self._client

    async def load(self) -> None:
        """Check the server answers and has the model; learn its engine and context."""
        async with self._load_lock:
            if self._loaded:
                return
            try:
                models = await self._list_models()
            except RuntimeFailure as exc:
                raise ModelLoadError(str(exc)) from exc
            self._model_ids = [str(m.get("id")) for m in models if m.get("id")]
            wanted = self.requested_model
            if self.trust_model and wanted is not None and wanted not in self._model_ids:
                models.append({"id": wanted, "object": "model"})
                self._model_ids.append(wanted)
            if not self._model_ids:
                raise ModelLoadError(
                    f"The OpenAI-compatible server at {self.base_url} lists no models."
                )
            if wanted is None:
                self.model = self._model_ids[0]
            elif wanted not in self._model_ids:
                raise ModelLoadError(self._unknown_model_message(wanted))
            entry = next(m for m in models if str(m.get("id")) == self.model)
            props = await self._props()
            owned_by = entry.get("owned_by")
            self.engine = self._given_engine or detect_engine(
                owned_by if isinstance(owned_by, str) else None, props
            )
            context = _served_context(entry, props)
            self._context_known = context is not None
            self._capabilities = _capabilities(context, props, grammar=self.engine.llama_cpp)
            self.name = f"{self.model} ({self.engine.name} at {self.root_url})"
            self._loaded = True

    async def _list_models(self) -> list[dict[str, Any]]:
        url = f"{self.base_url}/models"
        try:
            response = await self._http().get(url)
        except httpx.HTTPError as exc:
            raise RuntimeFailure(self._connection_message(exc)) from exc
        if response.status_code == 404:
            raise RuntimeFailure(
                f"{url} was not found (HTTP 404); is {self.base_url} the base URL of an "
                "OpenAI-compatible API (usually ending in /v1)?"
            )
        if response.status_code != 200:
            raise self._status_failure(response.status_code, response.content)
        try:
            data = response.json()
        except ValueError as exc:
            raise RuntimeFailure(
                f"{url} did not answer with JSON; is {self.base_url} an OpenAI-compatible API?"
            ) from exc
        items = data.get("data") if isinstance(data, dict) else None
        if items is None and isinstance(data, dict):
            items = data.get("models")  # some servers use this key
        if not isinstance(items, list):
            raise RuntimeFailure(f"{url} answered without a model list.")
        return [item for item in items if isinstance(item, dict)]

    async def _props(self) -> dict[str, Any] | None:
        """llama-server's `/props`; None from anything else."""
        try:
            response = await self._http().get(f"{self.root_url}/props")
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        if isinstance(data, dict) and "default_generation_settings" in data:
            return data
        return None

    async def close(self) -> None:
        client, self._client = self._client, None
        self._loaded = False
        if client is not None:
            await client.aclose()

    # -- requests ------------------------------------------------------------------------

    def request_body(
        self, messages: list[ChatMessage], options: GenerationOptions
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [message_json(m, self.engine) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            value = getattr(options, key)
            if value is not None:
                body[key] = value
        # Without max_tokens a server's own default may cut the reply short.
        fill = not self.engine.replies_fill_context and self._context_known
        if options.max_tokens is None and fill:
            body["max_tokens"] = reply_room(self._capabilities.context_length, messages)
        if options.stop:
            body["stop"] = list(options.stop)
        extras = self.engine.extras
        if "cache_prompt" in extras:
            body["cache_prompt"] = True
        if "grammar" in extras and options.grammar:
            body["grammar"] = options.grammar
        if "top_k" in extras and options.top_k is not None:
            body["top_k"] = options.top_k
        template_kwargs = dict(self.chat_template_kwargs or {})
        if options.thinking is not None:
            template_kwargs["enable_thinking"] = options.thinking
        if "chat_template_kwargs" in extras and template_kwargs:
            body["chat_template_kwargs"] = dict(template_kwargs)
        return body

    async def stream(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        """One reply; a server whose template refuses the system role gets it folded."""
        if self._fold_system:
            messages = fold_system_prompt(messages)
        produced = False
        try:
            async for delta in self._stream_once(messages, options, cancel):
                produced = True
                yield delta
        except RuntimeFailure as exc:
            if produced or self._fold_system or not has_system_prompt(messages):
                raise
            if not rejects_system_role(str(exc)):
                raise
            self._fold_system = True
            folded = fold_system_prompt(messages)
            async for delta in self._stream_once(folded, options, cancel):
                yield delta

    async def _stream_once(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        await self.load()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        body = self.request_body(messages, options)
        meter = UsageMeter()
        reader = asyncio.create_task(self._read_events(body, queue))
        put_on_cancel(cancel, queue, _CANCELLED)
        # Estimates, replaced by the server's own counts when it sends them.
        meter.usage.prompt_tokens = sum(len(m.content) for m in messages) // 4
        splitter = ThinkingSplitter()
        reason: FinishReason | None = None
        server_usage = server_speed = False
        try:
            while True:
                if cancel.cancelled:
                    reason = "cancelled"
                    break
                item = await queue.get()
                if item is _CANCELLED:
                    reason = "cancelled"
                    break
                if isinstance(item, BaseException):
                    raise item
                if item is _DONE or item is _EOF:
                    if reason is None and item is _EOF:
                        raise RuntimeFailure(
                            f"The OpenAI-compatible server at {self.root_url} closed the "
                            "stream mid-reply."
                        )
                    break
                chunk = json_or_none(item)
                if chunk is None:
                    continue
                if isinstance(chunk.get("error"), (dict, str)):
                    raise RuntimeFailure(
                        f"The OpenAI-compatible server at {self.root_url} failed mid-reply: "
                        f"{_error_text(chunk)}"
                    )
                counts, speed = _apply_usage(chunk, meter.usage)
                server_usage = server_usage or counts
                server_speed = server_speed or speed
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict):
                        continue
                    delta = choice.get("delta") or {}
                    for out in _choice_deltas(delta, splitter):
                        yield out
                    if _has_text(delta):
                        # Best effort without server counts: one chunk ≈ one token.
                        meter.token(0 if server_usage else 1)
                        if live := meter.live():
                            yield live
                    finish = choice.get("finish_reason")
                    if finish:
                        reason = "length" if finish == "length" else "stop"
        finally:
            await abandon_task(reader)  # a stop never waits on the server
        for delta in splitter.flush():
            yield delta
        yield Finish(reason or "stop", meter.finish(engine_rate=server_speed))

    async def _read_events(self, body: dict[str, Any], queue: asyncio.Queue[Any]) -> None:
        """Send the request and queue each SSE `data:` payload, then _DONE or _EOF.

        Runs as its own task so that a cancel never waits on a slow read; cancelling the
        task closes the response.
        """
        url = f"{self.base_url}/chat/completions"
        try:
            async with self._http().stream(
                "POST", url, json=body, timeout=STREAM_TIMEOUT
            ) as response:
                if response.status_code != 200:
                    raise await self._stream_status_failure(response)
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                        continue
                    if line or not data:
                        continue  # event:, id:, comments, keep-alives
                    payload, data = "\n".join(data), []
                    if payload.strip() == "[DONE]":
                        queue.put_nowait(_DONE)
                        return
                    queue.put_nowait(payload)
                if data:  # a last event without its blank line
                    payload = "\n".join(data)
                    if payload.strip() == "[DONE]":
                        queue.put_nowait(_DONE)
                        return
                    queue.put_nowait(payload)
                queue.put_nowait(_EOF)
        except RuntimeFailure as exc:
            queue.put_nowait(exc)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            queue.put_nowait(_EOF)  # cut off: stream() decides whether the reply was whole
        except httpx.HTTPError as exc:
            failure = RuntimeFailure(self._connection_message(exc))
            failure.__cause__ = exc  # `from exc`: stream() raises it in its own task
            queue.put_nowait(failure)

    async def _stream_status_failure(self, response: httpx.Response) -> RuntimeFailure:
        failure = self._status_failure(response.status_code, await read_body(response))
        if isinstance(failure, _UnknownModel):
            with contextlib.suppress(RuntimeFailure):
                models = await self._list_models()
                self._model_ids = [str(m.get("id")) for m in models if m.get("id")]
            return RuntimeFailure(self._unknown_model_message(self.model or ""))
        return failure

    # -- messages ------------------------------------------------------------------------

    def _connection_message(self, exc: httpx.HTTPError) -> str:
        where = f"the OpenAI-compatible server at {self.base_url}"
        if isinstance(exc, httpx.ConnectError):
            if connection_refused(exc):
                return f"Cannot reach {where}: connection refused. Is it running?"
            return f"Cannot reach {where}: {exc or 'connection failed'}. Is the URL right?"
        if isinstance(exc, httpx.TimeoutException):
            return f"Cannot reach {where}: it did not answer in time."
        return f"Cannot talk to {where}: {exc or type(exc).__name__}."

    def _status_failure(self, status: int, content: bytes) -> RuntimeFailure:
        text = content.decode("utf-8", "replace")
        data = json_or_none(text) or {}
        error = data.get("error")
        message = _error_text(data) or text.strip()[:300]
        where = f"The OpenAI-compatible server at {self.base_url}"
        if status in (401, 403):
            return RuntimeFailure(
                f"{where} rejected the API key (HTTP {status}); set {API_KEY_ENV} "
                "to a key it accepts."
            )
        lowered = message.lower()
        model_words = "model" in lowered and any(
            word in lowered for word in ("not found", "does not exist", "unknown", "no such")
        )
        if self.model and ((status == 404 and "model" in lowered) or model_words):
            return _UnknownModel(message)
        if status in (400, 413, 422) and _CONTEXT_WORDS.search(message):
            n_ctx = int_or_none(error.get("n_ctx")) if isinstance(error, dict) else None
            if n_ctx is None and self._loaded:
                n_ctx = self._capabilities.context_length
            limit = f" ({n_ctx} tokens)" if n_ctx else ""
            return RuntimeFailure(
                f"The conversation is too long for the model's context{limit}. "
                f"Start a new conversation or shorten it. (Server said: {message})"
            )
        detail = f": {message}" if message else ""
        return RuntimeFailure(f"{where} answered HTTP {status}{detail}")

    def _unknown_model_message(self, model: str) -> str:
        available = ", ".join(self._model_ids) or "none"
        return (
            f"The OpenAI-compatible server at {self.base_url} has no model {model!r}. "
            f"Available: {available}. Use openai:{self.base_url}#ID with one of them."
        )


class _UnknownModel(RuntimeFailure):
    """Internal marker: the server says the requested model does not exist."""


def message_json(message: ChatMessage, engine: Engine) -> dict[str, Any]:
    """One message as the engine takes it: plain string content without media (exactly
    as before media existed), else content parts: each medium (after its label) and then
    the text."""
    media = media_of(message)
    if not media:
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    labels: list[str] = []
    for part in media:
        label = label_text(part)
        if label and engine.one_text_part:
            labels.append(label)
        elif label:
            parts.append({"type": "text", "text": label})
        if part.kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": data_uri(part)}})
        elif engine.audio_part == "audio_url":
            parts.append({"type": "audio_url", "audio_url": {"url": data_uri(part)}})
        else:
            parts.append(
                {
                    "type": "input_audio",
                    "input_audio": {"data": b64(part.data), "format": audio_format(part)},
                }
            )
    text = "\n".join([*labels, message.content]) if labels else message.content
    parts.append({"type": "text", "text": text})
    return {"role": message.role, "content": parts}


def reply_room(context_length: int, messages: list[ChatMessage]) -> int:
    """The max_tokens to send when the caller gave none: what the prompt (estimated high)
    leaves of the context, and at least MIN_REPLY_ROOM."""
    prompt = sum(
        len(m.content) // CHARS_PER_TOKEN_ESTIMATE + MESSAGE_OVERHEAD_ESTIMATE for m in messages
    )
    return max(context_length - prompt, MIN_REPLY_ROOM)


def _served_context(entry: dict[str, Any], props: dict[str, Any] | None) -> int | None:
    """The context length the server reports for the model, None when it says nothing."""
    context: int | None = None
    if props:
        settings = props.get("default_generation_settings") or {}
        context = int_or_none(settings.get("n_ctx")) or int_or_none(props.get("n_ctx"))
    if context is None:
        meta = dict_or_empty(entry.get("meta"))
        for value in (
            entry.get("max_model_len"),  # vLLM
            entry.get("context_length"),  # SGLang, OpenRouter
            entry.get("max_context_length"),  # LM Studio
            entry.get("context_window"),
            meta.get("n_ctx"),
            meta.get("n_ctx_train"),  # llama-server without /props: the trained size
        ):
            context = int_or_none(value)
            if context:
                break
    return context or None


def _capabilities(
    context: int | None, props: dict[str, Any] | None, *, grammar: bool
) -> Capabilities:
    modalities = ["text"]
    found = (props or {}).get("modalities") or {}
    if isinstance(found, dict):
        if found.get("vision"):
            modalities.append("image")
        if found.get("audio"):
            modalities.append("audio")
    template = (props or {}).get("chat_template")
    return Capabilities(
        context_length=context or DEFAULT_CONTEXT,
        modalities=tuple(modalities),
        grammar=grammar,
        # llama-server shows its template; one with the switch honours chat_template_kwargs.
        thinking=isinstance(template, str) and "enable_thinking" in template,
    )


def _choice_deltas(delta: dict[str, Any], splitter: ThinkingSplitter) -> list[Delta]:
    out: list[Delta] = []
    for key in REASONING_FIELDS:
        value = delta.get(key)
        if isinstance(value, str) and value:
            out.append(ThinkingDelta(value))
            break  # servers that send two of these send the same text twice
    content = delta.get("content")
    if isinstance(content, str) and content:
        out.extend(splitter.feed(content))
    return [d for d in out if not isinstance(d, TextDelta | ThinkingDelta) or d.text]


def _has_text(delta: dict[str, Any]) -> bool:
    return any(isinstance(delta.get(k), str) and delta[k] for k in ("content", *REASONING_FIELDS))


def _apply_usage(chunk: dict[str, Any], usage: Usage) -> tuple[bool, bool]:
    """Copy the server's own counts (OpenAI `usage`, llama-server `timings`) into usage;
    says whether it gave token counts, and whether it gave the decode speed."""
    found = speed_found = False
    reported = chunk.get("usage")
    if isinstance(reported, dict):
        prompt = int_or_none(reported.get("prompt_tokens"))
        completion = int_or_none(reported.get("completion_tokens"))
        if completion is not None:
            usage.completion_tokens = completion
            found = True
        if prompt is not None:
            usage.prompt_tokens = prompt
        details = reported.get("prompt_tokens_details")
        if isinstance(details, dict) and int_or_none(details.get("cached_tokens")) is not None:
            usage.cached_tokens = int_or_none(details.get("cached_tokens")) or 0
    timings = chunk.get("timings")
    if isinstance(timings, dict):  # llama-server
        if int_or_none(timings.get("cache_n")) is not None:
            usage.cached_tokens = int_or_none(timings.get("cache_n")) or 0
        speed = timings.get("predicted_per_second")
        if isinstance(speed, int | float) and speed > 0:
            usage.tokens_per_s = float(speed)
            speed_found = True
    return found, speed_found


def _error_text(data: dict[str, Any]) -> str:
    error = data.get("error", data.get("detail", data.get("message")))
    if isinstance(error, dict):
        error = error.get("message") or error.get("msg") or json.dumps(error)
    if isinstance(error, list) and error:  # FastAPI validation errors
        first = error[0]
        error = first.get("msg") if isinstance(first, dict) else str(first)
    return str(error).strip() if error else ""
