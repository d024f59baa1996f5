"""Download progress: one event shape for the CLI bar and the server's SSE stream.

Byte counts arrive per network chunk (thousands a second); the tracker turns them into
at most ~10 events a second with a smoothed rate, so a UI can redraw on every event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Phase = Literal["checking", "downloading", "verifying", "done", "error"]
ProgressCallback = Callable[["DownloadProgress"], None]

EMIT_INTERVAL_S = 0.1  # at most ~10 events a second
RATE_WINDOW_S = 0.25  # shortest span a rate sample is measured over
SMOOTHING = 0.3  # weight of the newest rate sample in the moving average


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """Where a pull stands. Byte counts cover every file of the pull, resumed bytes included."""

    model: str
    file: str
    phase: Phase
    downloaded: int = 0
    total: int = 0
    bytes_per_s: float = 0.0
    eta_s: float | None = None
    files_done: int = 0
    files_total: int = 0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProgressTracker:
    """Counts bytes, smooths the rate and calls `on_progress` no more than ~10×/s.

    Phase changes and the final event always go out; byte updates in between are dropped
    when they come too fast, since the next one carries the newer count anyway.
    """

    def __init__(
        self,
        model: str,
        on_progress: ProgressCallback | None,
        *,
        total: int = 0,
        files_total: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._callback = on_progress
        self._clock = clock
        self.total = total
        self.files_total = files_total
        self.files_done = 0
        self.downloaded = 0
        self.file = ""
        self.phase: Phase = "checking"
        self.rate = 0.0
        self._last_emit = -1.0
        self._sample_at = clock()
        self._sample_bytes = 0
        self._file_base = 0

    def set_plan(self, total: int, files_total: int) -> None:
        self.total, self.files_total = total, files_total

    def start_file(self, name: str, already: int) -> None:
        """A file begins; `already` bytes of it are on disk from an earlier attempt."""
        self.file = name
        self._file_base = self.downloaded
        self.downloaded += already
        self._sample_at, self._sample_bytes = self._clock(), self.downloaded
        self.set_phase("downloading")

    def rebase_file(self, on_disk: int) -> None:
        """The transfer restarted the file from `on_disk` bytes (a server that ignored Range)."""
        self.downloaded = self._file_base + on_disk
        self._sample_bytes = min(self._sample_bytes, self.downloaded)

    def advance(self, n: int) -> None:
        self.downloaded += n
        now = self._clock()
        span = now - self._sample_at
        if span >= RATE_WINDOW_S:
            sample = max(self.downloaded - self._sample_bytes, 0) / span
            self.rate = (
                sample if self.rate == 0 else SMOOTHING * sample + (1 - SMOOTHING) * self.rate
            )
            self._sample_at, self._sample_bytes = now, self.downloaded
        if now - self._last_emit >= EMIT_INTERVAL_S:
            self._emit(now)

    def file_done(self, name: str, size: int, counted: bool) -> None:
        """A file is complete; `counted` says whether its bytes already went through advance."""
        self.file = name
        if not counted:
            self.downloaded += size
        self.files_done += 1

    def set_phase(self, phase: Phase, message: str = "") -> None:
        self.phase = phase
        self._emit(self._clock(), message)

    def snapshot(self, message: str = "") -> DownloadProgress:
        remaining = max(self.total - self.downloaded, 0)
        eta = remaining / self.rate if self.rate > 0 and self.phase == "downloading" else None
        return DownloadProgress(
            model=self._model,
            file=self.file,
            phase=self.phase,
            downloaded=self.downloaded,
            total=self.total,
            bytes_per_s=round(self.rate, 1),
            eta_s=round(eta, 1) if eta is not None else None,
            files_done=self.files_done,
            files_total=self.files_total,
            message=message,
        )

    def _emit(self, now: float, message: str = "") -> None:
        self._last_emit = now
        if self._callback is not None:
            self._callback(self.snapshot(message))
