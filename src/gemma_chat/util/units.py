"""Sizes and durations as every surface shows them, so one file shows one size everywhere.

Bytes use decimal SI units (1 kB = 1000 B, 1 MB = 1000 kB, 1 GB = 1000 MB), as Hugging Face
publishes model sizes and as the OS file managers show files; a size has one decimal, dropped
when it is zero ("4 GB", "4.2 GB", "412.3 MB"). Durations are coarse and spoken ("45 s",
"3 min", "1 h 5 min"). ui/format.js `formatBytes` and `formatDuration` follow the same rules
with the same rounding (half up), and tests/test_util.py checks both against one table.
"""

from __future__ import annotations

import math

_UNITS = ("kB", "MB", "GB", "TB", "PB")


def _round(x: float) -> int:
    """Half up, like JavaScript's Math.round (Python's round() is half to even)."""
    return math.floor(x + 0.5)


def format_bytes(n: float) -> str:
    """A byte count in decimal SI units: "999 B", "1 kB", "1.5 MB", "4.2 GB"."""
    if not math.isfinite(n):
        return ""
    if n < 0:
        return "-" + format_bytes(-n)
    if _round(n) < 1000:
        return f"{_round(n)} B"
    scale = 1.0
    for unit in _UNITS:
        scale *= 1000
        tenths = _round(float(n) * 10 / scale)
        if tenths < 10_000 or unit == _UNITS[-1]:  # 1000.0 of a unit is 1 of the next
            return f"{tenths // 10} {unit}" if tenths % 10 == 0 else f"{tenths / 10:.1f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """A duration for people: "45 s" under a minute, "3 min" under an hour, then "1 h 5 min"
    (rounded to the unit shown; "" for a negative or unknown one)."""
    if not math.isfinite(seconds) or seconds < 0:
        return ""
    if _round(seconds) < 60:
        return f"{_round(seconds)} s"
    minutes = _round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
