"""Workspace files on a real filesystem: writes, reads, edits, limits, deletes, renames, export."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from gemma_chat.errors import (
    EditMatchError,
    WorkspaceConflictError,
    WorkspaceError,
    WorkspaceLimitError,
    WorkspaceNotFoundError,
    WorkspacePathError,
)
from gemma_chat.util import atomic as atomic_module
from gemma_chat.workspace import Workspace
from gemma_chat.workspace import files as files_module


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def _names(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# -- write and read ------------------------------------------------------------------------------


def test_root_is_created(tmp_path: Path) -> None:
    Workspace(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


def test_write_creates_parents_and_reports(ws: Workspace) -> None:
    first = ws.write("css/site/main.css", "body { color: red; }\n")
    assert (first.path, first.created, first.status, first.size) == (
        "css/site/main.css",
        True,
        "created",
        21,
    )
    second = ws.write("./css\\site/main.css", "p {}\n")
    assert (second.created, second.status, second.size) == (False, "updated", 5)
    assert ws.read("css/site/main.css") == "p {}\n"


def test_write_keeps_bytes_exactly(ws: Workspace) -> None:
    content = "line 1\r\nline 2\n\ttabbed ünïcödé 😀\nno newline at end"
    ws.write("a.txt", content)
    assert (ws.root / "a.txt").read_bytes() == content.encode("utf-8")
    assert ws.read("a.txt") == content


def test_write_refuses_bad_content(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="not valid text"):
        ws.write("a.txt", "bad \ud800 surrogate")
    with pytest.raises(WorkspaceError):
        ws.write("a.txt", b"bytes")  # type: ignore[arg-type]
    assert ws.list() == []


def test_write_over_a_folder_or_under_a_file(ws: Workspace) -> None:
    ws.write("dir/a.txt", "a")
    with pytest.raises(WorkspaceConflictError, match="folder"):
        ws.write("dir", "x")
    with pytest.raises(WorkspaceConflictError, match=re.escape("'dir/a.txt' is a file")):
        ws.write("dir/a.txt/b.txt", "x")


def test_read_ranges(ws: Workspace) -> None:
    ws.write("a.txt", "one\ntwo\nthree\nfour\n")
    assert ws.read("a.txt", 2, 3) == "two\nthree\n"
    assert ws.read("a.txt", 3) == "three\nfour\n"
    assert ws.read("a.txt", end_line=1) == "one\n"
    assert ws.read("a.txt", 4, 99) == "four\n"  # end is clamped
    with pytest.raises(WorkspaceError, match="start_line must be 1 or more"):
        ws.read("a.txt", 0, 2)
    with pytest.raises(WorkspaceError, match="before start_line"):
        ws.read("a.txt", 3, 2)
    with pytest.raises(WorkspaceError, match="has 4 lines"):
        ws.read("a.txt", 5)
    with pytest.raises(WorkspaceError, match="whole number"):
        ws.read("a.txt", "2")  # type: ignore[arg-type]
    ws.write("empty.txt", "")
    assert ws.read("empty.txt", 1, 5) == ""


def test_read_lines_split_on_newline_only(ws: Workspace) -> None:
    ws.write("a.txt", "a\x0cb\u2028c\nd")
    assert ws.read("a.txt", 2, 2) == "d"


def test_read_errors(ws: Workspace) -> None:
    ws.write("index.html", "x")
    ws.write("src/app.js", "x")
    with pytest.raises(WorkspaceNotFoundError, match=re.escape("Did you mean 'index.html'")):
        ws.read("index.htm")
    with pytest.raises(
        WorkspaceNotFoundError, match=re.escape("The project has: 'index.html', 'src/app.js'")
    ):
        ws.read("zzz.css")
    with pytest.raises(WorkspaceConflictError, match=r"folder.*'src/app\.js'"):
        ws.read("src")
    (ws.root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    with pytest.raises(WorkspaceError, match="binary"):
        ws.read("img.png")
    (ws.root / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        ws.read("latin.txt")
    with pytest.raises(WorkspacePathError):
        ws.read("../etc/passwd")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_read_refuses_special_files(ws: Workspace) -> None:
    os.mkfifo(ws.root / "pipe")
    with pytest.raises(WorkspaceConflictError, match="not a regular file"):
        ws.read("pipe")  # would block forever if opened


def test_list_is_sorted_and_hides_git_and_symlinks(ws: Workspace, tmp_path: Path) -> None:
    ws.write("b.js", "bb")
    ws.write("a/z.css", "z")
    ws.write("A.txt", "")
    (ws.root / ".git").mkdir()
    (ws.root / ".git" / "config").write_text("x", encoding="utf-8")
    os.symlink("/etc/hostname", ws.root / "host")
    (ws.root / "a" / ".gcw-abcd1234.tmp").write_text("left by a crash", encoding="utf-8")
    infos = ws.list()
    assert [info.path for info in infos] == ["A.txt", "a/z.css", "b.js"]
    assert infos[2].size == 2
    assert abs(infos[2].mtime - time.time()) < 60
    assert ws.usage() == (3, 3)


# -- atomic writes ---------------------------------------------------------------------------------


def test_failed_replace_keeps_old_content_and_no_temp(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write("dir/a.txt", "old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files_module.os, "replace", broken_replace)
    with pytest.raises(WorkspaceError, match=re.escape("Cannot write 'dir/a.txt'")):
        ws.write("dir/a.txt", "new content")
    monkeypatch.undo()
    assert ws.read("dir/a.txt") == "old"
    assert _names(ws.root) == ["dir", "dir/a.txt"]


def test_failed_fsync_leaves_no_temp(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", broken_fsync)
    with pytest.raises(WorkspaceError, match="No space left"):
        ws.write("a.txt", "new")
    monkeypatch.undo()
    assert _names(ws.root) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_keeps_old_content(ws: Workspace) -> None:
    ws.write("dir/a.txt", "old")
    (ws.root / "dir").chmod(0o555)
    try:
        with pytest.raises(WorkspaceError):
            ws.write("dir/a.txt", "new")
    finally:
        (ws.root / "dir").chmod(0o755)
    assert ws.read("dir/a.txt") == "old"
    assert _names(ws.root) == ["dir", "dir/a.txt"]


def test_unwritable_folder_keeps_old_content(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only folder does, also when the tests run as root (which ignores modes)."""
    ws.write("dir/a.txt", "old")

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_module.tempfile, "mkstemp", denied)
    with pytest.raises(WorkspaceError, match="Permission denied"):
        ws.write("dir/a.txt", "new")
    monkeypatch.undo()
    assert ws.read("dir/a.txt") == "old"
    assert _names(ws.root) == ["dir", "dir/a.txt"]


