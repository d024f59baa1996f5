"""Build-mode tools on a real workspace."""

import pytest

from gemma_chat.agent.tools import TOOLS, run_tool
from gemma_chat.workspace import Workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(tmp_path / "ws")


def test_design_md_tool_names_and_parameters() -> None:
    """The tool table of docs/design.md#tools."""
    expected = {
        "write_file": ["path", "content"],
        "edit_file": ["path", "old_string", "new_string", "replace_all"],
        "read_file": ["path", "start_line", "end_line"],
        "list_files": [],
        "delete_file": ["path"],
        "rename_file": ["path", "new_path"],
        "open_preview": ["path"],
        "start_from": ["kit"],
        "set_slot": ["slot", "value"],
    }
    assert {name: [p.name for p in tool.params] for name, tool in TOOLS.items()} == expected


def test_write_read_list(ws) -> None:
    result = run_tool(ws, "write_file", {"path": "index.html", "content": "<h1>Hi</h1>\n"})
    assert result.ok and result.changed == ("index.html",)
    assert "created index.html" in result.result
    assert run_tool(ws, "read_file", {"path": "index.html"}).result == "<h1>Hi</h1>\n"
    assert "index.html" in run_tool(ws, "list_files", {}).result


def test_string_parameters_stay_strings(ws) -> None:
    run_tool(ws, "write_file", {"path": "config.js", "content": "const debug = false;\n"})
    result = run_tool(
        ws, "edit_file", {"path": "config.js", "old_string": "false", "new_string": "true"}
    )
    assert result.ok
    assert ws.read("config.js") == "const debug = true;\n"
    run_tool(ws, "write_file", {"path": "n.txt", "content": "42"})
    assert ws.read("n.txt") == "42"


def test_typed_parameters_are_coerced_or_rejected(ws) -> None:
    ws.write("a.js", "x x x\n")
    ok = run_tool(
        ws,
        "edit_file",
        {"path": "a.js", "old_string": "x", "new_string": "y", "replace_all": " True "},
    )
    assert ok.ok and ws.read("a.js") == "y y y\n"
    bad = run_tool(
        ws,
        "edit_file",
        {"path": "a.js", "old_string": "y", "new_string": "z", "replace_all": "maybe"},
    )
    assert not bad.ok and "must be true or false" in bad.result
    ws.write("lines.txt", "one\ntwo\nthree\n")
    assert (
        run_tool(ws, "read_file", {"path": "lines.txt", "start_line": "2", "end_line": "2"}).result
        == "two\n"
    )
    bad_line = run_tool(ws, "read_file", {"path": "lines.txt", "start_line": "two"})
    assert not bad_line.ok and "whole number" in bad_line.result


def test_failures_are_reported_not_raised(ws) -> None:
    unknown = run_tool(ws, "format_disk", {})
    assert not unknown.ok and "Available tools: write_file" in unknown.result
    missing = run_tool(ws, "write_file", {"path": "a.html"})
    assert not missing.ok and "<content>" in missing.result
    escape = run_tool(ws, "write_file", {"path": "../outside.txt", "content": "x"})
    assert not escape.ok and escape.result
    no_file = run_tool(ws, "read_file", {"path": "nope.js"})
    assert not no_file.ok
    ws.write("a.js", "let a = 1;\n")
    no_match = run_tool(
        ws, "edit_file", {"path": "a.js", "old_string": "let b = 1;", "new_string": "x"}
    )
    assert not no_match.ok and "let a = 1;" in no_match.result  # the closest match helps a retry


def test_rename_delete_and_preview(ws) -> None:
    ws.write("old.css", "body{}")
    assert run_tool(ws, "rename_file", {"path": "old.css", "new_path": "css/site.css"}).changed == (
        "old.css",
        "css/site.css",
    )
    assert run_tool(ws, "delete_file", {"path": "css/site.css"}).ok
    assert not run_tool(ws, "open_preview", {}).ok  # no index.html yet
    ws.write("index.html", "<p>x</p>")
    preview = run_tool(ws, "open_preview", {})
    assert preview.ok and preview.preview == "index.html"


def test_paths_are_trimmed_but_contents_are_not(ws) -> None:
    result = run_tool(ws, "write_file", {"path": " index.html\n", "content": "\n  x  \n"})
    assert result.ok and result.changed == ("index.html",)
    assert ws.read("index.html") == "\n  x  \n"
