"""Build work off the event loop: tools run in a worker thread, in order, while the server
keeps answering. Real files, real git, scripted model output (replay)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gemma_chat.agent.loop import BuildAgent
from gemma_chat.errors import RuntimeFailure
from gemma_chat.runtimes.base import CancelToken, Capabilities, ChatMessage, TextDelta
from gemma_chat.runtimes.replay import ReplayRuntime
from gemma_chat.workspace import Workspace
from tests import authed
from tests.agent.test_build_turns import create_build
from tests.sse_client import send


def _writes(count: int, between: str = "") -> str:
    return "".join(
        f'{between}<action name="write_file">\n<path>pkg{i % 4}/f{i:03d}.js</path>\n'
        f"<content>\nexport const v{i} = {i};\n</content>\n</action>\n"
        for i in range(count)
    )


def test_the_server_answers_while_a_write_is_in_progress(
    start_server, replay_file, monkeypatch
) -> None:
    """One write is held until the test has had answers from the server: were writes run on
    the event loop, those requests could not be answered and the write would never go on."""
    server = start_server(replay_file(_writes(40) + "=== turn ===\nDone."))
    conv = create_build(server.url)
    entered, released = threading.Event(), threading.Event()
    write = Workspace.write
    calls = 0

    def held_write(self: Workspace, path: str, content: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 20:
            entered.set()
            released.wait(60)
        return write(self, path, content)

    monkeypatch.setattr(Workspace, "write", held_write)
    with ThreadPoolExecutor(1) as pool:
        turn = pool.submit(send, server.url, conv, "Write 40 files")
        try:
            assert entered.wait(60), "the turn never reached its 20th write"
            health = authed.get(f"{server.url}/api/health", timeout=30)
            listed = authed.get(f"{server.url}/api/conversations/{conv}/files", timeout=30)
        finally:
            released.set()
        events = turn.result(120)
    assert health.status_code == 200
    assert len(listed.json()["files"]) == 19  # the writes before the held one, no more
    ends = [d for n, d in events if n == "action.end"]
    assert len(ends) == 40 and all(d["ok"] for d in ends)
    assert events[-1][0] == "turn.end" and "version" in [n for n, _ in events]
    files = authed.get(f"{server.url}/api/conversations/{conv}/files").json()["files"]
    assert len(files) == 40


async def test_actions_apply_and_report_in_order(tmp_path: Path) -> None:
    """Tools start as soon as they are parsed, yet a read sees the write before it, and every
    action's events come out whole and in the model's order."""
    script = tmp_path / "reply.txt"
    script.write_text(
        _writes(30, between="Next.\n")
        + '<action name="read_file">\n<path>pkg1/f029.js</path>\n</action>\n'
        + '<action name="edit_file">\n<path>pkg1/f029.js</path>\n'
        + "<old_string>29;</old_string>\n<new_string>'edited';</new_string>\n</action>\n"
        + '<action name="read_file">\n<path>pkg1/f029.js</path>\n</action>\n'
        + '<action name="delete_file">\n<path>pkg0</path>\n</action>\n'
        + '<action name="list_files">\n</action>\n',
        encoding="utf-8",
    )
    workspace = Workspace(tmp_path / "ws")
    agent = BuildAgent(ReplayRuntime(f"replay:{script}?tps=0"), workspace, "c_test", max_rounds=1)
    events: list[tuple[str, dict[str, Any]]] = []

    async def collect(name: str, data: dict[str, Any]) -> None:
        events.append((name, data))

    outcome = await agent.run([ChatMessage("user", "go")], CancelToken(), collect)
    action_events = [(n, d["id"]) for n, d in events if n.startswith("action.")]
    ids = list(dict.fromkeys(i for _, i in action_events))
    assert len(ids) == 35
    for index, action_id in enumerate(ids):  # one action's events, then the next one's
        mine = [k for k, (_, i) in enumerate(action_events) if i == action_id]
        assert mine == list(range(mine[0], mine[0] + len(mine)))
        assert action_events[mine[0]][0] == "action.start"
        assert action_events[mine[-1]][0] == "action.end"
        if index:
            assert mine[0] > max(k for k, (_, i) in enumerate(action_events) if i == ids[index - 1])
    reads = [a["result"] for a in outcome.actions if a["name"] == "read_file"]
    assert reads == ["", ""]  # read results go to the model, not the chip
    results = outcome.transcript[-1]["content"]
    assert results.index("export const v29 = 29;") < results.index("export const v29 = 'edited';")
    assert [p.path for p in workspace.list()] == [
        f"pkg{i % 4}/f{i:03d}.js" for i in sorted(range(30), key=lambda i: (i % 4, i)) if i % 4
    ]
    assert workspace.usage() == Workspace(workspace.root).usage()


class _FailingRuntime:
    """Streams some actions, then fails as a lost model server would."""

    name = "failing"
    capabilities = Capabilities(8192)

    def __init__(self, text: str) -> None:
        self.text = text

    async def stream(self, messages, options, cancel):  # type: ignore[no-untyped-def]
        for piece in self.text.split("\n"):
            yield TextDelta(piece + "\n")
        raise RuntimeFailure("the model server went away")


async def test_a_failing_model_still_reports_the_actions_it_finished(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    agent = BuildAgent(_FailingRuntime(_writes(5)), workspace, "c_test", max_rounds=1)
    ends: list[dict[str, Any]] = []

    async def collect(name: str, data: dict[str, Any]) -> None:
        if name == "action.end":
            ends.append(data)

    with pytest.raises(RuntimeFailure):
        await agent.run([ChatMessage("user", "go")], CancelToken(), collect)
    assert [d["ok"] for d in ends] == [True] * 5
    assert len(workspace.list()) == 5
