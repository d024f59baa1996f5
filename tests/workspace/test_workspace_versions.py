"""Versions with real git: record, list, diff, restore, and a repo the git CLI can read."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

from gemma_chat.errors import VersionError, WorkspacePathError
from gemma_chat.workspace import Version, Versions, Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def versions(ws: Workspace) -> Versions:
    return Versions(ws.root)


def _git_cli(root: Path, *args: str) -> str:
    """The user's view: plain `git` in the folder, no help from our environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _files(ws: Workspace) -> dict[str, str]:
    return {info.path: ws.read(info.path) for info in ws.list()}


def test_no_repo_until_first_record(ws: Workspace, versions: Versions) -> None:
    assert versions.list() == []
    assert not (ws.root / ".git").exists()
    with pytest.raises(VersionError, match="Unknown version"):
        versions.restore("abcdef1")


def test_record_and_list(ws: Workspace, versions: Versions) -> None:
    ws.write("index.html", "<h1>hi</h1>\n")
    ws.write("css/site.css", "h1 { color: red; }\n")
    first = versions.record("Create the page", turn_id="turn_abc123")
    assert isinstance(first, Version)
    assert re.fullmatch(r"[0-9a-f]{40}", first.id)
    assert (first.index, first.message, first.turn_id) == (1, "Create the page", "turn_abc123")
    assert first.files_changed == ["css/site.css", "index.html"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first.created_at)

    empty = versions.record("Nothing changed")  # every turn gets a version
    assert (empty.index, empty.files_changed, empty.turn_id) == (2, [], None)

    ws.edit("index.html", "hi", "hello")
    ws.delete("css/site.css")
    third = versions.record("Edit\n\nwith a body\n# not a comment")
    assert third.files_changed == ["css/site.css", "index.html"]
    assert third.message == "Edit\n\nwith a body\n# not a comment"
    assert versions.list() == [first, empty, third]


def test_record_rejects_odd_turn_ids(versions: Versions) -> None:
    with pytest.raises(VersionError, match="Invalid turn id"):
        versions.record("x", turn_id="a\n\nSigned-off-by: x")


def test_message_control_characters_are_dropped(versions: Versions) -> None:
    version = versions.record("a\x1eb\x1fc\0d\x1b[31m")
    assert version.message == "abcd[31m"
    assert versions.list()[0].message == "abcd[31m"


def test_diff_between_versions(ws: Workspace, versions: Versions) -> None:
    ws.write("index.html", "<h1>hi</h1>\n")
    ws.write("old.css", "p { margin: 0; }\n" * 5)
    ws.write("gone.js", "console.log(1);\n")
    v1 = versions.record("one")
    ws.write("index.html", "<h1>hello</h1>\n")
    ws.rename("old.css", "styles/new.css")
    ws.delete("gone.js")
    ws.write("app.js", "let x = 1;\n")
    v2 = versions.record("two")

    diffs = {d.path: d for d in versions.diff(v1.id, v2.id)}
    assert {p: d.status for p, d in diffs.items()} == {
        "app.js": "added",
        "gone.js": "deleted",
        "index.html": "modified",
        "styles/new.css": "renamed",
    }
    assert diffs["styles/new.css"].old_path == "old.css"
    assert "-<h1>hi</h1>\n+<h1>hello</h1>" in diffs["index.html"].diff
    assert "+let x = 1;" in diffs["app.js"].diff
    assert "-console.log(1);" in diffs["gone.js"].diff
    assert all(d.diff.startswith("diff --git ") for d in diffs.values())

    backwards = {d.path: d.status for d in versions.diff(v2.id, v1.id)}
    assert backwards["app.js"] == "deleted"
    assert backwards["old.css"] == "renamed"

    assert versions.diff(v2.id, v2.id) == []
    assert [d.status for d in versions.diff(None, v1.id)] == ["added"] * 3
    assert [d.path for d in versions.changes(2)] == [d.path for d in versions.diff(1, 2)]
    assert [d.path for d in versions.changes(1)] == ["gone.js", "index.html", "old.css"]


def test_diff_against_working_tree(ws: Workspace, versions: Versions) -> None:
    ws.write("a.txt", "a\n")
    ws.write("b.txt", "b\n")
    v1 = versions.record("one")
    ws.write("a.txt", "A\n")
    ws.delete("b.txt")
    ws.write("new/c.txt", "c\n")  # untracked files count too
    diffs = {d.path: d.status for d in versions.diff(v1.id)}
    assert diffs == {"a.txt": "modified", "b.txt": "deleted", "new/c.txt": "added"}
    # The real index is untouched: the next record still sees all three changes.
    assert versions.record("two").files_changed == ["a.txt", "b.txt", "new/c.txt"]


