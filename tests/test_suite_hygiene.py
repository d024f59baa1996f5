"""The suite's own rules: every test that loads a real model is marked `slow`, and the
slow tests run after the rest (so `-m "not slow"` is the quick run, and a full run gives
the quick answers first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "tests"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The whole suite as pytest collects it: id, `slow`, what loads a real model. (A module
    that fails to import is left out here; it fails on its own in any run.)"""
    out = tmp_path_factory.mktemp("probe") / "items.json"
    probe = ["-p", "tests.suite_probe", "--continue-on-collection-errors"]
    result = subprocess.run(
        [*PYTEST, "--collect-only", "-q", "-p", "no:cacheprovider", *probe],
        cwd=ROOT,
        env={**os.environ, "GEMMA_CHAT_SUITE_PROBE": str(out)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_test_that_loads_a_real_model_is_marked_slow(collected: list[dict]) -> None:
    unmarked = [f"{row['id']} ({', '.join(row['loads'])})" for row in collected
                if row["loads"] and not row["slow"]]  # fmt: skip
    assert not unmarked, "load a real model but are not marked slow:\n" + "\n".join(unmarked)


def test_the_probe_finds_the_real_model_tests(collected: list[dict]) -> None:
    """The check above is only as good as its detector: it must see the known cases."""
    loads = {row["id"]: row["loads"] for row in collected}
    assert loads["tests/test_llama_runtime.py::test_streams_text_and_exact_usage"]
    assert loads["tests/test_api.py::test_streams_a_real_reply_from_the_embedded_model"]
    real_peer = "tests/runtimes/test_openai_compat.py::test_real_server_cancel_within_100ms"
    assert loads[real_peer] == ["fixture llama_cpp_server"]
    assert not loads["tests/test_suite_hygiene.py::test_slow_tests_run_last"]


def test_slow_tests_run_last(collected: list[dict]) -> None:
    order = [row["slow"] for row in collected]
    assert True in order and False in order
    first_slow = order.index(True)
    assert all(order[first_slow:]), "a fast test runs after a slow one"
    # Within each group a module's tests stay together, so module fixtures are built once
    # per group (a module with fast and slow tests is split in two, no more).
    for slow in (False, True):
        modules = [row["id"].split("::")[0] for row in collected if row["slow"] == slow]
        runs = [m for i, m in enumerate(modules) if i == 0 or modules[i - 1] != m]
        assert len(runs) == len(set(runs)), f"a module's {'slow' if slow else 'fast'} tests split"
