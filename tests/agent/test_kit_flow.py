"""The tiny-model kit flow's decisions, with the model's lines given (the real model runs in
test_embedded_build.py): which kit, which values, budgets, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_chat.agent.kit_flow import KitFlow
from gemma_chat.agent.tools import ToolResult, run_tool
from gemma_chat.kits.actions import current_values, project_kit
from gemma_chat.runtimes.base import ChatMessage
from gemma_chat.workspace import Workspace


class Recorder:
    def __init__(self, ws: Workspace, lines: list[str]) -> None:
        self.ws = ws
        self.lines = lines
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.said: list[str] = []
        self.asked: list[str] = []

    async def run_action(self, name: str, params: dict[str, str]) -> ToolResult:
        self.calls.append((name, params))
        return run_tool(self.ws, name, params)

    async def generate(self, messages: list[ChatMessage], grammar: str, max_tokens: int) -> str:
        self.asked.append(messages[-1].content)
        assert "root ::=" in grammar and max_tokens < 60
        return self.lines.pop(0) if self.lines else ""

    async def say(self, text: str) -> None:
        self.said.append(text)

    def flow(self) -> KitFlow:
        return KitFlow(self.ws, self.run_action, self.generate, self.say)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "project")


async def test_first_turn_starts_from_the_matching_kit_and_fills_it(ws: Workspace) -> None:
    model = Recorder(ws, ["A Green Stopwatch for my Running Laps"])
    done = await model.flow().first_turn("a green stopwatch for my running laps", None)
    assert done.kit_title == "Stopwatch" and done.refused is None
    assert model.calls[0] == ("start_from", {"kit": "stopwatch"})
    values = current_values(ws, project_kit(ws))  # type: ignore[arg-type]
    assert values["title"] == "Green Stopwatch for my Running Laps"
    assert values["subtitle"] == "Time anything to the hundredth of a second, lap by lap."
    assert values["accent"] == "#22a355"  # "green", read from the request
    assert "stopwatch" in model.said[0].lower()


async def test_an_off_topic_title_gives_way_to_the_request_s_words(ws: Workspace) -> None:
    for line in ("Calculator", "Tip Tip Calculator", ""):  # lost the head word, looped, empty
        ws.delete_all()
        await Recorder(ws, [line]).flow().first_turn("a tip calculator that splits the bill", None)
        values = current_values(ws, project_kit(ws))  # type: ignore[arg-type]
        assert values["title"] == "Tip calculator"


async def test_no_matching_kit_starts_from_the_landing_page_with_the_user_s_words(
    ws: Workspace,
) -> None:
    model = Recorder(ws, [""])
    done = await model.flow().first_turn("a page about the history of the Roman empire", None)
    assert done.kit_title == "Landing page" or project_kit(ws).name == "landing"  # type: ignore[union-attr]
    assert "No starter kit matches" in model.said[0]
    values = current_values(ws, project_kit(ws))  # type: ignore[arg-type]
    assert "Roman" in values["title"] or "history" in values["title"].lower()


async def test_later_turns_map_onto_slots_or_say_it_is_beyond_the_model(ws: Workspace) -> None:
    await Recorder(ws, ["Counter"]).flow().first_turn("a counter", None)
    model = Recorder(ws, [])
    done = await model.flow().later_turn("make the background dark blue")
    assert done.changed == 1 and model.calls == [
        ("set_slot", {"slot": "background", "value": "#00008b"})
    ]
    before = {f.path: ws.read(f.path) for f in ws.list()}
    model = Recorder(ws, [])
    done = await model.flow().later_turn("add a chart of my progress")
    assert done.refused and "beyond the built-in model" in model.said[0]
    assert model.calls == [] and {f.path: ws.read(f.path) for f in ws.list()} == before


async def test_a_project_without_a_kit_is_beyond_the_tiny_model(ws: Workspace) -> None:
    ws.write("index.html", "<h1>Mine</h1>")
    model = Recorder(ws, [])
    done = await model.flow().later_turn("make it blue")
    assert done.refused and "did not start from a starter kit" in done.refused
