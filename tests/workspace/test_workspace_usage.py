"""The usage tally (files, bytes) the limits check, and batched fsyncs: real files throughout."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_chat.errors import WorkspaceLimitError
from gemma_chat.workspace import Versions, Workspace
from gemma_chat.workspace import files as files_module


def _walked(root: Path) -> tuple[int, int]:
    """What a fresh walk of the folder counts (a new Workspace object knows nothing else)."""
    return Workspace(root).usage()


def _no_more_walks(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on a walk of the whole tree fails the test: writes must use the tally."""
    walk = ws._walk

    def guarded(top: Path | None = None):  # type: ignore[no-untyped-def]
        assert top is not None, "the whole tree was walked again"
        return walk(top)

    monkeypatch.setattr(ws, "_walk", guarded)


def test_the_tally_follows_every_change_without_walking_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path / "ws")
    assert ws.usage() == (0, 0)
    _no_more_walks(ws, monkeypatch)
    steps = [
        lambda: ws.write("index.html", "<h1>hi</h1>"),
        lambda: ws.write("src/app.js", "let a = 1;\n"),
        lambda: ws.write("src/lib/util.js", "export {};\n"),
        lambda: ws.write("index.html", "<h1>hello</h1>"),  # replaced: bytes change only
        lambda: ws.write("index.html", "<h1>hello</h1>"),  # unchanged
        lambda: ws.edit("src/app.js", "1", "12345"),
        lambda: ws.rename("src/app.js", "src/main.js"),
        lambda: ws.write("old.txt", "x" * 40),
        lambda: ws.rename("old.txt", "src/main.js", overwrite=True),  # one file fewer
        lambda: ws.rename("src", "lib"),  # a folder: the same files
        lambda: ws.delete("lib/lib"),  # a folder with a file in it
        lambda: ws.delete("index.html"),
    ]
    for step in steps:
        step()
        assert ws.usage() == _walked(ws.root)
    assert ws.usage() == (1, 40)
    ws.delete_all()
    assert not ws.root.exists()
    monkeypatch.undo()
    assert ws.usage() == (0, 0)


def test_an_outside_change_is_seen_by_the_next_turn_and_never_refuses_a_write(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws", max_files=3)
    for name in ("a.txt", "b.txt", "c.txt"):
        ws.write(name, name)
    (ws.root / "a.txt").unlink()  # the user removed one; this object does not know
    (ws.root / "b.txt").unlink()
    assert ws.usage() == (3, 15)  # the tally, as kept
    ws.write("d.txt", "d")  # the limit counts afresh before it refuses
    assert ws.usage() == (2, 6) == _walked(ws.root)
    (ws.root / "e.txt").write_text("eeee", encoding="utf-8")  # added outside
    assert ws.recount() == (3, 10)
    # Each turn opens its Workspace anew, so it starts from what is on disk.
    with pytest.raises(WorkspaceLimitError, match="already has 3 files, the most allowed is 3"):
        Workspace(ws.root, max_files=3).write("f.txt", "f")


def test_limits_keep_their_messages_with_the_tally(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", max_total_bytes=100, max_files=3)
    ws.write("a.txt", "a" * 60)
    ws.write("b.txt", "b" * 30)
    with pytest.raises(WorkspaceLimitError, match="101 bytes, over its 100-byte limit"):
        ws.write("c.txt", "c" * 11)
    ws.delete("b.txt")
    ws.write("c.txt", "c" * 40)  # the delete freed its bytes in the tally
    ws.write("d.txt", "")
    with pytest.raises(WorkspaceLimitError, match="already has 3 files"):
        ws.write("e.txt", "")
    assert ws.usage() == (3, 100) == _walked(ws.root)


def test_a_batch_syncs_each_file_and_folder_once_at_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path / "ws")
    synced: list[str] = []
    real_fsync = files_module.os.fsync

    def fsync(fd: int) -> None:
        synced.append(Path(f"/proc/self/fd/{fd}").resolve().as_posix())
        real_fsync(fd)

    monkeypatch.setattr(files_module.os, "fsync", fsync)
    ws.begin_batch()
    for i in range(30):
        ws.write(f"pkg{i % 3}/f{i}.js", f"// {i}\n")
    ws.write("pkg0/f0.js", "// again\n")
    ws.delete("pkg0/f3.js")
    assert synced == []  # nothing waits on the disk while the batch runs
    ws.end_batch()
    root = ws._real_root()
    files = [f"{root}/pkg{i % 3}/f{i}.js" for i in range(30) if i != 3]
    folders = [root.as_posix(), *(f"{root}/pkg{i}" for i in range(3))]
    assert sorted(synced) == sorted(files + folders)  # each once, the deleted one not at all
    synced.clear()
    ws.write("after.txt", "durable at once again")
    temp, folder = synced  # out of the batch: the file before its rename, then its folder
    assert temp.startswith(f"{root}/.gcw-") and folder == root.as_posix()


def test_a_version_is_durable_once_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git leaves loose objects unsynced; record syncs the ones it wrote and the branch."""
    ws = Workspace(tmp_path / "ws")
    versions = Versions(ws.root)
    versions.record("Empty project")
    ws.write("index.html", "<h1>hi</h1>")
    ws.write("src/app.js", "let a = 1;\n")
    synced: set[str] = set()
    real_fsync = files_module.os.fsync

    def fsync(fd: int) -> None:
        synced.add(Path(f"/proc/self/fd/{fd}").resolve().as_posix())
        real_fsync(fd)

    monkeypatch.setattr(files_module.os, "fsync", fsync)
    version = versions.record("Two files")
    monkeypatch.undo()
    git = versions.git_dir.resolve()
    listed = versions._git("ls-tree", "-r", "-t", "--object-only", version.id).decode().split()
    shas = [version.id, versions._git("rev-parse", f"{version.id}^{{tree}}").decode().strip()]
    for sha in shas + listed:
        assert f"{git}/objects/{sha[:2]}/{sha[2:]}" in synced
    assert f"{git}/refs/heads/main" in synced