def test_write_keeps_file_mode(ws: Workspace) -> None:
    ws.write("run.sh", "#!/bin/sh\n")
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o644
    (ws.root / "run.sh").chmod(0o755)
    ws.write("run.sh", "#!/bin/sh\necho\n")
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o755


# -- limits ----------------------------------------------------------------------------------------


def test_per_file_limit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", max_file_bytes=10)
    ws.write("ok.txt", "x" * 10)
    with pytest.raises(WorkspaceLimitError, match="limit of 10 bytes for one file"):
        ws.write("big.txt", "x" * 11)
    with pytest.raises(WorkspaceLimitError):
        ws.write("ok.txt", "é" * 6)  # 12 bytes: the limit counts UTF-8 bytes
    assert ws.read("ok.txt") == "x" * 10
    assert [i.path for i in ws.list()] == ["ok.txt"]


def test_total_limit_counts_the_replaced_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", max_total_bytes=100)
    ws.write("a.txt", "a" * 60)
    ws.write("a.txt", "a" * 90)  # 90 in all, not 150
    ws.write("b.txt", "b" * 10)
    with pytest.raises(WorkspaceLimitError, match="101 bytes, over its 100-byte limit"):
        ws.write("c.txt", "c")
    with pytest.raises(WorkspaceLimitError):
        ws.write("a.txt", "a" * 91)
    assert ws.usage() == (2, 100)


