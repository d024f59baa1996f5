"""Split a model's raw text stream into visible text and thinking.

Reasoning models wrap their thoughts in marker tags. The markers can arrive split
across chunks, so the splitter holds back any tail that could still become a marker:
the user never sees half a tag.
"""

from __future__ import annotations

from collections.abc import Iterator

from gemma_chat.runtimes.base import TextDelta, ThinkingDelta
from gemma_chat.runtimes.textscan import partial_marker_suffix

# (open, close) marker pairs. Gemma 4 writes its reasoning in a "thought" channel:
# `<|channel>thought\n…<channel|>` (both markers are single special tokens).
GEMMA4_THOUGHT = ("<|channel>thought", "<channel|>")
DEFAULT_MARKERS: tuple[tuple[str, str], ...] = (("<think>", "</think>"), GEMMA4_THOUGHT)


class ThinkingSplitter:
    def __init__(self, markers: tuple[tuple[str, str], ...] = DEFAULT_MARKERS) -> None:
        self._markers = markers
        self._buffer = ""
        self._close: str | None = None  # the close marker we wait for, when thinking
        # Templates put a newline after each marker; it is layout, not content.
        self._skip_newlines = False

    @property
    def markers(self) -> tuple[str, ...]:
        return tuple(m for pair in self._markers for m in pair)

    @property
    def thinking(self) -> bool:
        return self._close is not None

    def feed(self, chunk: str) -> Iterator[TextDelta | ThinkingDelta]:
        self._buffer += chunk
        while self._buffer:
            if self._skip_newlines:
                self._buffer = self._buffer.lstrip("\n")
                if not self._buffer:
                    return
                self._skip_newlines = False
            wanted = [self._close] if self._close else [m[0] for m in self._markers]
            index, marker = self._find_first(wanted)
            if marker is not None:
                before = self._buffer[:index]
                if before:
                    yield self._delta(before)
                self._buffer = self._buffer[index + len(marker) :]
                self._close = None if self._close else self._close_for(marker)
                self._skip_newlines = True
                continue
            keep = partial_marker_suffix(self._buffer, wanted)
            out = self._buffer[: len(self._buffer) - keep]
            self._buffer = self._buffer[len(self._buffer) - keep :]
            if out:
                yield self._delta(out)
            return

    def flush(self) -> Iterator[TextDelta | ThinkingDelta]:
        if self._buffer:
            yield self._delta(self._buffer)
        self._buffer = ""

    def _delta(self, text: str) -> TextDelta | ThinkingDelta:
        return ThinkingDelta(text) if self._close else TextDelta(text)

    def _close_for(self, opener: str) -> str:
        return next(close for open_, close in self._markers if open_ == opener)

    def _find_first(self, markers: list[str]) -> tuple[int, str | None]:
        best: tuple[int, str | None] = (-1, None)
        for marker in markers:
            index = self._buffer.find(marker)
            if index >= 0 and (best[1] is None or index < best[0]):
                best = (index, marker)
        return best
