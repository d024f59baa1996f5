"""runtimes/meter.py: the one meter every runtime times its stream with."""

from __future__ import annotations

import pytest

from gemma_chat.runtimes.base import LIVE_USAGE_EVERY_S
from gemma_chat.runtimes.meter import UsageMeter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ttft_and_a_decode_rate_without_the_first_token() -> None:
    clock = Clock()
    meter = UsageMeter(prompt_tokens=12, clock=clock)
    clock.now += 0.5  # the prompt
    meter.token()
    for _ in range(10):
        clock.now += 0.1
        meter.token()
    usage = meter.finish()
    assert usage.ttft_ms == 500 and usage.completion_tokens == 11
    assert usage.tokens_per_s == pytest.approx(10.0) and usage.prompt_tokens == 12


def test_an_end_of_reply_token_sets_ttft_but_is_not_counted() -> None:
    clock = Clock()
    meter = UsageMeter(started=99.0, clock=clock)
    meter.first_token()
    usage = meter.finish()
    assert usage.ttft_ms == 1000 and usage.completion_tokens == 0 and usage.tokens_per_s is None


def test_live_reports_at_the_first_token_then_every_interval() -> None:
    clock = Clock()
    meter = UsageMeter(clock=clock)
    reports = []
    for _ in range(20):
        clock.now += LIVE_USAGE_EVERY_S / 4
        meter.token()
        if live := meter.live():
            reports.append(live.completion_tokens)
    assert reports == [1, 5, 9, 13, 17]
    live_copy = UsageMeter(clock=clock)
    live_copy.token()
    first = live_copy.live()
    assert first is not None and first is not live_copy.usage  # a copy, not the running total


def test_an_engines_own_speed_is_kept_and_its_counts_used() -> None:
    clock = Clock()
    meter = UsageMeter(clock=clock)
    for _ in range(3):
        clock.now += 1
        meter.token(0)  # the engine counts tokens itself
    meter.usage.completion_tokens = 5  # its final count
    assert meter.finish().tokens_per_s == 2.0  # (5 - 1) tokens over the 2 s after the first
    reported = UsageMeter(clock=clock)
    clock.now += 1
    reported.token()
    clock.now += 1
    reported.token()
    reported.usage.tokens_per_s = 42.0
    assert reported.finish(engine_rate=True).tokens_per_s == 42.0
