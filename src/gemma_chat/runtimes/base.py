"""The one interface every engine adapter implements.

A runtime turns a list of chat messages into a stream of typed deltas. Keeping the
surface this small is what lets the server, the CLI and the agent treat llama.cpp,
HTTP engines and scripted replays the same way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

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


class TokenClock:
    """Times a stream into its Usage: TTFT at the first token, the decode rate after it.

    The decode rate leaves out the first token, whose time is the prompt's, not decoding's.
    """

    def __init__(self, usage: Usage, started: float) -> None:
        self.usage = usage
        self.started = started
        self.first_at: float | None = None
        self.last_at: float | None = None

    def first(self, now: float) -> None:
        if self.first_at is None:
            self.first_at = now
            self.usage.ttft_ms = (now - self.started) * 1000

    def count(self, now: float, tokens: int = 1) -> None:
        self.first(now)
        self.last_at = now
        self.usage.completion_tokens += tokens
        self.rate(now)

    def rate(self, now: float) -> None:
        if self.first_at is not None and self.usage.completion_tokens > 1:
            elapsed = max(now - self.first_at, 1e-9)
            self.usage.tokens_per_s = (self.usage.completion_tokens - 1) / elapsed


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
    spec: str
    name: str

    @property
    def capabilities(self) -> Capabilities: ...

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
