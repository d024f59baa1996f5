"""Cut a text stream at the first stop string without ever emitting part of one."""

from __future__ import annotations

from gemma_chat.runtimes.textscan import partial_marker_suffix


class StopStringFilter:
    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns the text safe to show now, and whether a stop string was reached."""
        if self.stopped:
            return "", True
        if not self._stops:
            return text, False
        self._held += text
        cut = min((i for i in (self._held.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self._held, self.stopped = self._held[:cut], "", True
            return out, True
        keep = partial_marker_suffix(self._held, self._stops)
        out = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep :]
        return out, False

    def flush(self) -> str:
        out, self._held = self._held, ""
        return out
