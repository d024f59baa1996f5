"""Path confinement: every way a model-written path could reach outside the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gemma_chat.errors import WorkspaceError, WorkspacePathError
from gemma_chat.workspace import Workspace
from gemma_chat.workspace.paths import normalize, resolve_in

REJECTED = [
    # absolute paths and drive letters
    "/etc/passwd",
    "/",
    "\\\\server\\share",
    "\\\\?\\C:\\x",
    "\\etc\\passwd",
    "C:\\x",
    "C:x",
    "c:/x",
    "z:",
    # parent components anywhere
    "..",
    "../x",
    "a/../../b",
    "a/b/../c",
    "a/..",
    "..\\x",
    "a\\..\\..\\b",
    # empty and root
    "",
    " ",
    ".",
    "./",
    "./.",
    "//",
    # control characters
    "a\0b",
    "index.html\0.png",
    "a\nb",
    "index.html\n",
    "a\tb",
    "a\rb",
    "a\x1fb",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\ud800b",
    # Windows device names, any case, any extension, any depth
    "CON",
    "con",
    "con.txt",
    "Nul.js",
    "aux.html",
    "PRN",
    "prn.css.map",
    "COM1",
    "com9.js",
    "LPT1",
    "lpt9.txt",
    "COM¹.txt",
    "conin$",
    "dir/CON/x.js",
    "con .txt",
    # trailing dots and spaces
    "a.",
    "a ",
    "dir./x",
    "dir /x",
    "...",
    "index.html.",
    # reserved characters
    "a<b",
    "a>b",
    'a"b',
    "a|b",
    "a?b",
    "a*b",
    "a:b",
    "dir/a:b.js",
    # too long
    "a" * 256,
    "é" * 128,
    "a/" * 512 + "b",
    # version history
    ".git",
    ".git/config",
    ".GIT/HEAD",
    ".Git",
    "sub/.git/x",
    "./.git/hooks/post-commit",
    # names of in-progress atomic writes
    ".gcw-abc123.tmp",
    "dir/.gcw-x.tmp",
]

ACCEPTED = {
    "a..b.js": "a..b.js",
    ".well-known/x.json": ".well-known/x.json",
    "héllo/wörld.html": "héllo/wörld.html",
    "日本語.txt": "日本語.txt",
    "emoji-😀.txt": "emoji-😀.txt",
    "con-tact.html": "con-tact.html",
    "console.log.js": "console.log.js",
    "COM10.txt": "COM10.txt",
    "nested/deep/dir/file.css": "nested/deep/dir/file.css",
    "%2e%2e/x": "%2e%2e/x",
    "%2e%2e%2fetc%2fpasswd": "%2e%2e%2fetc%2fpasswd",
    "./index.html": "index.html",
    "././index.html": "index.html",
    "a\\b.js": "a/b.js",
    ".\\css\\site.css": "css/site.css",
    "a//b": "a/b",
    "a/./b": "a/b",
    "dir/": "dir",
    ".gitignore": ".gitignore",
    ".github/workflows/ci.yml": ".github/workflows/ci.yml",
    "...a": "...a",
    "a" * 255: "a" * 255,
    "name with spaces.html": "name with spaces.html",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.mark.parametrize("user_path", REJECTED, ids=repr)
def test_rejected(root: Path, user_path: str) -> None:
    with pytest.raises(WorkspacePathError) as info:
        resolve_in(root, user_path)
    message = str(info.value)
    assert message.startswith("Invalid path")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, WorkspaceError)
    assert "\0" not in message and "\n" not in message


@pytest.mark.parametrize(("user_path", "expected"), ACCEPTED.items(), ids=repr)
def test_accepted(root: Path, user_path: str, expected: str) -> None:
    assert normalize(user_path) == expected
    assert resolve_in(root, user_path) == root.resolve() / expected


def test_non_string_rejected(root: Path) -> None:
    with pytest.raises(WorkspacePathError):
        resolve_in(root, None)  # type: ignore[arg-type]


def test_messages_say_why(root: Path) -> None:
    for user_path, words in {
        "../x": "'..'",
        "/etc/passwd": "absolute",
        "C:\\x": "drive",
        "con.txt": "device",
        ".git/config": "version history",
        "a?b": "reserved characters",
        "": "empty",
    }.items():
        with pytest.raises(WorkspacePathError, match=words):
            resolve_in(root, user_path)


def test_total_length_limit_is_characters(root: Path) -> None:
    ok = "/".join(["d" * 9] * 102)  # 1019 characters
    assert len(ok) <= 1024
    resolve_in(root, ok)
    with pytest.raises(WorkspacePathError, match="1024"):
        resolve_in(root, ok + "/abcdef")


# -- symlinks --------------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("secret", encoding="utf-8")
    return path


def _link(link: Path, target: Path | str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def _escape_cases(root: Path, outside: Path) -> dict[str, str]:
    """Build each escape inside `root`; return {case name: path to try}."""
    _link(root / "out", outside)  # directory symlink to a folder outside
    _link(root / "host", "/etc/hostname")  # file symlink to a system file
    _link(root / "dangling", "/nonexistent-gemma-chat/zzz")  # dangling, absolute
    _link(root / "dangling-rel", "../nowhere.txt")  # dangling, relative
    _link(root / "chain-a", "chain-b")  # chain: a -> b -> outside
    _link(root / "chain-b", outside)
    _link(root / "s1/s2/deep", outside)  # deep in the tree
    _link(root / "up", "..")  # relative parent
    _link(root / "git", ".git")  # into the version history
    (root / ".git").mkdir()
    _link(root / "self", ".")  # the root itself
    return {
        "dir-link": "out/secret.txt",
        "dir-link-new-file": "out/new.txt",
        "dir-link-itself": "out",
        "file-link": "host",
        "dangling": "dangling",
        "dangling-relative": "dangling-rel",
        "chain": "chain-a/secret.txt",
        "deep": "s1/s2/deep/new.txt",
        "relative-parent": "up/outside/secret.txt",
        "into-git": "git/config",
        "root-itself": "self",
    }


def test_symlink_escapes(root: Path, outside: Path) -> None:
    cases = _escape_cases(root, outside)
    for name, user_path in cases.items():
        with pytest.raises(WorkspacePathError):
            resolve_in(root, user_path)
            pytest.fail(f"{name}: {user_path!r} was accepted")


def test_symlink_escapes_never_write_outside(root: Path, outside: Path) -> None:
    cases = _escape_cases(root, outside)
    workspace = Workspace(root)
    for user_path in cases.values():
        with pytest.raises(WorkspaceError):
            workspace.write(user_path, "pwned")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text(encoding="utf-8") == "secret"
    assert not Path("/nonexistent-gemma-chat").exists()
    assert not (root.parent / "nowhere.txt").exists()


def test_symlink_inside_the_workspace_is_followed(root: Path) -> None:
    (root / "real").mkdir()
    _link(root / "alias", "real")
    assert resolve_in(root, "alias/x.css") == root.resolve() / "real/x.css"


def test_symlink_loop_is_an_error_not_a_crash(root: Path) -> None:
    _link(root / "loop1", "loop2")
    _link(root / "loop2", "loop1")
    workspace = Workspace(root)
    with pytest.raises(WorkspaceError):
        workspace.write("loop1/x.txt", "x")
    with pytest.raises(WorkspaceError):
        workspace.read("loop1")


def test_root_behind_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    _link(tmp_path / "link-root", real)
    assert resolve_in(tmp_path / "link-root", "a/b.js") == real.resolve() / "a/b.js"
    workspace = Workspace(tmp_path / "link-root")
    workspace.write("a/b.js", "x")
    assert [info.path for info in workspace.list()] == ["a/b.js"]
