"""Every benchmark, one after another, and one table of every figure against its target.

Each benchmark runs as its own process, `python benchmarks/NAME.py --json TMP [--quick]`,
with its output (stdout and stderr) in a log file of its own. A benchmark that fails (no
results written) or runs past `--timeout` shows as FAILED or TIMEOUT with its log, and the
rest still run. A benchmark that exits non-zero but wrote its results (a missed target)
shows its figures as usual. Then one table, benchmark | metric | value | target | ok, and
everything (each benchmark's own JSON, its exit status, time and log) in `--out`.

    uv run python benchmarks/run_all.py [--quick] [--only a,b] [--skip a,b]
        [--timeout 3600] [--out benchmarks/results.json] [--logs benchmarks/logs] [--stream]

Benchmarks, in order: stream_overhead, long_context, long_build, preview_latency, ui_rate,
history_scale, build_speed, build_quality, speech, upload_memory. Each writes
`{"name", "results": [{"metric", "value", "unit", "target", "ok"}, ...]}` (see
benchmarks/report.py). Exit status 0 when every benchmark ran and no figure missed its
target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS = (
    "stream_overhead",
    "long_context",
    "long_build",
    "preview_latency",
    "ui_rate",
    "history_scale",
    "build_speed",
    "build_quality",
    "speech",
    "upload_memory",
)
DEFAULT_TIMEOUT_S = 3600
DASH = "—"


@dataclass
class Run:
    """How one benchmark's process ended, and the results it wrote (None if none)."""

    name: str
    status: str  # "ok" (results written), "failed" or "timeout"
    returncode: int | None
    seconds: float
    log: str
    report: dict[str, Any] | None = None
    error: str = ""  # why there are no results, when there are none


# --- pure: rows, table, document ---------------------------------------------------------


def format_value(value: Any, unit: str = "") -> str:
    """A figure for the table: 3 significant digits for small numbers, whole ones for big."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
    elif value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return DASH
    elif float(value).is_integer() and abs(value) < 1e15:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def verdict(ok: bool | None) -> str:
    return DASH if ok is None else ("PASS" if ok else "FAIL")


def rows_for(run: Run) -> list[dict[str, Any]]:
    """The table rows of one benchmark: its results, or one row saying why there are none."""
    if run.report is None:
        label = "TIMEOUT" if run.status == "timeout" else "FAILED"
        why = run.error or (
            f"no figures after {run.seconds:.0f} s"
            if run.status == "timeout"
            else f"exit {run.returncode}"
        )
        return [_error_row(run, f"{label}: {why} (log: {run.log})")]
    rows = []
    results = run.report.get("results") or []
    for item in results:
        ok = item.get("ok")
        rows.append(
            {
                "benchmark": run.name,
                "metric": str(item.get("metric", "?")),
                "value": item.get("value"),
                "unit": str(item.get("unit") or ""),
                "target": item.get("target"),
                "ok": None if ok is None else bool(ok),
                "status": run.status,
                "error": False,
            }
        )
    if not rows:
        rows.append(_error_row(run, f"no results in its JSON (log: {run.log})"))
    return rows


def _error_row(run: Run, why: str) -> dict[str, Any]:
    """A row that says why a benchmark has no figures: a failed row, not a missing one."""
    return {
        "benchmark": run.name,
        "metric": why,
        "value": None,
        "unit": "",
        "target": None,
        "ok": False,
        "status": run.status,
        "error": True,
    }


def table_rows(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    """benchmark | metric | value+unit | target | ok, the benchmark named once per group."""
    out = []
    previous = None
    for row in rows:
        name = row["benchmark"] if row["benchmark"] != previous else ""
        previous = row["benchmark"]
        if row["error"]:
            ok = {"timeout": "TIMEOUT", "failed": "FAILED"}.get(row["status"], "FAIL")
        else:
            ok = verdict(row["ok"])
        out.append(
            (
                name,
                row["metric"],
                format_value(row["value"], row["unit"]),
                row["target"] or DASH,
                ok,
            )
        )
    return out


def assemble(runs: list[Run], **meta: Any) -> dict[str, Any]:
    """The whole run as one JSON-able document: `meta`, each benchmark's run and report,
    the flat rows of the table, and the totals."""
    rows = [row for run in runs for row in rows_for(run)]
    failed = [run.name for run in runs if run.report is None]
    missed = sorted({row["benchmark"] for row in rows if row["ok"] is False} - set(failed))
    return {
        **meta,
        "benchmarks": [
            {
                "name": run.name,
                "status": run.status,
                "returncode": run.returncode,
                "seconds": round(run.seconds, 1),
                "log": run.log,
                "error": run.error or None,
                "report": run.report,
            }
            for run in runs
        ],
        "rows": rows,
        "summary": {
            "benchmarks": len(runs),
            "did_not_finish": failed,
            "missed_targets": missed,
            "passed": sum(row["ok"] is True for row in rows),
            "failed": sum(row["ok"] is False for row in rows),
            "ok": not failed and not missed,
        },
    }


def plain_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


# --- running ------------------------------------------------------------------------------


def _pump(source: TextIO, log: TextIO, echo: bool) -> None:
    for line in source:
        log.write(line)
        log.flush()
        if echo:
            sys.stdout.write(line)
            sys.stdout.flush()


def _kill(proc: subprocess.Popen[str]) -> None:
    """The benchmark and whatever it started (servers, browsers): its own process group."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        try:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
        proc.wait(15)


