"""The JSON a benchmark writes with `--json PATH`, read by `benchmarks/run_all.py`:

    {"name": NAME,
     "results": [{"metric": str, "value": float, "unit": str,
                  "target": str | None, "ok": bool | None}, ...],
     ...extra keys}

`target` is text as a person reads it ("<= 100", ">= 0.97"); `ok` is None for a figure
with no target. A benchmark imports this module by name (`from report import ...`): run as
`python benchmarks/X.py`, its own folder is first on sys.path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def result(
    metric: str,
    value: float | None,
    unit: str,
    target: str | None = None,
    ok: bool | None = None,
) -> dict[str, Any]:
    """One row of `results`; `value` is rounded to 4 decimals, and one that is not a finite
    number (a figure that could not be measured: NaN) is written as null."""
    number = float("nan") if value is None else float(value)
    written = round(number, 4) if math.isfinite(number) else None
    return {"metric": metric, "value": written, "unit": unit, "target": target, "ok": ok}


def write(path: Path | str | None, name: str, results: list[dict[str, Any]], **extra: Any) -> None:
    """Write `{"name", "results", **extra}` to `path` (nothing when `path` is None)."""
    if path is None:
        return
    body = {"name": name, "results": results, **extra}
    Path(path).write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