def test_binary_and_unicode_paths_in_diff(ws: Workspace, versions: Versions) -> None:
    v1 = versions.record("empty")
    ws.write("héllo wörld/日本.txt", "x\n")
    (ws.root / "img.bin").write_bytes(b"\0\1\2\3")
    diffs = {d.path: d for d in versions.diff(v1.id)}
    assert set(diffs) == {"héllo wörld/日本.txt", "img.bin"}
    assert "Binary files" in diffs["img.bin"].diff
    assert versions.record("two").files_changed == ["héllo wörld/日本.txt", "img.bin"]


def test_restore(ws: Workspace, versions: Versions) -> None:
    ws.write("index.html", "v1\n")
    ws.write("keep/a.css", "a\n")
    v1 = versions.record("one")
    ws.write("index.html", "v2\n")
    ws.write("later/deep/b.js", "b\n")
    ws.delete("keep/a.css")
    v2 = versions.record("two")

    restored = versions.restore(v1.id[:7])
    assert (restored.index, restored.message) == (3, "Restored version 1")
    assert _files(ws) == {"index.html": "v1\n", "keep/a.css": "a\n"}
    assert not (ws.root / "later").exists()  # files added later are gone, folders too
    assert versions.diff(v1.id) == []

    # A restore is itself a version, so it can be undone.
    versions.restore(v2.id)
    assert _files(ws) == {"index.html": "v2\n", "later/deep/b.js": "b\n"}
    assert [v.message for v in versions.list()] == [
        "one",
        "two",
        "Restored version 1",
        "Restored version 2",
    ]
    versions.restore(3)
    assert _files(ws) == {"index.html": "v1\n", "keep/a.css": "a\n"}


def test_restore_records_unsaved_changes_first(ws: Workspace, versions: Versions) -> None:
    ws.write("a.txt", "saved\n")
    versions.record("one")
    ws.write("a.txt", "unsaved\n")
    ws.write("extra.txt", "unsaved\n")
    versions.restore(1)
    assert _files(ws) == {"a.txt": "saved\n"}
    messages = [v.message for v in versions.list()]
    assert messages == ["one", "Unsaved changes before restoring version 1", "Restored version 1"]
    versions.restore(2)
    assert _files(ws) == {"a.txt": "unsaved\n", "extra.txt": "unsaved\n"}


def test_restore_removes_untracked_and_ignored_files(ws: Workspace, versions: Versions) -> None:
    v1 = versions.record("empty")
    ws.write(".gitignore", "*\n")
    ws.write("secret/ignored.txt", "x")
    versions.restore(v1.id)
    assert _files(ws) == {}
    assert sorted(p.name for p in ws.root.iterdir()) == [".git"]


def test_gitignore_does_not_hide_files_from_versions(ws: Workspace, versions: Versions) -> None:
    ws.write(".gitignore", "*.css\nbuild/\n")
    ws.write("site.css", "p {}")
    ws.write("build/out.js", "x")
    version = versions.record("one")
    assert version.files_changed == [".gitignore", "build/out.js", "site.css"]


def test_temporary_files_are_not_versioned(ws: Workspace, versions: Versions) -> None:
    ws.write("a.txt", "a")
    (ws.root / ".gcw-abcd1234.tmp").write_text("a write in progress", encoding="utf-8")
    assert versions.record("one").files_changed == ["a.txt"]
    assert [d.path for d in versions.diff(1)] == []


def test_gitattributes_cannot_change_bytes(ws: Workspace, versions: Versions) -> None:
    ws.write(".gitattributes", "* text eol=crlf\n*.txt working-tree-encoding=UTF-16\n")
    ws.write("a.txt", "one\ntwo\n")
    ws.write("b.js", "x\ny\n")
    v1 = versions.record("one")
    ws.delete("a.txt")
    ws.delete("b.js")
    versions.record("two")
    versions.restore(v1.id)
    assert (ws.root / "a.txt").read_bytes() == b"one\ntwo\n"
    assert (ws.root / "b.js").read_bytes() == b"x\ny\n"
    assert versions.read_at(v1.id, "a.txt") == "one\ntwo\n"


@pytest.mark.parametrize(
    "bad_id",
    ["deadbeef", "HEAD", "HEAD~1", "main", "--output=/tmp/gemma-pwned", "-p", "", "abc", 0, 99],
)
def test_unknown_versions(ws: Workspace, versions: Versions, bad_id: str | int) -> None:
    ws.write("a.txt", "a")
    versions.record("one")
    with pytest.raises(VersionError, match="Unknown version"):
        versions.restore(bad_id)
    with pytest.raises(VersionError, match="Unknown version"):
        versions.diff(bad_id)
    with pytest.raises(VersionError, match="Unknown version"):
        versions.files_at(bad_id)
    assert not Path("/tmp/gemma-pwned").exists()
    assert len(versions.list()) == 1
    assert _files(ws) == {"a.txt": "a"}


