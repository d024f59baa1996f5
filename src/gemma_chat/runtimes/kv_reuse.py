"""Plan how much of a new prompt llama.cpp's KV cache already holds, even past a cut.

When the context budget drops old turns (chat/context_budget.py), the new prompt is the
old one with a stretch taken out after the system prompt. A plain prefix match then
reuses only the system prompt and re-reads the whole history: on the built-in model
52 s instead of 4 s per reply. llama.cpp can instead delete the dropped stretch from the
cache and shift the positions of what follows (llama-server does the same for its
context shift and `--cache-reuse`), so only the new message is read.

New text cannot go into a gap: llama.cpp takes a batch only at the positions after
everything its cache holds, so the runs reused are contiguous from the common prefix
and the prompt's first new token ends them.

The shifted entries were computed while the dropped text was still in view; llama.cpp
re-rotates their positions but not their content. That is the trade llama-server makes
too, and it is small next to a reply that takes a minute to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_RUN = 32  # shorter matches are chance (a role marker), not a kept turn
MAX_RUNS = 16  # gaps bridged per prompt; more means a different conversation
GRAM = 8  # tokens hashed to find where a run may start
MAX_CANDIDATES = 64  # places tried per lookup (a repeated phrase has many)


@dataclass(frozen=True, slots=True)
class Run:
    """Cached tokens at [source, source+length) that the prompt wants at target.

    Runs only move left (target <= source), so moving them in order never lands on
    cache entries that have not moved yet.
    """

    source: int
    target: int
    length: int


@dataclass(frozen=True, slots=True)
class Plan:
    """prompt[:prefix] is cached in place; then each run follows, moved left."""

    prefix: int
    runs: tuple[Run, ...] = ()

    @property
    def reused(self) -> int:
        """Prompt tokens that need no evaluation: evaluation resumes here."""
        return self.runs[-1].target + self.runs[-1].length if self.runs else self.prefix


def plan_reuse(
    cached: Sequence[int], prompt: Sequence[int], min_run: int = MIN_RUN, shift: bool = True
) -> Plan:
    """What of `prompt` (all but its last token, which generation evaluates) the cache
    holds: a common prefix, then, when `shift`, runs found further on in the cache."""
    min_run = max(min_run, GRAM)
    have = np.asarray(cached, dtype=np.int64)
    want = np.asarray(prompt, dtype=np.int64)[: max(len(prompt) - 1, 0)]
    prefix = _match_length(have, 0, want, 0)
    if not shift or prefix == len(have) or prefix == len(want):
        return Plan(prefix)
    starts = _gram_index(have, prefix)
    keys = _grams(want)
    runs: list[Run] = []
    source, target = prefix, prefix  # the cache and prompt positions not yet planned
    while target + min_run <= len(want) and len(runs) < MAX_RUNS:
        found = _longest_run(have, starts.get(keys[target], ()), source, want, target)
        if found is None or found[1] < min_run:
            break  # new text: from here on the prompt is evaluated
        start, length = found
        runs.append(Run(start, target, length))
        source, target = start + length, target + length
    return Plan(prefix, tuple(runs))


def _grams(tokens: np.ndarray) -> list[int]:
    """A hash of each GRAM tokens starting at each position (wrapping arithmetic)."""
    if len(tokens) < GRAM:
        return []
    values = tokens.astype(np.uint64)
    hashes = np.zeros(len(tokens) - GRAM + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(GRAM):
            hashes = hashes * np.uint64(1_000_003) + values[offset : offset + len(hashes)]
    return hashes.tolist()


def _gram_index(have: np.ndarray, start: int) -> dict[int, list[int]]:
    index: dict[int, list[int]] = {}
    for position, key in enumerate(_grams(have[start:]), start):
        index.setdefault(key, []).append(position)
    return index


def _match_length(have: np.ndarray, at: int, want: np.ndarray, start: int) -> int:
    """How many tokens from have[at:] equal want[start:]."""
    span = min(len(have) - at, len(want) - start)
    if span <= 0:
        return 0
    differs = np.flatnonzero(have[at : at + span] != want[start : start + span])
    return int(differs[0]) if len(differs) else span


def _longest_run(
    have: np.ndarray, starts: Sequence[int], source: int, want: np.ndarray, target: int
) -> tuple[int, int] | None:
    """The longest stretch of cache from one of `starts` (at or after `source`, and not
    left of `target`) that continues the prompt at `target`: (its start, length), or None."""
    best: tuple[int, int] | None = None
    tried = 0
    for start in starts:
        if start < source or start < target:
            continue
        length = _match_length(have, start, want, target)
        if best is None or length > best[1]:
            best = (start, length)
            if start + length == len(have) or target + length == len(want):
                break  # runs to the end of the cache or the prompt: nothing is longer
        tried += 1
        if tried >= MAX_CANDIDATES:
            break
    return best