def run_one(
    name: str, logs: Path, scratch: Path, *, quick: bool, timeout: float, stream: bool
) -> Run:
    script = HERE / f"{name}.py"
    log_path = logs / f"{name}.log"
    if not script.exists():
        log_path.write_text(f"{script} does not exist\n", encoding="utf-8")
        return Run(name, "failed", None, 0.0, str(log_path), error=f"no {script.name}")
    result_path = scratch / f"{name}.json"
    command = [sys.executable, str(script), "--json", str(result_path)]
    if quick:
        command.append("--quick")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        assert proc.stdout is not None
        pump = threading.Thread(target=_pump, args=(proc.stdout, log, stream), daemon=True)
        pump.start()
        try:
            returncode: int | None = proc.wait(timeout)
            status = "ok"
        except subprocess.TimeoutExpired:
            _kill(proc)
            returncode, status = None, "timeout"
        except KeyboardInterrupt:
            _kill(proc)
            raise
        pump.join(10)
    seconds = time.monotonic() - started
    report, error = None, ""
    if result_path.exists():
        try:
            report = json.loads(result_path.read_text(encoding="utf-8"))
            if not isinstance(report, dict):
                report, error = None, "its JSON is not an object"
        except ValueError as exc:
            error = f"unreadable JSON ({exc})"
    elif status == "ok":
        error = f"exit {returncode}, no results written"
    if report is None and status == "ok":
        status = "failed"
    return Run(name, status, returncode, seconds, str(log_path), report, error)


def select(only: str | None, skip: str | None) -> list[str]:
    def names(text: str | None) -> list[str]:
        chosen = [n.strip().removesuffix(".py") for n in (text or "").split(",") if n.strip()]
        unknown = [n for n in chosen if n not in BENCHMARKS]
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {BENCHMARKS}")
        return chosen

    wanted, skipped = names(only), names(skip)
    return [n for n in BENCHMARKS if (not wanted or n in wanted) and n not in skipped]


def print_table(rows: list[tuple[str, str, str, str, str]]) -> None:
    header = ("benchmark", "metric", "value", "target", "ok")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(plain_table(rows, header))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    table = Table(*header, show_lines=False)
    styles = {"PASS": "green", "FAIL": "red", "FAILED": "red", "TIMEOUT": "yellow"}
    for row in rows:
        if row[0] and table.row_count:
            table.add_section()
        ok = row[4]
        table.add_row(*row[:4], f"[{styles[ok]}]{ok}[/]" if ok in styles else ok)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--skip", help="comma-separated benchmarks to leave out")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each benchmark")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per benchmark before it is stopped (default {DEFAULT_TIMEOUT_S})",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--logs", type=Path, default=HERE / "logs", help="one log per benchmark")
    parser.add_argument("--stream", action="store_true", help="also show each one's output")
    args = parser.parse_args(argv)

    names = select(args.only, args.skip)
    if not names:
        raise SystemExit("nothing to run")
    args.logs.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    began = datetime.now(UTC)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="run-all-") as scratch:
        for index, name in enumerate(names, 1):
            print(f"[{index}/{len(names)}] {name} ...", flush=True)
            run = run_one(
                name,
                args.logs,
                Path(scratch),
                quick=args.quick,
                timeout=args.timeout,
                stream=args.stream,
            )
            runs.append(run)
            how = {"ok": "done", "failed": "FAILED", "timeout": "TIMEOUT"}[run.status]
            code = "" if run.returncode in (0, None) else f", exit {run.returncode}"
            print(f"      {how} in {run.seconds:.0f} s{code}  (log: {run.log})", flush=True)

    document = assemble(
        runs,
        started=began.isoformat(timespec="seconds"),
        quick=args.quick,
        timeout_s=args.timeout,
        python=sys.version.split()[0],
        machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    )
    print()
    print_table(table_rows(document["rows"]))
    args.out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    summary = document["summary"]
    unfinished = ", ".join(summary["did_not_finish"])
    print(
        f"\n{summary['passed']} passed, {summary['failed']} failed"
        + (f"; did not finish: {unfinished}" if unfinished else "")
        + f"\nresults: {args.out}  logs: {args.logs}"
    )
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
