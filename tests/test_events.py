"""Turn events: one list of names (gemma_chat/events.py), and every party agrees with it.

docs/api.md documents each event, ui/events.js mirrors the names, and each client (the web
UI, the terminal chat, the headless build) handles each event or says why it ignores it.
A new event added to events.py and not to all of these fails here.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from rich.console import Console

from gemma_chat.cli import build as cli_build
from gemma_chat.cli import chat as cli_chat
from gemma_chat.config import Settings
from gemma_chat.events import BUILD_EVENTS, PAYLOADS, TurnEvent
from gemma_chat.workbench import AppState

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "gemma_chat"
UI = SRC / "ui"
API_DOC = ROOT / "docs" / "api.md"
EMITTERS = [SRC / "chat" / "turns.py", *sorted((SRC / "agent").glob("*.py"))]
NAMES = {e.name: e.value for e in TurnEvent}


# --- readers -------------------------------------------------------------------------


def doc_events(text: str) -> set[str]:
    """The first-column names of every `| event | data |` table in the markdown."""
    found: set[str] = set()
    in_table = False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if cells[:2] == ["event", "data"]:
            in_table = True
        elif not line.strip().startswith("|"):
            in_table = False
        elif in_table and not set(cells[0]) <= {"-", ":"}:
            found.update(re.findall(r"`([^`]+)`", cells[0]))
    return found


def js_names(text: str) -> dict[str, str]:
    """KEY: 'value' pairs of events.js's frozen TurnEvent object."""
    body = re.search(r"TurnEvent\s*=\s*Object\.freeze\(\{(.*?)\}\)", text, re.S)
    assert body, "ui/events.js must export `TurnEvent = Object.freeze({...})`"
    return dict(re.findall(r"([A-Z_]+)\s*:\s*'([^']+)'", body.group(1)))


def js_ignored(text: str) -> set[str]:
    """The TurnEvent keys in events.js's IGNORED set."""
    found = re.search(r"IGNORED\s*=\s*Object\.freeze\(new Set\(\[?(.*?)\]?\)\)", text, re.S)
    assert found, "ui/events.js must export `IGNORED = Object.freeze(new Set([...]))`"
    return set(re.findall(r"TurnEvent\.([A-Z_]+)", found.group(1)))


def ui_handled(sources: Iterable[str]) -> set[str]:
    """The TurnEvent keys a `case TurnEvent.KEY:` handles somewhere in the UI."""
    return {key for text in sources for key in re.findall(r"case TurnEvent\.([A-Z_]+)\s*:", text)}


def compared(path: Path) -> set[str]:
    """The TurnEvent members a module compares an event name with (`name == TurnEvent.X`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and getattr(side.value, "id", "") == "TurnEvent":
                    found.add(side.attr)
    return found


def client_gaps(events: Iterable[str], handled: set[str], ignored: set[str]) -> set[str]:
    """Events a client neither handles nor ignores (by value)."""
    return set(events) - handled - ignored


# --- the checks ----------------------------------------------------------------------


def test_docs_table_lists_exactly_the_events() -> None:
    assert doc_events(API_DOC.read_text(encoding="utf-8")) == set(TurnEvent)


def test_every_event_has_a_payload_shape() -> None:
    assert set(PAYLOADS) == set(TurnEvent)
    assert set(TurnEvent) > BUILD_EVENTS  # chat turns send the rest


def test_events_js_mirrors_events_py() -> None:
    assert js_names((UI / "events.js").read_text(encoding="utf-8")) == NAMES


def test_every_event_is_emitted_through_the_names() -> None:
    """Each event has an emit site, and none is published by a bare string any more."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in EMITTERS)
    used = set(re.findall(r"TurnEvent\.([A-Z_]+)", text))
    assert used >= set(NAMES), f"never emitted: {set(NAMES) - used}"
    bare = re.findall(r"publish\(\s*[\"']", text)
    assert not bare, "publish a TurnEvent, not a string"


def test_web_ui_handles_or_ignores_every_event() -> None:
    events_js = (UI / "events.js").read_text(encoding="utf-8")
    sources = [
        p.read_text(encoding="utf-8") for p in sorted(UI.glob("*.js")) if p.name != "events.js"
    ]
    handled, ignored = ui_handled(sources), js_ignored(events_js)
    assert not handled & ignored, f"both handled and ignored: {handled & ignored}"
    assert not client_gaps(NAMES, handled, ignored)
    for text in sources:  # the dispatchers match on the names, never on string literals
        for value in NAMES.values():
            assert f"case '{value}':" not in text, f"use TurnEvent for case '{value}'"


@pytest.mark.parametrize("client", [cli_chat, cli_build], ids=["chat", "build"])
def test_terminal_clients_handle_or_ignore_every_event(client) -> None:
    handled, ignored = set(client.HANDLED), set(client.IGNORED)
    assert not handled & ignored, f"both handled and ignored: {handled & ignored}"
    assert not client_gaps(TurnEvent, handled, ignored), "add it to HANDLED or IGNORED"
    # HANDLED is not just a claim: the module matches on each of those names.
    path = Path(client.__file__)
    assert {e.name for e in handled} <= compared(path), path.name


def test_a_new_event_missing_from_a_client_fails() -> None:
    """The checks above catch an event that only events.py knows about."""
    events = [*TurnEvent, "model.swap"]
    assert client_gaps(events, set(cli_chat.HANDLED), set(cli_chat.IGNORED)) == {"model.swap"}
    assert client_gaps(events, set(cli_build.HANDLED), set(cli_build.IGNORED)) == {"model.swap"}
    sources = [p.read_text(encoding="utf-8") for p in UI.glob("*.js")]
    ui = ui_handled(sources)
    assert client_gaps([*NAMES, "MODEL_SWAP"], ui, set()) == {"MODEL_SWAP"}
    assert doc_events(API_DOC.read_text(encoding="utf-8")) != set(events)


def test_readers_parse_what_they_claim() -> None:
    doc = '| event | data |\n|---|---|\n| `a.b` | x |\n| `c` | `{"k"}` |\n\nText `d`.\n'
    assert doc_events(doc) == {"a.b", "c"}
    js = "export const TurnEvent = Object.freeze({\n  A_B: 'a.b',\n  C: 'c',\n});\n"
    assert js_names(js) == {"A_B": "a.b", "C": "c"}
    assert js_ignored("IGNORED = Object.freeze(new Set([TurnEvent.C]))") == {"C"}
    assert js_ignored("IGNORED = Object.freeze(new Set())") == set()


# --- the terminal chat shows a notice ------------------------------------------------


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


async def test_terminal_chat_prints_the_notice(tmp_path, replay_file, capsys) -> None:
    """An image sent to a text-only model: the turn's `notice` is printed on its own line
    (to stderr in one-shot mode, so stdout stays the bare answer)."""
    spec = replay_file("I only read text.")  # replay takes text only unless ?modalities=
    state = AppState.open(Settings(data_dir=tmp_path / "data", model=spec, port=0))
    try:
        await state.runtimes.switch(spec)
        conversation = state.store.create_conversation("chat", spec)
        upload = state.attachments.save(png_bytes(), "dot.png")
        console = Console(file=io.StringIO())
        reason = await cli_chat.answer(
            state, conversation.id, "What is this?", console, False, attachments=[upload.id]
        )
    finally:
        await state.close()
    out, err = capsys.readouterr()
    assert reason == "stop"
    assert out == "I only read text.\n"
    assert "This model can't see images; the image dot.png was not sent.\n" in err
