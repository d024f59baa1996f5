"""A pytest plugin for tests/test_suite_hygiene.py: after collection, write each test's id,
whether it is marked `slow`, and what in it loads a real model, as JSON to the file named by
GEMMA_CHAT_SUITE_PROBE. Loaded only on request (`-p tests.suite_probe`)."""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# Calls that load a real model: the built-in model held for a module, created, switched to
# or preloaded by the app at start-up, or a llama_cpp.server peer started on it.
REAL_MODEL = re.compile(
    r"\bheld\("
    r"|create_runtime\(\"embedded\"\)"
    r"|start_server\((\"embedded\")?\)"
    r"|\.(switch|use)\(\"embedded\"\)"
    r"|llama_cpp_server_command\("
)


def _source(func: object) -> str:
    try:
        path = inspect.getsourcefile(func)  # type: ignore[arg-type]
        if path is None or not Path(path).resolve().is_relative_to(TESTS):
            return ""
        return inspect.getsource(func)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def loads_a_real_model(item: pytest.Item) -> list[str]:
    """The test function or the fixtures it uses (from tests/) that load a real model."""
    found = []
    function = getattr(item, "function", None)
    if function is not None and REAL_MODEL.search(_source(function)):
        found.append(item.name)
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            if REAL_MODEL.search(_source(fixturedef.func)):
                found.append(f"fixture {name}")
    return found


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    out = os.environ.get("GEMMA_CHAT_SUITE_PROBE")
    if not out:
        return
    rows = [
        {
            "id": item.nodeid,
            "slow": item.get_closest_marker("slow") is not None,
            "loads": loads_a_real_model(item),
        }
        for item in session.items
    ]
    Path(out).write_text(json.dumps(rows), encoding="utf-8")
