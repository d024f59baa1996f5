"""One meter for every runtime's Usage: TTFT, the decode rate and the live reports.

Each engine used to time its own stream; they now share this, so "TTFT", "tokens per
second" and how often a live Usage goes out mean the same for llama.cpp, the HTTP
engines, MLX (through openai_compat) and replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gemma_chat.runtimes.base import LIVE_USAGE_EVERY_S, Usage


class UsageMeter:
    """Times one stream into its Usage.

    TTFT runs from `started` (when the request began) to the first token; the decode rate
    leaves out that first token, whose time is the prompt's, not decoding's. Engines that
    report their own counts write them into `usage`; finish() then keeps the engine's
    speed when it gave one and measures it otherwise.
    """

    def __init__(
        self,
        prompt_tokens: int = 0,
        *,
        started: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._clock = clock
        self.usage = Usage(prompt_tokens=prompt_tokens)
        self.started = clock() if started is None else started
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._last_live: float | None = None

    def first_token(self) -> float:
        """The model produced its first token (even one that ends the reply); returns now."""
        now = self._clock()
        if self.first_at is None:
            self.first_at = now
            self.usage.ttft_ms = (now - self.started) * 1000
        return now

    def token(self, count: int = 1) -> None:
        """`count` tokens arrived (0: text whose tokens the engine counts itself)."""
        now = self.first_token()
        self.last_at = now
        self.usage.completion_tokens += count
        self._rate(now)

    def live(self) -> Usage | None:
        """A copy of the usage so far, at most once every LIVE_USAGE_EVERY_S; None between."""
        now = self.last_at if self.last_at is not None else self._clock()
        if self._last_live is not None and now - self._last_live < LIVE_USAGE_EVERY_S:
            return None
        self._last_live = now
        return Usage(**self.usage.as_dict())

    def finish(self, *, engine_rate: bool = False) -> Usage:
        """The final usage. `engine_rate`: the engine reported its decode speed, keep it;
        otherwise it is measured over the tokens counted (with the engine's final count,
        when it sent one)."""
        if not engine_rate and self.last_at is not None:
            self._rate(self.last_at)
        return self.usage

    def _rate(self, now: float) -> None:
        if self.first_at is not None and self.usage.completion_tokens > 1:
            elapsed = max(now - self.first_at, 1e-9)
            self.usage.tokens_per_s = (self.usage.completion_tokens - 1) / elapsed
