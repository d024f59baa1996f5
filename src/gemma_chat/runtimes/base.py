"""The one interface every engine adapter implements.

A runtime turns a list of chat messages into a stream of typed deltas, and states the
facts the rest of the app asks about it (loaded? in this process's memory? which model
file?) as typed members with defaults in RuntimeBase, so nothing outside runtimes/ has
to probe a runtime with getattr and guess a default. Optional abilities that only some
engines have are small runtime-checkable protocols (CountsTokens, OffloadsLayers).
Keeping the surface this small is what lets the server, the CLI and the agent treat
llama.cpp, HTTP engines and scripted replays the same way.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

BuildGrammar = Literal["actions", "guided"]
"""How Build mode constrains actions: the full action grammar, or the kit flow's guided
steps for tiny models (agent/kit_flow.py)."""
FinishReason = Literal["stop", "length", "cancelled"]
LIVE_USAGE_EVERY_S = 0.25  # how often runtimes report usage while streaming


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(slots=True)
class Usage:
    """Timing and token counts for one completion; sent live and at the end."""

    ttft_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_per_s: float | None = None
    cached_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ttft_ms", "tokens_per_s"):
            if data[key] is not None:
                data[key] = round(data[key], 2)
        return data


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason
    usage: Usage


Delta = TextDelta | ThinkingDelta | Usage | Finish


@dataclass(frozen=True, slots=True)
class Capabilities:
    context_length: int
    modalities: tuple[str, ...] = ("text",)
    grammar: bool = False
    thinking: bool = False  # has a thinking switch (GenerationOptions.thinking does something)


@dataclass(frozen=True, slots=True)
class MediaPart:
    """Media sent to the model natively, already prepared for it (media/prepare.py):
    an image resized to the model's preferred size, or ≤30 s of 16 kHz mono WAV audio.
    A video arrives as its frames (images labelled with their timestamps) and audio."""

    kind: Literal["image", "audio"]
    mime: str  # "image/png", "image/jpeg", "audio/wav"
    data: bytes
    label: str = ""  # e.g. "photo.png" or "clip.mp4 at 00:03"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str
    # Media that goes with the text, in order; engines put it before the text.
    media: tuple[MediaPart, ...] = ()


@dataclass(slots=True)
class GenerationOptions:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    grammar: str | None = None  # GBNF; honoured by runtimes whose capabilities say grammar
    # Ask a reasoning model to think first (True), not to (False), or leave its default (None).
    # Runtimes pass it on as the template's `enable_thinking` or the engine's own switch.
    thinking: bool | None = None


class CancelToken:
    """Set from any thread or the event loop; checked by generators between tokens.

    Listeners let a waiting consumer hear of a stop at once instead of polling for it.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def on_cancel(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._listeners.append(listener)
                return
        listener()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Runtime(Protocol):
    """What the app may ask of any runtime; RuntimeBase gives the defaults."""

    spec: str
    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def loaded(self) -> bool:
        """Ready to stream now: load() succeeded and close() has not been called since.
        For llama.cpp and MLX the weights are in memory; for a server engine (openai:,
        ollama:) it answered and has the model; for replay: the script has been read."""

    @property
    def resident(self) -> bool:
        """The model lives in this process's memory (or a process this app runs), so the
        pool frees it to make room for another (runtimes/pool.py)."""

    @property
    def memory_bytes(self) -> int:
        """Roughly what the loaded model holds in memory now; 0 when not loaded or elsewhere."""

    @property
    def model_file(self) -> Path | None:
        """The GGUF file this process loads, for memory planning; None for other engines."""

    @property
    def requested_context(self) -> int | None:
        """The context length load() will ask for; None when the engine decides."""

    @property
    def defaults(self) -> GenerationOptions | None:
        """Sampling defaults of the runtime's own (e.g. a reply length), or None."""

    @property
    def build_grammar(self) -> BuildGrammar | None:
        """How Build mode constrains this model's actions; None: no grammar."""

    async def load(self) -> None:
        """Make the model ready; raises ModelLoadError with a clear message."""

    def stream(
        self,
        messages: list[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken,
    ) -> AsyncIterator[Delta]:
        """Yield deltas; always ends with exactly one Finish."""

    async def close(self) -> None: ...


class RuntimeBase(ABC):
    """The defaults of Runtime's facts: a model served elsewhere, no file, no defaults of
    its own, no Build grammar. Engines override what differs; each says what `loaded`
    means for it."""

    resident: bool = False
    defaults: GenerationOptions | None = None
    build_grammar: BuildGrammar | None = None

    @property
    @abstractmethod
    def loaded(self) -> bool: ...

    @property
    def memory_bytes(self) -> int:
        return 0

    @property
    def model_file(self) -> Path | None:
        return None

    @property
    def requested_context(self) -> int | None:
        return None


@runtime_checkable
class CountsTokens(Protocol):
    """Runtimes with a tokenizer of their own; the context budget estimates for others."""

    async def count_tokens(self, texts: list[str]) -> list[int]: ...

    async def count_prompt_tokens(self, messages: list[ChatMessage]) -> int: ...


@runtime_checkable
class OffloadsLayers(Protocol):
    """Runtimes that can put part of the model on a GPU; the memory preflight lowers
    `n_gpu_layers` when free VRAM holds only part of it."""

    n_gpu_layers: int


async def sleep_or_cancel(seconds: float, cancel: CancelToken) -> bool:
    """Sleep in small steps so a cancel is seen quickly; True when cancelled."""
    remaining = seconds
    await asyncio.sleep(0)  # always let other tasks run, even at full speed
    while remaining > 0:
        if cancel.cancelled:
            return True
        step = min(remaining, 0.02)
        await asyncio.sleep(step)
        remaining -= step
    return cancel.cancelled
