"""How far an upload may expand once opened, and how much preparation runs at once.

A small file can declare a huge one: a 657 KB PNG of 13000×13000 pixels decodes to
676 MB, a 180 KB docx to 120 MB of XML and 20 M paragraphs. Every limit here is checked
from a header or a directory before the expensive part, and every decode, resize or
extraction holds a share of one process-wide memory budget (`prep_gate`), so parallel
uploads and sends queue instead of multiplying memory. Documented in docs/api.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MB = 1_000_000  # decimal, as the limits are shown (gemma_chat.util.units) and set (..._MB)

# Images: pixels of one frame, and of all frames of an animation together.
MAX_IMAGE_PIXELS = 40_000_000
MAX_ANIMATION_PIXELS = 400_000_000

# Zip containers (docx): read from the central directory before any member is opened.
MAX_ZIP_MEMBERS = 5_000
MAX_ZIP_DIRECTORY = 4 * MB  # the central directory itself
MAX_ZIP_UNCOMPRESSED = 256 * MB  # all members together
MAX_ZIP_RATIO = 100  # uncompressed : compressed, for members over 1 MB
RATIO_FLOOR = MB
MAX_DOCX_XML = 64 * MB  # word/document.xml, uncompressed
MAX_DOCX_PARAGRAPHS = 200_000

# PDFs: pages a file may have, pages read for text (the text limit usually stops first).
MAX_PDF_PAGES = 5_000
MAX_PDF_PAGES_READ = 500

# Audio and video: length from the container, before decoding.
MAX_MEDIA_SECONDS = 4 * 3600
MAX_AUDIO_SENT_S = 600.0  # audio a model gets (the rest is left out, with a note)
DECODE_BUDGET_S = 60.0  # wall clock for one decode or extraction

# Preparation running at once, in estimated bytes (one job over it runs alone).
PREP_BUDGET = 256 * MB


class Deadline:
    """A wall-clock budget: `expired` once `seconds` have passed since it was made."""

    def __init__(self, seconds: float = DECODE_BUDGET_S) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() > self._end


class MemoryGate:
    """A counting semaphore over bytes: `hold(n)` waits until n more fits the budget.

    A job larger than the whole budget waits until nothing else runs, then runs alone, so
    nothing waits for ever.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.peak_jobs = 0
        self._running = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, estimate: int) -> Iterator[None]:
        share = max(1, min(int(estimate), self.budget))
        with self._cond:
            self._cond.wait_for(lambda: self.used + share <= self.budget or self.used == 0)
            self.used += share
            self._running += 1
            self.peak_jobs = max(self.peak_jobs, self._running)
        try:
            yield
        finally:
            with self._cond:
                self.used -= share
                self._running -= 1
                self._cond.notify_all()


def _budget_from_env() -> int:
    raw = os.environ.get("GEMMA_CHAT_PREP_MEMORY_MB", "").strip()
    try:
        return max(16 * MB, int(float(raw) * MB)) if raw else PREP_BUDGET
    except ValueError:
        return PREP_BUDGET


prep_gate = MemoryGate(_budget_from_env())

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024


def return_freed_memory() -> bool:
    """glibc: give blocks of 4 MB and more their own mapping, unmapped when freed.

    By default glibc raises that threshold after the first large free, and each thread
    then keeps what it freed in its own heap: four 36-megapixel images prepared one after
    another on four worker threads held four images' worth. With a fixed threshold the
    memory of a decoded image goes back to the system as soon as it is freed. Returns
    whether it applied (not on macOS, Windows or musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


return_freed_memory()


def megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}" if pixels >= 10_000_000 else f"{pixels / 1_000_000:.1f}"
