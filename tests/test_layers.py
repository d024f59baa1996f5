"""The layer rules in pyproject.toml ([tool.importlinter]) hold, and cannot be dodged.

A new package left out of the layer list would be free to import anything, and an
import moved into a function hides a cycle from a reader (though not from
import-linter), so both are checked here too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "gemma_chat"
# Front ends import sub-commands when they run, so `gemma-chat --help` and `open` start
# without loading the server, llama.cpp or the media libraries.
LAZY_IMPORTS_ALLOWED = ("cli",)
UNLAYERED = {"__init__", "__main__"}  # the package's marker and `python -m gemma_chat`


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def _layered() -> set[str]:
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    return {name.strip() for layer in layers for name in layer.split("|")}


def test_lint_imports_keeps_every_contract() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
         "lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_top_level_module_has_a_layer() -> None:
    modules = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    missing = {m for m in modules - UNLAYERED if f"gemma_chat.{m}" not in _layered()}
    assert not missing, f"add these to the layers in pyproject.toml: {sorted(missing)}"


def test_no_function_level_imports_of_our_own_modules() -> None:
    """Outside the front ends every import of gemma_chat is at the top of its module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] in LAZY_IMPORTS_ALLOWED:
            continue
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if id(node) in top or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            relative = isinstance(node, ast.ImportFrom) and node.level > 0
            if relative or any(n.split(".")[0] == "gemma_chat" for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "move these imports to the top of their module: " + ", ".join(found)


def test_the_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The contract really bites: a copy of the package where the store imports the
    server fails the check."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "gemma_chat", ignore=shutil.ignore_patterns("ui", "kits"))
    shutil.copytree(PACKAGE / "kits", copy / "gemma_chat" / "kits",
                    ignore=shutil.ignore_patterns("data"))  # fmt: skip
    bad = copy / "gemma_chat" / "store" / "upward.py"
    bad.write_text("from gemma_chat.server import app\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, 'src'); "
         "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "gemma_chat.store.upward -> gemma_chat.server" in result.stdout
