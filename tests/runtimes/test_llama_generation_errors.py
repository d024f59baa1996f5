"""A failure inside llama.cpp's thread reaches the turn as a short RuntimeFailure that keeps
its cause, and the log keeps the traceback (no model needed)."""

import logging

import pytest

from gemma_chat.errors import RuntimeFailure
from gemma_chat.runtimes.base import CancelToken, GenerationOptions
from gemma_chat.runtimes.llama import LlamaCppRuntime


def _runtime_failing_with(error: BaseException) -> LlamaCppRuntime:
    runtime = object.__new__(LlamaCppRuntime)  # _generate_sync needs no loaded model

    def run_generation(*_args: object) -> None:
        raise error

    runtime._run_generation = run_generation  # type: ignore[method-assign]
    return runtime


def test_an_unexpected_error_is_chained_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    cause = ValueError("bad logits")
    emitted: list[object] = []
    with caplog.at_level(logging.ERROR, logger="gemma_chat.runtimes.llama"):
        _runtime_failing_with(cause)._generate_sync(
            [], GenerationOptions(), CancelToken(), emitted.append
        )
    [failure] = emitted
    assert isinstance(failure, RuntimeFailure)
    assert str(failure) == "Generation failed: bad logits"
    assert failure.__cause__ is cause
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[1] is cause


def test_a_runtime_failure_passes_through_unlogged(caplog: pytest.LogCaptureFixture) -> None:
    failure = RuntimeFailure("The prompt is longer than the context window")
    emitted: list[object] = []
    with caplog.at_level(logging.DEBUG, logger="gemma_chat.runtimes.llama"):
        _runtime_failing_with(failure)._generate_sync(
            [], GenerationOptions(), CancelToken(), emitted.append
        )
    assert emitted == [failure]
    assert not caplog.records
