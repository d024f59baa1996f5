"""Build-mode tools: what an action may do to the workspace.

Parameters arrive as strings from the action parser and stay strings unless a tool
declares another kind here; that declaration is the only place a value is typed, so
an `edit_file` that writes the text "true" never becomes a boolean by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gemma_chat.errors import KitError, WorkspaceError
from gemma_chat.kits.actions import set_slot, start_from
from gemma_chat.kits.slots import SlotError
from gemma_chat.workspace import Workspace

Kind = Literal["str", "path", "bool", "int"]
TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", ""})


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind = "str"
    required: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What the model reads back (`result`) and what the UI and preview need to know."""

    ok: bool
    result: str
    changed: tuple[str, ...] = ()  # workspace paths written, edited, deleted or renamed
    preview: str | None = None  # a page to show, for open_preview


class ToolError(Exception):
    """A bad call (unknown tool, missing or mistyped parameter): reported, never raised."""


Handler = Callable[[Workspace, dict[str, object]], ToolResult]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    params: tuple[Param, ...]
    handler: Handler = field(repr=False)

    def coerce(self, raw: dict[str, str]) -> dict[str, object]:
        values: dict[str, object] = {}
        for param in self.params:
            if param.name not in raw:
                if param.required:
                    raise ToolError(f"{self.name} needs the parameter <{param.name}>.")
                continue
            values[param.name] = _coerce(self.name, param, raw[param.name])
        return values


def _coerce(tool: str, param: Param, text: str) -> object:
    if param.kind == "str":
        return text
    if param.kind == "path":
        return text.strip()  # small models pad paths with spaces and newlines
    word = text.strip().lower()
    if param.kind == "bool":
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ToolError(f"{tool}: <{param.name}> must be true or false, not {text!r}.")
    try:
        return int(word)
    except ValueError:
        raise ToolError(f"{tool}: <{param.name}> must be a whole number, not {text!r}.") from None


def _write_file(ws: Workspace, p: dict[str, object]) -> ToolResult:
    result = ws.write(str(p["path"]), str(p["content"]))
    if result.unchanged:
        return ToolResult(True, f"No changes to {result.path}: it already had this content.")
    return ToolResult(
        True,
        f"{result.status} {result.path} ({result.lines} lines, {result.size} bytes)",
        (result.path,),
    )


def _edit_file(ws: Workspace, p: dict[str, object]) -> ToolResult:
    result = ws.edit(
        str(p["path"]),
        str(p["old_string"]),
        str(p["new_string"]),
        replace_all=bool(p.get("replace_all", False)),
    )
    times = "1 place" if result.replacements == 1 else f"{result.replacements} places"
    return ToolResult(
        True, f"edited {result.path}: replaced {times} from line {result.line}", (result.path,)
    )


def _read_file(ws: Workspace, p: dict[str, object]) -> ToolResult:
    start, end = p.get("start_line"), p.get("end_line")
    text = ws.read(
        str(p["path"]),
        start if isinstance(start, int) else None,
        end if isinstance(end, int) else None,
    )
    return ToolResult(True, text)


def _list_files(ws: Workspace, _: dict[str, object]) -> ToolResult:
    files = ws.list()
    if not files:
        return ToolResult(True, "The workspace is empty.")
    return ToolResult(True, "\n".join(f"{f.path} ({f.size} bytes)" for f in files))


def _delete_file(ws: Workspace, p: dict[str, object]) -> ToolResult:
    result = ws.delete(str(p["path"]))
    return ToolResult(True, f"deleted {', '.join(result.removed)}", tuple(result.removed))


def _rename_file(ws: Workspace, p: dict[str, object]) -> ToolResult:
    result = ws.rename(str(p["path"]), str(p["new_path"]))
    return ToolResult(
        True, f"renamed {result.path} to {result.new_path}", (result.path, result.new_path)
    )


def _open_preview(ws: Workspace, p: dict[str, object]) -> ToolResult:
    path = str(p.get("path") or "index.html")
    if not ws.exists(path):
        raise ToolError(f"open_preview: {path!r} does not exist yet; write it first.")
    return ToolResult(True, f"showing {path} in the preview", preview=path)


def _start_from(ws: Workspace, p: dict[str, object]) -> ToolResult:
    started = start_from(ws, str(p["kit"]))
    if started.kit is None:
        return ToolResult(True, "Starting from a blank project.")
    return ToolResult(True, started.message, tuple(started.written), preview=started.main)


def _set_slot(ws: Workspace, p: dict[str, object]) -> ToolResult:
    outcome = set_slot(ws, str(p["slot"]), str(p["value"]))
    return ToolResult(True, outcome.message, tuple(outcome.written))


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "write_file",
            "Create a file or replace all of its content.",
            (Param("path", "path"), Param("content")),
            _write_file,
        ),
        Tool(
            "edit_file",
            "Replace an exact, unique piece of text in a file.",
            (
                Param("path", "path"),
                Param("old_string"),
                Param("new_string"),
                Param("replace_all", "bool", required=False),
            ),
            _edit_file,
        ),
        Tool(
            "read_file",
            "Show a file, or lines start_line..end_line of it.",
            (
                Param("path", "path"),
                Param("start_line", "int", required=False),
                Param("end_line", "int", required=False),
            ),
            _read_file,
        ),
        Tool("list_files", "List the files in the project.", (), _list_files),
        Tool("delete_file", "Delete a file or folder.", (Param("path", "path"),), _delete_file),
        Tool(
            "rename_file",
            "Move or rename a file.",
            (Param("path", "path"), Param("new_path", "path")),
            _rename_file,
        ),
        Tool(
            "open_preview",
            "Show a page in the preview.",
            (Param("path", "path", required=False),),
            _open_preview,
        ),
        Tool(
            "start_from",
            "Copy a starter kit (a working app) into the empty project, or start blank.",
            (Param("kit", "path"),),
            _start_from,
        ),
        Tool(
            "set_slot",
            "Set one of the starter kit's slots (a text, number, list or colour).",
            (Param("slot", "path"), Param("value")),
            _set_slot,
        ),
    )
}


def run_tool(workspace: Workspace, name: str, raw_params: dict[str, str]) -> ToolResult:
    """Run one action; every failure becomes an `ok=False` result the model can act on."""
    tool = TOOLS.get(name.strip().lower())
    if tool is None:
        known = ", ".join(TOOLS)
        return ToolResult(False, f"Unknown tool {name!r}. Available tools: {known}.")
    try:
        return tool.handler(workspace, tool.coerce(raw_params))
    except (ToolError, WorkspaceError, KitError, SlotError) as exc:
        return ToolResult(False, str(exc))
