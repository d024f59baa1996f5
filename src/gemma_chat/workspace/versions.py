"""Versions of a workspace: one git commit per turn, in a plain repo the user can open with git.

git runs as a subprocess with an environment of its own: no global or system config, no
hooks, no attribute filters, an explicit GIT_DIR (never a repo found in a parent folder), and
no string from the model ever in an option position.

A recorded version is durable: git does not fsync loose objects by default, so `record` fsyncs
the objects it wrote and the branch ref itself, all at once (git's own per-object fsync costs
seconds for a turn of 2,000 files; concurrent fsyncs share the journal's commits).
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from gemma_chat.errors import StaleFileError, VersionError
from gemma_chat.workspace.files import Workspace, WriteResult, fsync_paths
from gemma_chat.workspace.paths import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    git_refuses,
    is_temp_name,
    normalize,
)

FileStatus = Literal["added", "modified", "deleted", "renamed"]

GIT_TIMEOUT_S = 60.0
_USER_NAME = "Gemma Chat"
_USER_EMAIL = "gemma-chat@localhost"
_TRAILER = "Turn-Id"
_TURN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_VERSION_ID = re.compile(r"^[0-9a-fA-F]{4,64}$")
# Highest-precedence attributes: whatever a .gitattributes in the tree says, files are stored
# and checked out byte for byte (no EOL conversion, filters, re-encoding or keyword expansion).
_ATTRIBUTES = "* -text -filter -ident -export-subst !working-tree-encoding !diff !merge\n"
# Everything, ignored files included (-f), but the temporary files of writes in progress.
_ADD_ALL = ("add", "-A", "-f", "--", ".", f":(exclude,glob)**/{TEMP_PREFIX}*{TEMP_SUFFIX}")
_STATUS: dict[str, FileStatus] = {
    "A": "added",
    "M": "modified",
    "T": "modified",
    "D": "deleted",
    "R": "renamed",
}
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class Version:
    id: str  # full commit sha
    index: int  # 1-based position in the history, oldest first
    message: str
    turn_id: str | None
    created_at: str  # ISO 8601, UTC
    files_changed: list[str]  # paths added, modified or deleted by this version


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    status: FileStatus
    diff: str  # unified diff ("Binary files ... differ" for binary files)
    old_path: str | None = None  # for renames


def _lock_for(root: Path) -> threading.RLock:
    key = os.path.realpath(root)
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def _clean_message(message: str) -> str:
    """No control characters but newlines and tabs: they would break parsing of `git log`."""
    text = "".join(ch for ch in message if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127))
    return text.strip()


def _utc(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


class Versions:
    """The version history of one workspace folder (its `.git`)."""

    def __init__(self, workspace_root: Path, timeout_s: float = GIT_TIMEOUT_S) -> None:
        self.root = Path(workspace_root)
        self.timeout_s = timeout_s
        self._lock = _lock_for(self.root)
        # Paths on disk that the last staging left out (git refuses their names), with why.
        self.left_out: dict[str, str] = {}

    # -- git plumbing ----------------------------------------------------------------------------

    @property
    def git_dir(self) -> Path:
        return self.root / ".git"

    def _env(self, index_file: str | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        env.update(
            GIT_DIR=str(self.git_dir),
            GIT_WORK_TREE=str(self.root),
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_OPTIONAL_LOCKS="0",
            GIT_AUTHOR_NAME=_USER_NAME,
            GIT_AUTHOR_EMAIL=_USER_EMAIL,
            GIT_COMMITTER_NAME=_USER_NAME,
            GIT_COMMITTER_EMAIL=_USER_EMAIL,
            LC_ALL="C",
        )
        if index_file is not None:
            env["GIT_INDEX_FILE"] = index_file
        return env

    def _git(self, *args: str, input: bytes | None = None, index_file: str | None = None) -> bytes:
        command = [
            "git",
            "-c", f"core.hooksPath={os.devnull}",
            "-c", "core.autocrlf=false",
            "-c", "core.fsmonitor=false",
            "-c", "commit.gpgsign=false",
            "-c", "gc.autoDetach=false",
            *args,
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                cwd=self.root,
                env=self._env(index_file),
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                check=False,
                timeout=self.timeout_s,
            )
        except subprocess.TimeoutExpired:
            if index_file is None:  # a killed git leaves its lock behind; no one else holds it
                with suppress(OSError):
                    (self.git_dir / "index.lock").unlink()
            raise VersionError(f"git {args[0]} took longer than {self.timeout_s:g} s.") from None
        except FileNotFoundError:
            raise VersionError("git is not installed; versions need the git command.") from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace").strip()
            raise VersionError(f"git {args[0]} failed: {stderr or f'exit {done.returncode}'}")
        return done.stdout

    def _ensure_repo(self) -> None:
        """Create the repo on first use, so a conversation that never builds has no .git."""
        attributes = self.git_dir / "info" / "attributes"
        if attributes.is_file():
            return  # written last: the repo is ready
        if not (self.git_dir / "HEAD").is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            self._git("init", "-q", "--template=", "--initial-branch=main")
        for key, value in (
            ("user.name", _USER_NAME),
            ("user.email", _USER_EMAIL),
            ("commit.gpgsign", "false"),
            ("core.autocrlf", "false"),
            ("core.quotepath", "false"),
            ("core.hooksPath", os.devnull),
            ("gc.autoDetach", "false"),
        ):
            self._git("config", "--local", key, value)
        attributes.parent.mkdir(exist_ok=True)
        attributes.write_text(_ATTRIBUTES, encoding="utf-8")

    def _has_commits(self) -> bool:
        if not (self.git_dir / "HEAD").is_file():
            return False
        try:
            self._git("rev-parse", "-q", "--verify", "HEAD^{commit}")
        except VersionError:
            return False
        return True

    def _worktree_tree(self) -> str:
        """Tree id of the working tree as it is now, without touching the real index."""
        with tempfile.TemporaryDirectory(prefix="gcw-index-") as scratch:
            index = os.path.join(scratch, "index")
            if (self.git_dir / "index").is_file():
                shutil.copyfile(self.git_dir / "index", index)  # keeps stat info: faster add
            self._add_all(index_file=index)
            return self._git("write-tree", index_file=index).decode().strip()

    def _refused_on_disk(self) -> dict[str, str]:
        """Paths in the folder whose names git refuses ('git~1', 'sub/.GIT'...), put there by
        another program: staging leaves them out, since one of them fails every `git add`."""
        found: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(os.path.relpath(dirpath, self.root)).as_posix()
            prefix = "" if rel_dir == "." else f"{rel_dir}/"
            for name in [*dirnames, *filenames]:
                if not prefix and name == ".git":
                    continue  # the history itself
                link = os.path.islink(os.path.join(dirpath, name))
                why = git_refuses(name, symlink=link)
                if why:
                    found[prefix + name] = why
            dirnames[:] = [d for d in dirnames if (prefix + d) not in found and d != ".git"]
        return found

    def _add_all(self, index_file: str | None = None) -> None:
        """Stage the whole working tree; a file deleted mid-scan fails git add, so try again."""
        for attempt in range(3):
            self.left_out = self._refused_on_disk()
            skip = [f":(exclude,literal){path}" for path in sorted(self.left_out)]
            try:
                self._git(*_ADD_ALL, *skip, index_file=index_file)
                return
            except VersionError:
                if attempt == 2:
                    raise

    def _empty_tree(self) -> str:
        return self._git("hash-object", "-t", "tree", "--stdin", input=b"").decode().strip()

    # -- recording ---------------------------------------------------------------------------------

    def record(self, message: str, turn_id: str | None = None) -> Version:
        """Commit the whole working tree (adds, changes, deletions); empty turns get one too."""
        if turn_id is not None and not _TURN_ID.match(turn_id):
            raise VersionError(f"Invalid turn id {turn_id!r}.")
        text = _clean_message(message) or "Version"
        if turn_id is not None:
            text += f"\n\n{_TRAILER}: {turn_id}"
        with self._lock:
            self._ensure_repo()
            started = time.time()
            self._add_all()
            self._git(
                "commit",
                "-q",
                "--allow-empty",
                "--allow-empty-message",
                "--no-verify",
                "--no-gpg-sign",
                "--cleanup=verbatim",
                "-F",
                "-",
                input=(text + "\n").encode("utf-8"),
            )
            self._make_durable(since=started)
            count = int(self._git("rev-list", "--count", "HEAD").decode())
            return self._log("-1", "HEAD", first_index=count)[0]

    def save_by_hand(
        self, workspace: Workspace, path: str, text: str, etag: str | None
    ) -> tuple[WriteResult, Version | None]:
        """The user's own edit of one file: written (within the workspace's limits) only if
        the file is still the copy the edit was made to (`etag`, from `Workspace.etag`; None:
        the file must not exist yet), then recorded as "Edited PATH by hand". An edit that
        changes nothing records nothing (version None). Raises StaleFileError otherwise."""
        with self._lock:  # one per folder: no other hand edit or restore in between
            current = workspace.etag(path)
            if current != etag:
                rel = normalize(path)
                raise StaleFileError(
                    f"{rel!r} was deleted since you opened it."
                    if current is None
                    else f"{rel!r} changed since you opened it (the model or another tab "
                    "wrote it). Reload it to see the new text, then make your change again."
                )
            written = workspace.write(path, text)
            if written.unchanged:
                return written, None
            return written, self.record(f"Edited {written.path} by hand")

    def _make_durable(self, since: float) -> None:
        """fsync the loose objects written since `since` (this commit's blobs, trees and the
        commit), their folders, then the branch ref: a crash cannot leave a version whose
        objects are missing. Best effort, like git's own fsyncs."""
        objects = self.git_dir / "objects"
        fresh: list[Path] = []
        folders: list[Path] = []
        with suppress(OSError):
            for entry in os.scandir(objects):
                if len(entry.name) != 2 or not entry.is_dir(follow_symlinks=False):
                    continue
                new = [
                    Path(obj.path)
                    for obj in os.scandir(entry.path)
                    if obj.stat(follow_symlinks=False).st_mtime >= since - 2  # coarse clocks
                ]
                if new:
                    fresh += new
                    folders.append(Path(entry.path))
        fsync_paths([*fresh, *folders, objects])
        head = (self.git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
        ref = self.git_dir / head.removeprefix("ref: ") if head.startswith("ref: ") else None
        fsync_paths([p for p in (ref, self.git_dir / "packed-refs") if p and p.exists()])
        fsync_paths([ref.parent] if ref else [])

    # -- reading -----------------------------------------------------------------------------------

    def list(self) -> list[Version]:
        """Every version, oldest first."""
        if not self._has_commits():
            return []
        return self._log("--reverse", "HEAD", first_index=1)

    def _log(self, *revs: str, first_index: int) -> builtins.list[Version]:
        out = self._git(
            "log",
            "-z",
            "--no-renames",
            "--name-only",
            f"--format=%x1e%H%x1f%cI%x1f%(trailers:key={_TRAILER},valueonly,separator=%x2C)"
            "%x1f%B%x1f",
            *revs,
            "--",
        ).decode("utf-8", "replace")
        versions = []
        for index, record in enumerate(out.split("\x1e")[1:], start=first_index):
            sha, date, turn, body, names = record.split("\x1f", 4)
            turn_id = turn.strip() or None
            message = body.rstrip("\n")
            trailer = f"\n\n{_TRAILER}: {turn_id}"
            if turn_id and message.endswith(trailer):
                message = message[: -len(trailer)]
            files = sorted({name for name in names.strip("\0\n").split("\0") if name})
            versions.append(Version(sha, index, message, turn_id, _utc(date), files))
        return versions

    def get(self, version_id: str | int) -> Version:
        """A version by its commit id (or a unique prefix of 4+ characters) or its 1-based index.

        Only ids of this history are accepted: the string never reaches git, so `HEAD~1` or
        `--output=x` are simply unknown versions.
        """
        versions = self.list()
        if isinstance(version_id, int) and not isinstance(version_id, bool):
            if 1 <= version_id <= len(versions):
                return versions[version_id - 1]
            raise VersionError(f"Unknown version {version_id}: there are {len(versions)} versions.")
        if not isinstance(version_id, str) or not _VERSION_ID.match(version_id):
            raise VersionError(f"Unknown version {version_id!r}: expected a commit id.")
        prefix = version_id.lower()
        found = [v for v in versions if v.id.startswith(prefix)]
        if not found:
            raise VersionError(f"Unknown version {version_id!r}.")
        if len(found) > 1:
            raise VersionError(f"Version id {version_id!r} is ambiguous; give more characters.")
        return found[0]

    def files_at(self, version_id: str | int) -> builtins.list[str]:
        """The files of a version, sorted (posix paths)."""
        version = self.get(version_id)
        out = self._git("ls-tree", "-r", "-z", "--full-tree", "--name-only", version.id)
        return sorted(name for name in out.decode("utf-8", "replace").split("\0") if name)

    def read_at(self, version_id: str | int, path: str) -> str:
        """A file's text as it was in a version."""
        version = self.get(version_id)
        rel = normalize(path)
        if rel not in self.files_at(version.id):
            raise VersionError(f"Version {version.index} has no file {rel!r}.")
        data = self._git("cat-file", "blob", f"{version.id}:{rel}")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise VersionError(f"{rel!r} in version {version.index} is not UTF-8 text.") from None

    def diff(
        self, from_id: str | int | None, to_id: str | int | None = None, patches: bool = True
    ) -> builtins.list[FileDiff]:
        """Changes from one version to another, sorted by path.

        `from_id=None` means the empty project (so a version's diff from nothing lists every
        file as added); `to_id=None` means the working tree as it is now, unsaved files included.
        `patches=False`: paths and statuses only (`diff` is ""), for a turn's summary.
        """
        with self._lock:
            self._ensure_repo()
            old = self.get(from_id).id if from_id is not None else self._empty_tree()
            new = self.get(to_id).id if to_id is not None else self._worktree_tree()
            return self._diff_trees(old, new, patches)

    def changes(self, version_id: str | int) -> builtins.list[FileDiff]:
        """What one version changed compared with the version before it."""
        version = self.get(version_id)
        before = None if version.index == 1 else version.index - 1
        return self.diff(before, version.id)

    def _diff_trees(self, old: str, new: str, patches: bool = True) -> builtins.list[FileDiff]:
        options = ["--no-color", "--no-ext-diff", "--no-textconv", "-M"]
        names = self._git("diff", *options, "--name-status", "-z", old, new, "--")
        fields = names.decode("utf-8", "replace").split("\0")
        entries: builtins.list[tuple[FileStatus, str, str | None]] = []
        i = 0
        while i < len(fields) and fields[i]:
            code = fields[i][0]
            if code in "RC":
                entries.append(("renamed", fields[i + 2], fields[i + 1]))
                i += 3
            else:
                entries.append((_STATUS.get(code, "modified"), fields[i + 1], None))
                i += 2
        if not patches:
            return [FileDiff(path, status, "", old_path) for status, path, old_path in entries]
        patch = self._git("diff", *options, old, new, "--").decode("utf-8", "replace")
        chunks = re.split(r"^(?=diff --git )", patch, flags=re.MULTILINE)
        chunks = [chunk for chunk in chunks if chunk.startswith("diff --git ")]
        if len(chunks) != len(entries):  # should not happen; never pair a diff with a wrong path
            chunks = [self._one_diff(old, new, path, prev) for _, path, prev in entries]
        return [
            FileDiff(path, status, chunk, old_path)
            for (status, path, old_path), chunk in zip(entries, chunks, strict=True)
        ]

    def _one_diff(self, old: str, new: str, path: str, old_path: str | None) -> str:
        paths = [old_path, path] if old_path else [path]
        out = self._git(
            "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M", old, new, "--", *paths
        )
        return out.decode("utf-8", "replace")

    # -- restoring ---------------------------------------------------------------------------------

    def restore(self, version_id: str | int) -> Version:
        """Make the working tree exactly that version's, then record "Restored version N".

        Unsaved changes are recorded first, so a restore can itself always be undone.
        """
        with self._lock:
            target = self.get(version_id)
            self._add_all()
            head_tree = self._git("rev-parse", "HEAD^{tree}").decode().strip()
            if self._git("write-tree").decode().strip() != head_tree:
                self.record(f"Unsaved changes before restoring version {target.index}")
            self._git("read-tree", "-u", "--reset", target.id)
            self._remove_extra_files(set(self.files_at(target.id)))
            return self.record(f"Restored version {target.index}")

    def _remove_extra_files(self, keep: set[str]) -> None:
        """Belt and braces after read-tree: anything not in the version goes, empty folders too."""
        folders: builtins.list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(os.path.relpath(dirpath, self.root)).as_posix()
            prefix = "" if rel_dir == "." else f"{rel_dir}/"
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = [d for d in dirnames if d.casefold() != ".git" and d not in links]
            folders.extend(os.path.join(dirpath, d) for d in dirnames)
            for name in [*filenames, *links]:
                if name.casefold() == ".git" or is_temp_name(name):
                    continue
                if prefix + name not in keep:
                    with suppress(FileNotFoundError):
                        os.unlink(os.path.join(dirpath, name))
        for folder in reversed(folders):  # deepest first
            with suppress(OSError):
                os.rmdir(folder)  # fails, as it should, when not empty