def test_file_count_limit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", max_files=2)
    ws.write("a.txt", "a")
    ws.write("b/c.txt", "c")
    ws.write("a.txt", "replacing is fine")
    with pytest.raises(WorkspaceLimitError, match="already has 2 files"):
        ws.write("d.txt", "d")
    assert not (ws.root / "d.txt").exists()
    ws.delete("a.txt")
    ws.write("d.txt", "d")


def test_edit_respects_limits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", max_file_bytes=10)
    ws.write("a.txt", "abc")
    with pytest.raises(WorkspaceLimitError):
        ws.edit("a.txt", "b", "b" * 20)
    assert ws.read("a.txt") == "abc"


# -- edit ------------------------------------------------------------------------------------------

APP = """function add(a, b) {
  return a + b;
}

function sub(a, b) {
  return a - b;
}

const DEBUG = false;
const LIMIT = 42;
"""


def test_edit_unique_match(ws: Workspace) -> None:
    ws.write("app.js", APP)
    result = ws.edit("app.js", "  return a - b;", "  return a - b - 0;")
    assert (result.path, result.replacements, result.line) == ("app.js", 1, 6)
    assert result.size == len(APP) + 4
    assert "return a - b - 0;" in ws.read("app.js")


def test_edit_multiple_matches_needs_replace_all(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(EditMatchError) as info:
        ws.edit("app.js", "(a, b)", "(x, y)")
    message = str(info.value)
    assert "occurs 2 times" in message
    assert "lines 1, 5" in message
    assert "replace_all" in message
    assert ws.read("app.js") == APP
    result = ws.edit("app.js", "(a, b)", "(x, y)", replace_all=True)
    assert (result.replacements, result.line) == (2, 1)
    assert ws.read("app.js").count("(x, y)") == 2


def test_edit_no_match_gives_closest_text_and_line(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(EditMatchError) as info:
        ws.edit("app.js", "function sub(a, c) {\n  return a - c;\n}", "x")
    message = str(info.value)
    assert "not found in 'app.js'" in message
    assert "lines 5-7" in message
    assert "function sub(a, b) {\n  return a - b;\n}" in message
    assert ws.read("app.js") == APP


def test_edit_no_match_single_line(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(EditMatchError, match=r"line 10 \(\d+% similar\):\nconst LIMIT = 42;"):
        ws.edit("app.js", "const LIMT = 42;", "const LIMIT = 43;")


def test_edit_no_match_whitespace_hint(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(EditMatchError, match="only in spaces, indentation"):
        ws.edit("app.js", "    return a + b;", "return 0;")


def test_edit_no_match_nothing_similar(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(EditMatchError, match="Nothing in the file is similar"):
        ws.edit("app.js", "@@@@@@@@@@@@@@@@@@@@@@@@", "x")


def test_edit_closest_match_is_fast_on_big_files(ws: Workspace) -> None:
    lines = [f"const value{i} = compute({i}, 'some text here');" for i in range(35_000)]
    ws.write("big.js", "\n".join(lines) + "\n")
    started = time.perf_counter()
    needle = "const value31337 = compute(31337, 'some text her');\nconst value31338 = x;"
    with pytest.raises(EditMatchError, match="lines 31338-31339"):
        ws.edit("big.js", needle, "y")
    assert time.perf_counter() - started < 5


def test_edit_strings_stay_strings(ws: Workspace) -> None:
    ws.write("app.js", APP)
    ws.edit("app.js", "false", "true")
    ws.edit("app.js", "42", "1e3")
    ws.edit("app.js", "1e3", "null")
    text = ws.read("app.js")
    assert "const DEBUG = true;" in text
    assert "const LIMIT = null;" in text


def test_edit_argument_errors(ws: Workspace) -> None:
    ws.write("app.js", APP)
    with pytest.raises(WorkspaceError, match="old_string is empty"):
        ws.edit("app.js", "", "x")
    with pytest.raises(WorkspaceError, match="the same"):
        ws.edit("app.js", "add", "add")
    with pytest.raises(WorkspaceNotFoundError, match="write_file"):
        ws.edit("missing.js", "a", "b")


def test_edit_file_with_windows_line_endings(ws: Workspace) -> None:
    ws.write("a.txt", "one\r\ntwo\r\nthree\r\n")
    ws.edit("a.txt", "one\ntwo", "uno\ndos")
    assert (ws.root / "a.txt").read_bytes() == b"uno\r\ndos\r\nthree\r\n"


# -- delete, rename, delete_all, export ------------------------------------------------------------


def test_delete_file_prunes_empty_parents(ws: Workspace) -> None:
    ws.write("a/b/c.txt", "c")
    ws.write("a/keep.txt", "k")
    result = ws.delete("a/b/c.txt")
    assert result.removed == ["a/b/c.txt"]
    assert _names(ws.root) == ["a", "a/keep.txt"]
    ws.delete("a/keep.txt")
    assert _names(ws.root) == []
    assert ws.root.is_dir()
    with pytest.raises(WorkspaceNotFoundError):
        ws.delete("a/keep.txt")


def test_delete_folder(ws: Workspace) -> None:
    ws.write("assets/img/a.svg", "<svg/>")
    ws.write("assets/b.css", "b")
    ws.write("index.html", "i")
    assert ws.delete("assets").removed == ["assets/b.css", "assets/img/a.svg"]
    assert _names(ws.root) == ["index.html"]


def test_rename(ws: Workspace) -> None:
    ws.write("old/a.css", "a")
    result = ws.rename("old/a.css", "new/deep/b.css")
    assert (result.path, result.new_path, result.overwritten) == (
        "old/a.css",
        "new/deep/b.css",
        False,
    )
    assert _names(ws.root) == ["new", "new/deep", "new/deep/b.css"]
    assert ws.read("new/deep/b.css") == "a"


def test_rename_refuses_to_overwrite_unless_asked(ws: Workspace) -> None:
    ws.write("a.txt", "a")
    ws.write("b.txt", "b")
    with pytest.raises(WorkspaceConflictError, match="already exists"):
        ws.rename("a.txt", "b.txt")
    assert ws.read("b.txt") == "b"
    assert ws.rename("a.txt", "b.txt", overwrite=True).overwritten
    assert [i.path for i in ws.list()] == ["b.txt"]
    assert ws.read("b.txt") == "a"


def test_rename_errors(ws: Workspace) -> None:
    ws.write("a.txt", "a")
    ws.write("dir/x.txt", "x")
    with pytest.raises(WorkspaceNotFoundError):
        ws.rename("missing.txt", "b.txt")
    with pytest.raises(WorkspaceConflictError, match="same path"):
        ws.rename("a.txt", "./a.txt")
    with pytest.raises(WorkspaceConflictError, match="folder with that name"):
        ws.rename("a.txt", "dir")
    with pytest.raises(WorkspaceConflictError, match="into itself"):
        ws.rename("dir", "dir/sub")
    with pytest.raises(WorkspacePathError):
        ws.rename("a.txt", "../a.txt")
    assert ws.rename("dir", "folder").new_path == "folder"
    assert [i.path for i in ws.list()] == ["a.txt", "folder/x.txt"]


def test_delete_all(ws: Workspace) -> None:
    ws.write("a/b.txt", "b")
    (ws.root / ".git").mkdir()
    ws.delete_all()
    assert not ws.root.exists()
    ws.delete_all()  # already gone: fine


def test_zip_bytes(ws: Workspace, tmp_path: Path) -> None:
    ws.write("index.html", "<h1>hi</h1>")
    ws.write("css/é.css", "p {}")
    (ws.root / ".git").mkdir()
    (ws.root / ".git" / "config").write_text("secret", encoding="utf-8")
    os.symlink("/etc/hostname", ws.root / "host")
    os.symlink(tmp_path, ws.root / "outside")
    with zipfile.ZipFile(io.BytesIO(ws.zip_bytes())) as archive:
        assert archive.namelist() == ["css/é.css", "index.html"]
        assert archive.read("index.html") == b"<h1>hi</h1>"
