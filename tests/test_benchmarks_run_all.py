"""benchmarks/run_all.py: its table and JSON from runs (pure), and every benchmark it lists
exists and takes `--json`."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
# Written by others alongside this change: listed, but skipped if `--json` is not there yet.
OWNED_ELSEWHERE = {"ui_rate", "history_scale", "build_speed", "long_context"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run_all = _load("run_all")
report = _load("report")


def ok_run(name: str, results: list[dict]) -> object:
    return run_all.Run(name, "ok", 0, 12.0, f"logs/{name}.log", {"name": name, "results": results})


def test_assemble_mixes_results_failures_and_timeouts() -> None:
    runs = [
        ok_run(
            "stream_overhead",
            [
                report.result("decode ratio api/direct", 0.98123456, "x", ">= 0.97", True),
                report.result("decode, direct (median)", 11.5, "tok/s"),  # no target
            ],
        ),
        run_all.Run("preview_latency", "failed", 1, 3.0, "logs/preview_latency.log"),
        run_all.Run("speech", "timeout", None, 600.0, "logs/speech.log"),
        ok_run(
            "upload_memory",
            [report.result("max peak RSS rise", 412, "MB", "<= 300", False)],
        ),
    ]
    document = run_all.assemble(runs, quick=True)
    json.dumps(document)  # all of it serialisable

    assert document["quick"] is True
    assert [b["name"] for b in document["benchmarks"]] == [r.name for r in runs]
    assert document["benchmarks"][2]["status"] == "timeout"
    summary = document["summary"]
    assert summary["did_not_finish"] == ["preview_latency", "speech"]
    assert summary["missed_targets"] == ["upload_memory"]
    assert summary["ok"] is False
    assert summary["passed"] == 1

    table = run_all.table_rows(document["rows"])
    assert table[0] == ("stream_overhead", "decode ratio api/direct", "0.981 x", ">= 0.97", "PASS")
    # a figure without a target: no verdict, and the benchmark named once
    assert table[1] == ("", "decode, direct (median)", "11.5 tok/s", "—", "—")
    failed, timed_out, missed = table[2], table[3], table[4]
    assert failed[0] == "preview_latency" and failed[4] == "FAILED"
    assert "exit 1" in failed[1] and "logs/preview_latency.log" in failed[1]
    assert failed[2] == "—"
    assert timed_out[0] == "speech" and timed_out[4] == "TIMEOUT"
    assert "logs/speech.log" in timed_out[1]
    assert missed == ("upload_memory", "max peak RSS rise", "412 MB", "<= 300", "FAIL")


def test_assemble_all_good_and_rows_from_other_writers() -> None:
    # long_context leaves target/ok out of figures without one; a NaN value comes out as null
    runs = [
        ok_run(
            "long_context",
            [
                {"metric": "ttft before the limit", "value": 1.234, "unit": "s"},
                {"metric": "worst", "value": 1.1, "unit": "x", "target": "<= 1.5", "ok": True},
            ],
        ),
        ok_run("speech", [report.result("first partial", float("nan"), "s", "<= 1.5", None)]),
    ]
    document = run_all.assemble(runs)
    assert document["summary"]["ok"] is True
    assert document["rows"][2]["value"] is None
    table = run_all.table_rows(document["rows"])
    assert table[0] == ("long_context", "ttft before the limit", "1.23 s", "—", "—")
    assert table[1][4] == "PASS"
    assert table[2] == ("speech", "first partial", "—", "<= 1.5", "—")
    text = run_all.plain_table(table, ("benchmark", "metric", "value", "target", "ok"))
    assert "ttft before the limit" in text.splitlines()[2]


def test_empty_results_is_a_failure() -> None:
    document = run_all.assemble([ok_run("build_speed", [])])
    assert document["summary"]["ok"] is False
    assert run_all.table_rows(document["rows"])[0][4] == "FAIL"


def test_select_keeps_the_fixed_order() -> None:
    assert run_all.select(None, None) == list(run_all.BENCHMARKS)
    assert run_all.select("speech,stream_overhead", None) == ["stream_overhead", "speech"]
    assert "speech" not in run_all.select(None, "speech,ui_rate")
    with pytest.raises(SystemExit):
        run_all.select("nope", None)


def test_report_write(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    report.write(path, "x", [report.result("m", 2, "s", "< 3", True)], extra=[1])
    assert json.loads(path.read_text()) == {
        "name": "x",
        "results": [{"metric": "m", "value": 2.0, "unit": "s", "target": "< 3", "ok": True}],
        "extra": [1],
    }
    report.write(None, "x", [])  # no --json: nothing


@pytest.mark.parametrize("name", run_all.BENCHMARKS)
def test_every_listed_benchmark_takes_json(name: str) -> None:
    script = BENCHMARKS_DIR / f"{name}.py"
    assert script.exists(), f"run_all lists {name}, but {script} is missing"
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCHMARKS_DIR.parent,
    )
    if name in OWNED_ELSEWHERE and "--json" not in done.stdout:
        pytest.skip(f"{name}.py has no --json yet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--json" in done.stdout
    assert "--quick" in done.stdout
