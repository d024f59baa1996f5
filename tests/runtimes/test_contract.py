"""The runtime contract is explicit: what the app asks of a runtime is a typed member of
runtimes/base.py's Runtime (with RuntimeBase's defaults) or a runtime-checkable protocol,
never a getattr/hasattr probe with a default of its own guessing, and every runtime
states the facts the pool and the API read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gemma_chat.runtimes.base import CountsTokens, OffloadsLayers, Runtime, RuntimeBase
from gemma_chat.runtimes.llama import LlamaCppRuntime
from gemma_chat.runtimes.mlx import MlxRuntime
from gemma_chat.runtimes.ollama import OllamaRuntime
from gemma_chat.runtimes.openai_compat import OpenAICompatRuntime
from gemma_chat.runtimes.replay import ReplayRuntime

SRC = Path(__file__).resolve().parents[2] / "src" / "gemma_chat"
RUNTIMEISH = re.compile(r"runtime|model|engine|llm", re.IGNORECASE)


def _members(*types: type) -> frozenset[str]:
    names: set[str] = set()
    for cls in types:
        names |= {n for n in vars(cls) if not n.startswith("_")}
        names |= set(getattr(cls, "__annotations__", {}))
    return frozenset(names)


# What a runtime is asked about: a probe for one of these names is a probe on a runtime,
# whatever the variable holding it is called.
RUNTIME_MEMBERS = _members(Runtime, RuntimeBase, CountsTokens, OffloadsLayers)


def probes(source: str) -> list[str]:
    """getattr/hasattr calls on a runtime (or something named like one) in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and node.args
        ):
            continue
        target = ast.unparse(node.args[0])
        name = node.args[1] if len(node.args) > 1 else None
        member = name.value if isinstance(name, ast.Constant) else None
        if RUNTIMEISH.search(target) or member in RUNTIME_MEMBERS:
            found.append(ast.unparse(node))
    return found


def test_the_check_catches_probes_and_passes_other_getattrs() -> None:
    caught = [
        'getattr(runtime, "loaded", True)',
        'hasattr(rt, "n_gpu_layers")',
        'getattr(state.runtimes.get(model), "path", None)',
        'getattr(thing, "build_grammar", None)',
        "getattr(self._llm, name)",
    ]
    for line in caught:
        assert len(probes(line)) == 1, line
    passed = [
        "getattr(request.state, SIGNED_IN, False)",
        'getattr(args, "data_dir", None)',
        'getattr(image, "n_frames", 1)',
        "getattr(options, key)",
    ]
    for line in passed:
        assert probes(line) == [], line
    assert {"loaded", "resident", "memory_bytes", "model_file", "build_grammar"} <= RUNTIME_MEMBERS
    assert {"defaults", "count_tokens", "n_gpu_layers", "requested_context"} <= RUNTIME_MEMBERS


def test_no_runtime_probes_outside_runtimes() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] == "runtimes":
            continue  # the engines' own code; they may look into their engines' answers
        hits = probes(path.read_text(encoding="utf-8"))
        if hits:
            found[str(relative)] = hits
    assert not found, f"declare these on Runtime (runtimes/base.py) instead: {found}"


@pytest.mark.parametrize(
    "kind", [LlamaCppRuntime, MlxRuntime, OllamaRuntime, OpenAICompatRuntime, ReplayRuntime]
)
def test_every_runtime_states_the_contract(kind: type) -> None:
    assert issubclass(kind, RuntimeBase)
    assert not getattr(kind.loaded, "__isabstractmethod__", False)  # each says what it means


def test_optional_abilities_are_checked_by_protocol(tmp_path: Path) -> None:
    llama = LlamaCppRuntime("gguf:x.gguf", tmp_path / "x.gguf")
    replay = ReplayRuntime(f"replay:{tmp_path / 'script.txt'}")
    assert isinstance(llama, CountsTokens) and isinstance(llama, OffloadsLayers)
    assert not isinstance(replay, CountsTokens) and not isinstance(replay, OffloadsLayers)
    assert llama.model_file == tmp_path / "x.gguf" and llama.resident
    assert replay.model_file is None and not replay.resident and replay.memory_bytes == 0
    assert replay.defaults is None and replay.build_grammar is None
    assert not llama.loaded and not replay.loaded
