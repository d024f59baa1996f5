"""Ctrl+C for the terminal front ends: stop what runs now instead of ending the process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator


class Interrupts:
    """Ctrl+C (SIGINT) while a REPL, a one-shot answer or a headless build runs: it stops
    what runs now (a reply, a model load, a Build turn, whose files and version are still
    saved) and is otherwise ignored, so it never ends the process between two prompts.
    At the REPL's prompt the terminal is raw and Ctrl+C is a key prompt_toolkit reads
    instead (it clears the line)."""

    def __init__(self) -> None:
        self._action: Callable[[], object] | None = None

    def _fire(self) -> None:
        if self._action is not None:
            self._action()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._fire)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt instead
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    @contextlib.contextmanager
    def stopping(self, action: Callable[[], object]) -> Iterator[None]:
        """Ctrl+C calls `action` while this block runs."""
        previous, self._action = self._action, action
        try:
            yield
        finally:
            self._action = previous