def test_files_at_and_read_at(ws: Workspace, versions: Versions) -> None:
    ws.write("index.html", "one\n")
    ws.write("js/app.js", "let a = 1;\n")
    v1 = versions.record("one")
    ws.write("index.html", "two\n")
    ws.delete("js/app.js")
    v2 = versions.record("two")
    assert versions.files_at(v1.id) == ["index.html", "js/app.js"]
    assert versions.files_at(v2.id) == ["index.html"]
    assert versions.read_at(v1.id, "index.html") == "one\n"
    assert versions.read_at(v1.id, "./js\\app.js") == "let a = 1;\n"
    assert versions.read_at(2, "index.html") == "two\n"
    with pytest.raises(VersionError, match=re.escape("has no file 'js/app.js'")):
        versions.read_at(v2.id, "js/app.js")
    with pytest.raises(WorkspacePathError):
        versions.read_at(v1.id, "../etc/passwd")
    with pytest.raises(WorkspacePathError):
        versions.read_at(v1.id, ".git/config")


def test_repo_is_usable_by_the_git_cli(ws: Workspace, versions: Versions) -> None:
    ws.write("index.html", "<h1>hi</h1>\n")
    versions.record("First page", turn_id="turn_1")
    ws.write("index.html", "<h1>hello</h1>\n")
    versions.record("Friendlier", turn_id="turn_2")
    assert _git_cli(ws.root, "log", "--format=%s").splitlines() == ["Friendlier", "First page"]
    assert _git_cli(ws.root, "log", "-1", "--format=%(trailers:key=Turn-Id,valueonly)").strip() == (
        "turn_2"
    )
    assert _git_cli(ws.root, "status", "--porcelain") == ""
    assert _git_cli(ws.root, "branch", "--show-current").strip() == "main"
    assert _git_cli(ws.root, "config", "--local", "user.name").strip() == "Gemma Chat"
    assert _git_cli(ws.root, "config", "--local", "commit.gpgsign").strip() == "false"
    assert not (ws.root / ".git" / "hooks").exists()  # no sample hooks copied


def test_isolated_from_user_git_setup(
    tmp_path: Path, ws: Workspace, versions: Versions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile or unusual environment: global config, GIT_DIR of another repo, hooks."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[commit]\n\tgpgsign = true\n[user]\n\tname = Someone Else\n"
        "[core]\n\thooksPath = /nonexistent\n",
        encoding="utf-8",
    )
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True, capture_output=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / "stolen-index"))

    ws.write("a.txt", "a")
    versions.record("one")
    hooks = ws.root / ".git" / "hooks"
    hooks.mkdir()
    marker = tmp_path / "hook-ran"
    for name in ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n", encoding="utf-8")
        (hooks / name).chmod(0o755)
    ws.write("b.txt", "b")
    assert versions.record("two").files_changed == ["b.txt"]
    assert not marker.exists()
    assert not (other / "stolen-index").exists()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert _git_cli(ws.root, "log", "--format=%an").splitlines() == ["Gemma Chat"] * 2
    assert _git_cli(other, "log", "--oneline", "--all") == ""


def test_workspace_inside_another_repo(tmp_path: Path) -> None:
    """A data folder inside some git checkout must still get a repo of its own."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, capture_output=True)
    ws = Workspace(tmp_path / "data" / "ws")
    versions = Versions(ws.root)
    assert versions.list() == []
    ws.write("a.txt", "a")
    assert versions.record("one").index == 1
    assert (ws.root / ".git").is_dir()


def test_delete_all_removes_versions(ws: Workspace, versions: Versions) -> None:
    ws.write("a.txt", "a")
    versions.record("one")
    ws.delete_all()
    assert not ws.root.exists()
    assert Versions(ws.root).list() == []


def test_restore_swaps_files_and_folders(ws: Workspace, versions: Versions) -> None:
    ws.write("a", "file a")
    ws.write("x/y/z.txt", "z")
    versions.record("one")
    ws.delete("a")
    ws.delete("x")
    ws.write("a/b.txt", "b")
    ws.write("x", "file x")
    versions.record("two")
    versions.restore(1)
    assert _files(ws) == {"a": "file a", "x/y/z.txt": "z"}
    versions.restore(2)
    assert _files(ws) == {"a/b.txt": "b", "x": "file x"}


def test_adopts_a_repo_the_user_made(ws: Workspace) -> None:
    ws.write("a.txt", "a")
    _git_cli(ws.root, "init", "-q")
    _git_cli(ws.root, "add", "a.txt")
    _git_cli(ws.root, "-c", "user.name=U", "-c", "user.email=u@x", "commit", "-q", "-m", "mine")
    versions = Versions(ws.root)
    assert [v.message for v in versions.list()] == ["mine"]
    ws.write("b.txt", "b")
    assert versions.record("ours").index == 2
    assert (ws.root / ".git" / "info" / "attributes").is_file()


def test_concurrent_records_are_serialised(ws: Workspace) -> None:
    def work(n: int) -> None:
        versions = Versions(ws.root)  # one instance per thread, as per-request code would do
        for i in range(3):
            ws.write(f"t{n}-{i}.txt", "x")
            versions.record(f"thread {n} step {i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = Versions(ws.root).list()
    assert [v.index for v in history] == list(range(1, 13))
    assert len(Versions(ws.root).files_at(12)) == 12
