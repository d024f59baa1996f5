"""The confined project folder of one Build-mode conversation: the files the agent's tools change.

Every path goes through `resolve_in`, every write is atomic and size-limited, and every error
says what went wrong and what to do next, because the model reads it and retries.

The limits are checked against a tally of the files (count, bytes) taken by one walk and kept
up to date by every change made here, so a write costs the same in a project of 2,000 files as
in an empty one. Within a batch (a Build turn) the fsyncs wait for `sync()`, which flushes
every file written and each folder once, in parallel: per-write fsyncs cost milliseconds each
and bought nothing the version commit at the end of the turn needs.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import logging
import os
import shutil
import stat
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gemma_chat.errors import (
    EditMatchError,
    WorkspaceConflictError,
    WorkspaceError,
    WorkspaceLimitError,
    WorkspaceNotFoundError,
)
from gemma_chat.util.atomic import atomic_write_bytes
from gemma_chat.workspace.paths import TEMP_PREFIX, TEMP_SUFFIX, is_temp_name, resolve_in

_SNIPPET_CHARS = 1500
_SIMILAR_ENOUGH = 0.5
_FULL_SCAN_BUDGET = 100_000  # characters of windows scored one by one in small files
_CHAR_DIFF_LIMIT = 4000  # needles longer than this are compared line by line
_CANDIDATES = 20  # windows scored in big files
_MAX_HITS = 50  # a needle line found more often than this ('}', '</div>') tells nothing
_SYNC_THREADS = 16  # concurrent fsyncs share the filesystem's journal commits
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str  # relative, posix
    size: int  # bytes
    mtime: float  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: str
    created: bool  # False: an existing file was replaced
    size: int  # bytes written
    lines: int
    unchanged: bool = False  # the file already held exactly this content; nothing was written

    @property
    def status(self) -> str:
        if self.unchanged:
            return "unchanged"
        return "created" if self.created else "updated"


@dataclass(frozen=True, slots=True)
class EditResult:
    path: str
    replacements: int
    line: int  # 1-based line where the first replacement starts
    size: int  # bytes of the file after the edit


@dataclass(frozen=True, slots=True)
class DeleteResult:
    path: str
    removed: list[str]  # every file removed (several when `path` is a folder)


@dataclass(frozen=True, slots=True)
class RenameResult:
    path: str
    new_path: str
    overwritten: bool


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on '\\n' only (as editors count them, unlike splitlines)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def file_etag(data: bytes) -> str:
    """The fingerprint `Workspace.etag` gives a file's bytes."""
    return hashlib.sha256(data).hexdigest()[:32]


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.read_bytes() == data
    except OSError:
        return False


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _quote_list(items: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class Workspace:
    """A folder the model may change only through these methods; `.git` (versions) is hidden."""

    def __init__(
        self,
        root: Path,
        max_file_bytes: int = 2_000_000,
        max_total_bytes: int = 50_000_000,
        max_files: int = 2000,
        private: bool = False,
    ) -> None:
        """`private`: a project inside the data dir, whose files are the user's alone (0600
        files, 0700 folders); a folder of the user's own choosing keeps normal modes."""
        self.root = Path(root)
        self.private = private
        self._file_mode = 0o600 if private else 0o644
        self._dir_mode = 0o700 if private else 0o777  # the umask trims the latter
        self.root.mkdir(mode=self._dir_mode, parents=True, exist_ok=True)
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.max_files = max_files
        self._lock = threading.RLock()
        self._tally: tuple[int, int] | None = None  # (files, bytes); None: walk to find out
        self._unsynced: set[Path] | None = None  # in a batch: written, not yet fsynced
        self._unsynced_dirs: set[Path] = set()  # in a batch: folders whose entries changed
        # In a batch, the root's real path, taken once: realpath costs a stat per folder from
        # `/`, and every stat off the event loop waits for the loop's thread to hand back the
        # GIL. Paths below the root are still resolved on each call (resolve_in).
        self._batch_root: Path | None = None

    # -- paths ---------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The real absolute path for a model-supplied path (raises WorkspacePathError)."""
        return resolve_in(self.root, path)

    def _real_root(self) -> Path:
        if self._batch_root is not None:
            return self._batch_root
        return Path(os.path.realpath(self.root))

    def _rel(self, target: Path) -> str:
        return target.relative_to(self._real_root()).as_posix()

    def _target(self, path: str) -> tuple[Path, str]:
        real_root = self._real_root()  # once: each realpath is a stat per folder of the path
        target = resolve_in(self.root, path, real_root)
        return target, target.relative_to(real_root).as_posix()

    def exists(self, path: str) -> bool:
        return self.resolve(path).exists()

    # -- listing -------------------------------------------------------------------------------

    def _walk(self, top: Path | None = None) -> Iterator[tuple[str, os.stat_result]]:
        """Regular files only: symlinks, `.git`, temporary and special files never show.
        `top`: only the files under this folder (paths stay relative to the root)."""
        real_root = str(self._real_root())
        for dirpath, dirnames, filenames in os.walk(real_root if top is None else top):
            dirnames[:] = [d for d in dirnames if d.casefold() != ".git"]
            for name in filenames:
                if name.casefold() == ".git" or is_temp_name(name):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    yield Path(os.path.relpath(full, real_root)).as_posix(), st

    def list(self) -> list[FileInfo]:
        """All files, sorted by path."""
        infos = [FileInfo(rel, st.st_size, st.st_mtime) for rel, st in self._walk()]
        return sorted(infos, key=lambda info: info.path)

    def usage(self) -> tuple[int, int]:
        """(number of files, total bytes), as the limits count them: the tally, walked for once
        and then kept up to date by this object's changes (see `recount`)."""
        with self._lock:
            if self._tally is None:
                return self.recount()
            return self._tally

    def recount(self) -> tuple[int, int]:
        """Walk the tree again: for when something else changed it (a restore, the user).
        Each turn opens a new Workspace, so a turn always starts from a fresh count."""
        count = total = 0
        for _, st in self._walk():
            count += 1
            total += st.st_size
        with self._lock:
            self._tally = (count, total)
        return count, total

    def _add_usage(self, files: int, size: int) -> None:
        with self._lock:
            if self._tally is not None:
                count, total = self._tally[0] + files, self._tally[1] + size
                # Below zero: something else removed files; count afresh when next needed.
                self._tally = (count, total) if count >= 0 and total >= 0 else None

    @staticmethod
    def _counted(rel: str, st: os.stat_result) -> bool:
        """Whether `_walk` (and so the tally) counts this file."""
        return stat.S_ISREG(st.st_mode) and not is_temp_name(rel.rsplit("/", 1)[-1])

    def _missing(self, rel: str, hint: str = "") -> WorkspaceNotFoundError:
        paths = [info.path for info in self.list()]
        message = f"File not found: {rel!r}."
        close = difflib.get_close_matches(rel, paths, n=3, cutoff=0.6)
        if close:
            message += f" Did you mean {_quote_list(close)}?"
        elif paths:
            message += f" The project has: {_quote_list(paths)}."
        else:
            message += " The project has no files yet."
        return WorkspaceNotFoundError(message + (f" {hint}" if hint else ""))

    def _stat(self, target: Path, rel: str, hint: str = "") -> os.stat_result:
        try:
            return os.stat(target)
        except FileNotFoundError:
            raise self._missing(rel, hint) from None
        except OSError as exc:
            raise WorkspaceError(f"Cannot access {rel!r}: {exc.strerror or exc}.") from None

    # -- reading -------------------------------------------------------------------------------

    def _read_text(self, target: Path, rel: str, hint: str = "") -> str:
        st = self._stat(target, rel, hint)
        if stat.S_ISDIR(st.st_mode):
            inside = [p for p in (i.path for i in self.list()) if p.startswith(rel + "/")]
            listing = f" It contains: {_quote_list(inside)}." if inside else " It is empty."
            raise WorkspaceConflictError(f"{rel!r} is a folder, not a file.{listing}")
        if not stat.S_ISREG(st.st_mode):
            raise WorkspaceConflictError(f"{rel!r} is not a regular file.")
        if st.st_size > self.max_file_bytes:
            raise WorkspaceLimitError(
                f"{rel!r} is {st.st_size:,} bytes, over the {self.max_file_bytes:,}-byte limit "
                "for one file, so it cannot be read here."
            )
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise WorkspaceError(f"Cannot read {rel!r}: {exc.strerror or exc}.") from None
        if b"\0" in data:
            raise WorkspaceError(
                f"{rel!r} is a binary file; only text files can be read or edited."
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise WorkspaceError(
                f"{rel!r} is not UTF-8 text; only UTF-8 text files can be read or edited."
            ) from None

    def read(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        """The file's text, or lines start_line..end_line (1-based, inclusive; end is clamped)."""
        target, rel = self._target(path)
        text = self._read_text(target, rel)
        if start_line is None and end_line is None:
            return text
        lines = split_lines(text)
        start = 1 if start_line is None else start_line
        end = len(lines) if end_line is None else end_line
        for name, value in (("start_line", start), ("end_line", end)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise WorkspaceError(f"{name} must be a whole number, got {value!r}.")
        if start < 1:
            raise WorkspaceError(f"start_line must be 1 or more, got {start}.")
        if not lines:
            return ""
        if start > len(lines):
            raise WorkspaceError(
                f"start_line {start} is past the end of {rel!r}, which has {len(lines)} lines."
            )
        if end < start:
            raise WorkspaceError(f"end_line ({end}) is before start_line ({start}).")
        return "".join(lines[start - 1 : min(end, len(lines))])

    def etag(self, path: str) -> str | None:
        """A fingerprint of the file's bytes (None: no such file), for a hand edit to say
        which copy it was made to (see `Versions.save_by_hand`)."""
        target, rel = self._target(path)
        st = self._existing(target, rel)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            return file_etag(target.read_bytes())
        except OSError as exc:
            raise WorkspaceError(f"Cannot read {rel!r}: {exc.strerror or exc}.") from None

    # -- writing -------------------------------------------------------------------------------

    def write(self, path: str, content: str) -> WriteResult:
        """Create or replace a file atomically (temp file, fsync, rename), within the limits;
        in a batch the fsyncs wait for `sync()`."""
        if not isinstance(content, str):
            raise WorkspaceError("content must be text.")
        target, rel = self._target(path)
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise WorkspaceError(f"Cannot write {rel!r}: the content is not valid text.") from None
        old = self._existing(target, rel)
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise WorkspaceConflictError(
                f"Cannot write {rel!r}: it is a folder. Write a file inside it, "
                f"like '{rel}/index.html'."
            )
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise WorkspaceConflictError(f"Cannot write {rel!r}: it is not a regular file.")
        if old is not None and old.st_size == len(data) and _same_bytes(target, data):
            # Said plainly, so nobody reads "Wrote index.html" for a write that did nothing.
            return WriteResult(rel, False, len(data), len(split_lines(content)), unchanged=True)
        self._check_limits(rel, len(data), None if old is None else old.st_size)
        self._make_parents(target, rel)
        mode = self._file_mode if old is None else stat.S_IMODE(old.st_mode)
        batch = self._unsynced is not None
        try:
            _atomic_write(target, data, mode, durable=not batch)
        except OSError as exc:
            raise WorkspaceError(f"Cannot write {rel!r}: {exc.strerror or exc}.") from None
        if self._unsynced is not None:
            self._unsynced.add(target)
        if is_temp_name(target.name):
            self._forget_usage()  # a name the walk skips: let a walk say what counts
        else:
            self._add_usage(
                1 if old is None else 0, len(data) - (0 if old is None else old.st_size)
            )
        return WriteResult(rel, old is None, len(data), len(split_lines(content)))

    def _existing(self, target: Path, rel: str) -> os.stat_result | None:
        try:
            return os.stat(target)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None  # a parent is a file: _make_parents explains
        except OSError as exc:
            raise WorkspaceError(f"Cannot access {rel!r}: {exc.strerror or exc}.") from None

    def _check_limits(self, rel: str, new_size: int, old_size: int | None) -> None:
        if new_size > self.max_file_bytes:
            raise WorkspaceLimitError(
                f"Cannot write {rel!r}: {new_size:,} bytes is over the limit of "
                f"{self.max_file_bytes:,} bytes for one file. Split it into smaller files."
            )
        count, total = self.usage()
        if self._over(count, total, new_size, old_size):
            # The tally may be stale (files removed by something else): never refuse on it.
            count, total = self.recount()
        if old_size is None and count + 1 > self.max_files:
            raise WorkspaceLimitError(
                f"Cannot create {rel!r}: the project already has {count:,} files, the most allowed "
                f"is {self.max_files:,}. Delete files you no longer need, or put content together."
            )
        new_total = total - (old_size or 0) + new_size
        if new_total > self.max_total_bytes:
            raise WorkspaceLimitError(
                f"Cannot write {rel!r}: the project would hold {new_total:,} bytes, over its "
                f"{self.max_total_bytes:,}-byte limit. Delete or shrink other files first."
            )

    def _over(self, count: int, total: int, new_size: int, old_size: int | None) -> bool:
        if old_size is None and count + 1 > self.max_files:
            return True
        return total - (old_size or 0) + new_size > self.max_total_bytes

    def _make_parents(self, target: Path, rel: str) -> None:
        if target.parent.is_dir():
            return  # the usual case, one stat: then no folder on the way can be a file
        real_root = self._real_root()
        for parent in reversed(target.parents):
            if not parent.is_relative_to(real_root) or parent == real_root:
                continue
            if parent.exists() and not parent.is_dir():
                raise WorkspaceConflictError(
                    f"Cannot write {rel!r}: {self._rel(parent)!r} is a file, not a folder."
                )
        try:
            target.parent.mkdir(mode=self._dir_mode, parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create the folder for {rel!r}: {exc.strerror or exc}."
            ) from None

    # -- editing -------------------------------------------------------------------------------

    def edit(
        self, path: str, old_string: str, new_string: str, replace_all: bool = False
    ) -> EditResult:
        """Replace exact text; it must match once (or set replace_all), else explain and hint."""
        target, rel = self._target(path)
        if not isinstance(old_string, str) or not isinstance(new_string, str):
            raise WorkspaceError("old_string and new_string must be text.")
        if old_string == "":
            raise WorkspaceError(
                "old_string is empty. Give the exact text to replace, or use write_file to "
                "write the whole file."
            )
        if old_string == new_string:
            raise WorkspaceError("old_string and new_string are the same, so nothing would change.")
        text = self._read_text(target, rel, "Use write_file to create it.")
        count = text.count(old_string)
        if count == 0 and "\r\n" in text and "\n" in old_string and "\r\n" not in old_string:
            # The file has Windows line endings; the model almost always writes '\n'.
            crlf_old = old_string.replace("\n", "\r\n")
            if text.count(crlf_old):
                old_string, new_string = crlf_old, new_string.replace("\n", "\r\n")
                count = text.count(old_string)
        if count == 0:
            raise EditMatchError(_no_match_message(rel, text, old_string))
        if count > 1 and not replace_all:
            starts = _match_lines(text, old_string)
            raise EditMatchError(
                f"old_string occurs {count} times in {rel!r} (at lines "
                f"{', '.join(map(str, starts[:20]))}{', ...' if count > 20 else ''}); it must be "
                "unique. Add more surrounding lines to old_string so it matches exactly one place, "
                "or set replace_all to true to change every occurrence."
            )
        line = _line_of(text, text.index(old_string))
        new_text = text.replace(old_string, new_string, -1 if replace_all else 1)
        written = self.write(rel, new_text)
        return EditResult(rel, count if replace_all else 1, line, written.size)

    # -- deleting and renaming -----------------------------------------------------------------

    def delete(self, path: str) -> DeleteResult:
        """Delete a file, or a folder with everything in it; empty parent folders go too."""
        target, rel = self._target(path)
        st = self._stat(target, rel)
        try:
            if stat.S_ISDIR(st.st_mode):
                found = list(self._walk(target))
                removed = [p for p, _ in found]
                shutil.rmtree(target)
                self._add_usage(-len(found), -sum(s.st_size for _, s in found))
            else:
                removed = [rel]
                target.unlink()
                if self._counted(rel, st):
                    self._add_usage(-1, -st.st_size)
        except OSError as exc:
            self._forget_usage()  # a folder may be half removed
            raise WorkspaceError(f"Cannot delete {rel!r}: {exc.strerror or exc}.") from None
        self._changed_dirs(target.parent)
        self._prune_empty_dirs(target.parent)
        return DeleteResult(rel, sorted(removed))

    def rename(self, path: str, new_path: str, overwrite: bool = False) -> RenameResult:
        """Move a file or folder; an existing file at new_path is replaced only if `overwrite`."""
        source, rel = self._target(path)
        dest, new_rel = self._target(new_path)
        src_st = self._stat(source, rel)
        if source == dest:
            raise WorkspaceConflictError(f"{rel!r} and {new_rel!r} are the same path.")
        if dest.is_relative_to(source):
            raise WorkspaceConflictError(f"Cannot move the folder {rel!r} into itself.")
        dest_st = self._existing(dest, new_rel)
        same_file = dest_st is not None and os.path.samestat(src_st, dest_st)
        if same_file and rel.casefold() == new_rel.casefold():
            dest_st = None  # a change of case on a case-insensitive filesystem
        if dest_st is not None:
            if stat.S_ISDIR(dest_st.st_mode):
                raise WorkspaceConflictError(
                    f"Cannot rename {rel!r} to {new_rel!r}: a folder with that name exists. "
                    f"Give the full new path, like '{new_rel}/{source.name}'."
                )
            if not overwrite:
                raise WorkspaceConflictError(
                    f"Cannot rename {rel!r} to {new_rel!r}: that file already exists. "
                    "Delete it first or pick another name."
                )
            if stat.S_ISDIR(src_st.st_mode):
                raise WorkspaceConflictError(
                    f"Cannot replace the file {new_rel!r} with the folder {rel!r}."
                )
        self._make_parents(dest, new_rel)
        try:
            os.replace(source, dest)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot rename {rel!r} to {new_rel!r}: {exc.strerror or exc}."
            ) from None
        if stat.S_ISDIR(src_st.st_mode):
            pass  # the same files under another name
        elif not (self._counted(rel, src_st) and self._counted(new_rel, src_st)):
            self._forget_usage()  # a special or temporary file: let a walk say what counts
        elif dest_st is not None:
            self._add_usage(-1, -dest_st.st_size)  # the overwritten file is gone
        self._changed_dirs(source.parent, dest.parent)
        self._prune_empty_dirs(source.parent)
        return RenameResult(rel, new_rel, dest_st is not None)

    def _forget_usage(self) -> None:
        with self._lock:
            self._tally = None

    def _prune_empty_dirs(self, start: Path) -> None:
        real_root = self._real_root()
        current = start
        while current != real_root and current.is_relative_to(real_root):
            try:
                current.rmdir()
            except OSError:
                return
            current = current.parent

    def delete_all(self) -> None:
        """Remove the whole workspace, versions included (the conversation was deleted)."""
        try:
            if self.root.is_symlink():
                self.root.unlink()
            elif self.root.exists():
                shutil.rmtree(self.root)
        finally:
            self._forget_usage()
            with self._lock:
                if self._unsynced is not None:
                    self._unsynced.clear()
                self._unsynced_dirs.clear()

    # -- durability ----------------------------------------------------------------------------

    def begin_batch(self) -> None:
        """Writes from now on skip their fsyncs (still temp file + rename, so never torn);
        `sync()` makes them durable together. A Build turn is one batch: a crash mid-turn
        may lose that turn's unsynced writes, never a recorded version or an older file."""
        with self._lock:
            if self._unsynced is None:
                self._unsynced = set()
            self._batch_root = Path(os.path.realpath(self.root))

    def end_batch(self) -> None:
        """Sync, and write durably one by one again."""
        self.sync()
        with self._lock:
            self._unsynced = None
            self._batch_root = None

    def sync(self) -> None:
        """fsync every file written in the batch, in parallel, then each folder on the way to
        them once (new entries, renames, removals). Best effort: failures are logged."""
        with self._lock:
            files = sorted(self._unsynced or ())
            dirs = set(self._unsynced_dirs)
            if self._unsynced is not None:
                self._unsynced.clear()
            self._unsynced_dirs.clear()
        real_root = self._real_root()
        for path in files:
            dirs.add(path.parent)
        for folder in list(dirs):  # a new folder's own entry is in its parent
            dirs.update(p for p in folder.parents if p.is_relative_to(real_root))
        fsync_paths(files)
        fsync_paths(sorted(d for d in dirs if d.is_relative_to(real_root)))

    def _changed_dirs(self, *folders: Path) -> None:
        with self._lock:
            if self._unsynced is not None:
                self._unsynced_dirs.update(folders)

    # -- export --------------------------------------------------------------------------------

    def zip_bytes(self) -> bytes:
        """A zip of every file (not `.git`, not symlinks), for download."""
        real_root = self._real_root()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel, st in sorted(self._walk()):
                info = zipfile.ZipInfo(rel, time.localtime(max(st.st_mtime, 315_532_800))[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                try:
                    data = (real_root / rel).read_bytes()
                except OSError:
                    continue  # removed while exporting
                archive.writestr(info, data)
        return buffer.getvalue()


def _atomic_write(target: Path, data: bytes, mode: int, durable: bool = True) -> None:
    """Readers see the old file or the new one, never a half-written one, even after a crash
    (once synced: with `durable=False` the caller fsyncs later, see Workspace.sync). The temp
    file has the workspace's own temp name, which listings and versions skip."""
    atomic_write_bytes(
        target, data, mode=mode, durable=durable, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX
    )


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_paths(paths: Iterable[Path]) -> None:
    """fsync many files or folders at once (one by one, each waits for its own journal
    commit). Best effort: a path gone since is skipped, other failures are logged."""

    def one(path: Path) -> None:
        try:
            _fsync_path(path)
        except FileNotFoundError:
            pass  # removed since it was written: nothing of it to keep
        except OSError as exc:  # a folder some platforms cannot open, a full disk...
            log.warning("could not sync %s: %s", path, exc)

    todo = list(paths)
    if len(todo) <= 2:
        for path in todo:
            one(path)
        return
    with ThreadPoolExecutor(min(_SYNC_THREADS, len(todo)), "workspace-sync") as pool:
        list(pool.map(one, todo))


def _match_lines(text: str, needle: str) -> list[int]:
    lines, start = [], 0
    while (index := text.find(needle, start)) != -1:
        lines.append(_line_of(text, index))
        start = index + len(needle)
    return lines


def _no_match_message(rel: str, text: str, old_string: str) -> str:
    message = f"old_string was not found in {rel!r}."
    if " ".join(old_string.split()) and " ".join(old_string.split()) in " ".join(text.split()):
        message += " It differs from the file only in spaces, indentation or line breaks."
    closest = closest_match(text, old_string)
    if closest is None or closest[2] < _SIMILAR_ENOUGH:
        return message + " Nothing in the file is similar; use read_file to see its current text."
    first, last, ratio, snippet = closest
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    if len(snippet) > _SNIPPET_CHARS:
        snippet = snippet[:_SNIPPET_CHARS] + "\n..."
    return (
        f"{message} The most similar text is at {where} ({ratio:.0%} similar):\n{snippet}\n"
        "Make old_string match the file exactly, including spaces, indentation and line breaks "
        "(use read_file to see the current text), then try again."
    )


def closest_match(text: str, needle: str) -> tuple[int, int, float, str] | None:
    """(first line, last line, similarity 0..1, snippet) of the window most like `needle`.

    Windows span as many lines as the needle. Scoring every window with difflib is quadratic,
    so only likely windows are scored: those aligned on lines the needle shares exactly with the
    file (rare lines weigh more), else, in big files, on lines that look like the needle's.
    """
    lines = [line.rstrip("\r\n") for line in split_lines(text)]
    needle_lines = [line.rstrip("\r") for line in needle.strip("\n").split("\n")]
    if not lines:
        return None
    size = max(1, min(len(needle_lines), len(lines)))
    last = len(lines) - size
    goal = "\n".join(needle_lines)
    starts = _shared_line_starts(lines, needle_lines, last)
    if not starts:
        if (last + 1) * len(goal) <= _FULL_SCAN_BUDGET:
            starts = list(range(last + 1))
        else:
            starts = _look_alike_starts(lines, needle_lines, last)
    best_ratio, best_start = -1.0, 0
    for start, ratio in _scores(lines, starts, size, goal):
        if ratio > best_ratio:
            best_ratio, best_start = ratio, start
    snippet = "\n".join(lines[best_start : best_start + size])
    return best_start + 1, best_start + size, best_ratio, snippet


def _scores(
    lines: list[str], starts: list[int], size: int, goal: str
) -> Iterator[tuple[int, float]]:
    if len(goal) > _CHAR_DIFF_LIMIT:  # long needles: compare lines, not characters
        goal_lines = [line.strip() for line in goal.split("\n")]
        for start in starts:
            window = [line.strip() for line in lines[start : start + size]]
            yield start, difflib.SequenceMatcher(None, window, goal_lines).ratio()
        return
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(goal)
    best = -1.0
    for start in starts:
        matcher.set_seq1("\n".join(lines[start : start + size]))
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, ratio := matcher.ratio())
            yield start, ratio


def _shared_line_starts(lines: list[str], needle_lines: list[str], last: int) -> list[int]:
    """Window starts that line up the needle's lines with identical (stripped) file lines."""
    where: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        if key := line.strip():
            where.setdefault(key, []).append(index)
    votes: dict[int, float] = {}
    for offset, line in enumerate(needle_lines):
        hits = where.get(line.strip(), []) if line.strip() else []
        for index in hits[:_MAX_HITS]:
            start = min(max(index - offset, 0), last)
            votes[start] = votes.get(start, 0.0) + 1 / len(hits)
    return sorted(votes, key=lambda start: (-votes[start], start))[:_CANDIDATES]


def _look_alike_starts(lines: list[str], needle_lines: list[str], last: int) -> list[int]:
    """Window starts aligned on the file lines that look most like the needle's longest lines."""
    probes = sorted(
        ((offset, line.strip()) for offset, line in enumerate(needle_lines) if line.strip()),
        key=lambda probe: -len(probe[1]),
    )[:2]
    scored: list[tuple[float, int]] = []
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for offset, probe in probes:
        matcher.set_seq2(probe)
        for index, line in enumerate(lines):
            matcher.set_seq1(line.strip())
            if matcher.real_quick_ratio() >= 0.5 and (quick := matcher.quick_ratio()) >= 0.5:
                scored.append((quick, index - offset))
    scored.sort(key=lambda item: -item[0])
    return sorted({min(max(start, 0), last) for _, start in scored[: _CANDIDATES * 3]}) or [0]
