"""`replay:PATH[?tps=N&ctx=N&modalities=…]`: scripted model output for tests and demos.

Each model call streams the next segment of the file (segments are separated by a
line `=== turn ===`); once they run out a call streams nothing and stops. `tps` sets
the pace in tokens per second (0 = as fast as possible); `ctx` the context length it
reports (for context-budget tests); `modalities` the inputs it claims to take (e.g.
`text,image,audio`, for media tests). Each call's messages are kept in `calls`, and
the options it was given in `options` (tests check what settings reached the model).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

from gemma_chat.errors import ModelLoadError
from gemma_chat.runtimes.base import (
    CancelToken,
    Capabilities,
    ChatMessage,
    Delta,
    Finish,
    GenerationOptions,
    RuntimeBase,
    sleep_or_cancel,
)
from gemma_chat.runtimes.meter import UsageMeter
from gemma_chat.runtimes.thinking import ThinkingSplitter

SEPARATOR = re.compile(r"^=== turn ===[ \t]*\r?$\n?", re.MULTILINE)
TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
DEFAULT_TPS = 50.0
DEFAULT_CONTEXT = 131072


def split_segments(script: str) -> list[str]:
    parts = SEPARATOR.split(script)
    return [part.removesuffix("\n") for part in parts]


def replay_tokens(text: str) -> list[str]:
    """Word-sized pieces, close to how a real tokenizer paces a stream."""
    return TOKEN.findall(text)


class ReplayRuntime(RuntimeBase):
    def __init__(self, spec: str) -> None:
        self.spec = spec
        body = spec.removeprefix("replay:")
        path, _, query = body.partition("?")
        params = parse_qs(query)
        self.path = Path(path).expanduser()
        self.tps = float(params.get("tps", [DEFAULT_TPS])[0])
        self.context_length = int(params.get("ctx", [DEFAULT_CONTEXT])[0])
        self.calls: list[list[ChatMessage]] = []
        self.options: list[GenerationOptions] = []
        listed = params.get("modalities", ["text"])[0].split(",")
        self.modalities = tuple(dict.fromkeys(["text", *(m.strip() for m in listed if m.strip())]))
        self.name = f"Replay ({self.path.name})"
        self._segments: list[str] | None = None
        self._next = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(self.context_length, modalities=self.modalities, grammar=False)

    @property
    def loaded(self) -> bool:
        """The script has been read."""
        return self._segments is not None

    async def load(self) -> None:
        if self._segments is not None:
            return
        try:
            self._segments = split_segments(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelLoadError(f"Cannot read replay script {self.path}: {exc.strerror}") from exc

    async def stream(
        self, messages: list[ChatMessage], options: GenerationOptions, cancel: CancelToken
    ) -> AsyncIterator[Delta]:
        await self.load()
        assert self._segments is not None
        self.calls.append(list(messages))
        self.options.append(options)
        segment = self._segments[self._next] if self._next < len(self._segments) else ""
        self._next += 1
        meter = UsageMeter(prompt_tokens=sum(len(m.content) for m in messages) // 4)
        splitter = ThinkingSplitter()
        delay = 1.0 / self.tps if self.tps > 0 else 0.0
        due = meter.started  # keep to the schedule: a sleep's overshoot isn't added to every token
        reason = "stop"
        for token in replay_tokens(segment):
            if (
                options.max_tokens is not None
                and meter.usage.completion_tokens >= options.max_tokens
            ):
                reason = "length"
                break
            due += delay
            if await sleep_or_cancel(max(0.0, due - time.perf_counter()), cancel):
                reason = "cancelled"
                break
            meter.token()
            for delta in splitter.feed(token):
                yield delta
            if live := meter.live():
                yield live
        for delta in splitter.flush():
            yield delta
        yield Finish(reason, meter.finish())  # type: ignore[arg-type]

    async def close(self) -> None:
        return None
