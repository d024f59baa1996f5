"""Workspace names git refuses: the path rules turn them away, and one put on disk by another
program (or any other git failure) no longer stops later turns, diffs and restores."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gemma_chat.agent.tools import run_tool
from gemma_chat.errors import WorkspacePathError
from gemma_chat.workspace import Workspace
from gemma_chat.workspace.paths import git_refuses, normalize
from tests import authed
from tests.sse_client import send

# Each of these is a name git's own path check refuses (core.protectNTFS is on by default
# everywhere, core.protectHFS on macOS); before, the first two were accepted here.
REFUSED = {
    "git~1/config": "short name",
    "GIT~1/HEAD": "short name",
    "Git~2/config": "short name",
    ".git /config": "as Windows reads it",
    ".git../config": "as Windows reads it",
    ".git::$INDEX_ALLOCATION/config": "as Windows reads it",
    ".g\u200cit/config": "invisible characters",
    "\ufeff.git/config": "invisible characters",
    ".git\u200d/config": "invisible characters",
    "sub/.GIT/config": "version history",
}
# Refused here although git takes it: Windows may name '.git' so when GIT~1 is taken.
STRICTER = {"Git~2/config"}
ALLOWED = ["git~1.txt", "git~", "legit~1/a.js", ".gitignore", ".github/ci.yml", ".gitmodules"]


@pytest.mark.parametrize(("path", "rule"), REFUSED.items())
def test_the_path_rules_refuse_every_spelling_of_git(path: str, rule: str) -> None:
    with pytest.raises(WorkspacePathError, match=rule):
        normalize(path)


@pytest.mark.parametrize("path", ALLOWED)
def test_names_git_accepts_stay_allowed(path: str) -> None:
    assert normalize(path) == path


def test_a_symlink_named_gitmodules_is_refused_like_git_does() -> None:
    assert git_refuses(".gitmodules") is None
    assert git_refuses(".GITMODULES", symlink=True)


def test_the_model_is_told_which_rule(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    result = run_tool(ws, "write_file", {"path": "git~1/config", "content": "[core]\n"})
    assert not result.ok
    assert "Windows short name of '.git'" in result.result
    assert not (ws.root / "git~1").exists()


def _git_adds(root: Path, path: str) -> bool:
    """Whether git itself takes the path (protections as on Windows and macOS)."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    git = ["git", "-c", "core.protectNTFS=true", "-c", "core.protectHFS=true"]
    subprocess.run([*git, "init", "-q"], cwd=root, env=env, check=True)
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("x\n")
    done = subprocess.run([*git, "add", "--", path], cwd=root, env=env, capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("path", [*REFUSED, *ALLOWED])
def test_the_rules_agree_with_git_itself(tmp_path: Path, path: str) -> None:
    """The lists above are git's view, not a guess (our rules may refuse more, never less)."""
    assert _git_adds(tmp_path / "repo", path) == (path in ALLOWED or path in STRICTER)


PAGE = """Writing the page.
<action name="write_file">
<path>index.html</path>
<content>
<h1>One</h1>
</content>
</action>
=== turn ===
Done.
"""
EDIT = """Editing.
<action name="write_file">
<path>index.html</path>
<content>
<h1>{n}</h1>
</content>
</action>
=== turn ===
Edited.
"""
SNEAKY = """Writing a config.
<action name="write_file">
<path>git~1/config</path>
<content>
[core]
</content>
</action>
=== turn ===
It did not work.
"""


def _build(server) -> tuple[str, Path]:
    conv = authed.post(f"{server.url}/api/conversations", json={"mode": "build"}).json()["id"]
    return conv, server.settings.data_dir / "workspaces" / conv


def _versions(server, conv: str) -> list[dict]:
    return authed.get(f"{server.url}/api/conversations/{conv}/versions").json()["versions"]


def _notices(events) -> list[str]:
    return [d["message"] for n, d in events if n == "notice"]


def test_a_model_writing_git_1_no_longer_breaks_the_project(start_server, replay_file) -> None:
    server = start_server(replay_file(SNEAKY + "=== turn ===\n" + PAGE))
    conv, root = _build(server)
    events = send(server.url, conv, "Add a config")
    end = next(d for n, d in events if n == "action.end")
    assert not end["ok"] and "short name of '.git'" in end["result"]
    assert not (root / "git~1").exists()
    assert events[-1][1]["reason"] == "stop"
    events = send(server.url, conv, "Make a page")
    assert events[-1][1]["reason"] == "stop" and not _notices(events)
    assert [v["message"] for v in _versions(server, conv)][-1] == "Make a page"


def test_a_refused_name_slipped_in_on_disk_is_left_out_and_the_project_goes_on(
    start_server, replay_file
) -> None:
    script = "=== turn ===\n".join([PAGE, EDIT.format(n="Two"), EDIT.format(n="Three")])
    server = start_server(replay_file(script))
    conv, root = _build(server)
    send(server.url, conv, "Make a page")
    # Another program drops names git refuses into the folder.
    (root / "git~1").mkdir()
    (root / "git~1" / "config").write_text("[core]\n")
    (root / "sub" / ".GIT").mkdir(parents=True)
    (root / "sub" / ".GIT" / "x").write_text("x\n")
    os.symlink("index.html", root / ".gitmodules")

    for n in ("Two", "Three"):
        events = send(server.url, conv, f"Say {n}")
        assert events[-1][1]["reason"] == "stop", events[-1]
        assert not [n for n, _ in events if n == "error"]
        notes = _notices(events)
        assert len(notes) == 1 and "git~1" in notes[0] and "sub/.GIT" in notes[0]
        assert (root / "index.html").read_text() == f"<h1>{n}</h1>"
    versions = _versions(server, conv)
    assert [v["message"] for v in versions][-2:] == ["Say Two", "Say Three"]

    diff = authed.get(
        f"{server.url}/api/conversations/{conv}/versions/diff",
        params={"from": versions[1]["id"], "to": versions[2]["id"]},
    )
    assert diff.status_code == 200 and "+<h1>Two</h1>" in diff.json()["files"][0]["diff"]
    now = authed.get(f"{server.url}/api/conversations/{conv}/versions/diff")
    assert now.status_code == 200, now.text  # the working tree, too
    restored = authed.post(
        f"{server.url}/api/conversations/{conv}/versions/{versions[1]['id']}/restore"
    )
    assert restored.status_code == 200, restored.text
    assert (root / "index.html").read_text() == "<h1>One</h1>"


def test_any_git_failure_is_said_once_and_later_turns_still_work(start_server, replay_file) -> None:
    """A stale lock (git killed mid-write) makes every git add fail, for real."""
    script = "=== turn ===\n".join(
        [PAGE, EDIT.format(n="Two"), EDIT.format(n="Three"), EDIT.format(n="Four")]
    )
    server = start_server(replay_file(script))
    conv, root = _build(server)
    send(server.url, conv, "Make a page")
    before = _versions(server, conv)
    lock = root / ".git" / "index.lock"
    lock.write_text("")

    for n in ("Two", "Three"):
        events = send(server.url, conv, f"Say {n}")
        assert events[-1][1]["reason"] == "stop", events
        assert not [n for n, _ in events if n == "error"]
        notes = _notices(events)
        assert len(notes) == 1 and "could not be recorded" in notes[0]
        assert "index.lock" in notes[0]  # git's own reason is shown
        assert (root / "index.html").read_text() == f"<h1>{n}</h1>"  # files still saved
    assert _versions(server, conv) == before
    diff = authed.get(
        f"{server.url}/api/conversations/{conv}/versions/diff",
        params={"from": before[0]["id"], "to": before[1]["id"]},
    )
    assert diff.status_code == 200 and diff.json()["files"]

    lock.unlink()  # once git works again, versions are recorded again
    events = send(server.url, conv, "Say Four")
    assert not _notices(events)
    assert [v["message"] for v in _versions(server, conv)][-1] == "Say Four"
