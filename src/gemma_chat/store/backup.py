"""Rolling backups of the database, and the two ways out of a damaged one.

Backups use SQLite's online backup API (a consistent copy even while the app writes),
are checked with `PRAGMA quick_check` before older ones are rotated out, and are private
to the user (0600) like the database itself.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

BACKUP_DIR = "backups"
KEEP = 3
MAX_AGE_S = 24 * 3600
_PREFIX = "gemma-chat-"
_SUFFIX = ".db"
# The files SQLite keeps next to a database; they travel with it when it is moved.
_SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup could not be taken or restored; the message says why."""


def _stamp(moment: float | None = None) -> str:
    return datetime.fromtimestamp(moment or time.time(), UTC).strftime("%Y%m%dT%H%M%S%fZ")


def list_backups(backups_dir: Path) -> list[Path]:
    """Backups, newest first (their names sort by the time they were taken)."""
    if not backups_dir.is_dir():
        return []
    found = [
        p for p in backups_dir.iterdir() if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX)
    ]
    return sorted(found, key=lambda p: p.name, reverse=True)


def taken_at(backup: Path) -> datetime:
    stamp = backup.name.removeprefix(_PREFIX).removesuffix(_SUFFIX)
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)


def is_sound(path: Path) -> bool:
    """Whether `path` is a database SQLite reads end to end (quick_check passes)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return [row[0] for row in conn.execute("PRAGMA quick_check")] == ["ok"]
    except sqlite3.Error:
        return False


def _private_file(path: Path) -> None:
    """Create `path` empty and 0600 before anything is written into it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)


def _copy(source: Path, target: Path, self_contained: bool = False) -> None:
    """SQLite's online backup of `source` (opened read-only) into `target`."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        with contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            if self_contained:
                dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
    finally:
        src.close()


def take_backup(db_path: Path, backups_dir: Path, keep: int = KEEP) -> Path:
    """Copy the database into `backups_dir`, verify the copy, then prune the oldest."""
    backups_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = backups_dir / f"{_PREFIX}{_stamp()}{_SUFFIX}"
    partial = final.with_name(final.name + ".partial")
    _private_file(partial)
    try:
        _copy(db_path, partial, self_contained=True)
        if not is_sound(partial):
            raise BackupError(f"the backup of {db_path} failed its check; older ones are kept")
        partial.replace(final)
    except sqlite3.Error as exc:
        raise BackupError(f"could not back up {db_path}: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    for old in list_backups(backups_dir)[keep:]:  # oldest beyond `keep`
        with contextlib.suppress(OSError):
            old.unlink()
    return final


def backup_if_due(db_path: Path, backups_dir: Path, max_age_s: float = MAX_AGE_S) -> Path | None:
    """A new backup when the newest one is older than `max_age_s` (or there is none)."""
    if not db_path.exists():
        return None
    newest = next(iter(list_backups(backups_dir)), None)
    if newest is not None and time.time() - taken_at(newest).timestamp() < max_age_s:
        return None
    return take_backup(db_path, backups_dir)


def move_aside(db_path: Path) -> Path:
    """Rename the database (and its -wal/-shm) to `<name>.damaged-<time>`; keeps every byte."""
    when = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    aside = db_path.with_name(f"{db_path.name}.damaged-{when}")
    for n in range(2, 100):
        if not aside.exists():
            break
        aside = db_path.with_name(f"{db_path.name}.damaged-{when}-{n}")
    db_path.replace(aside)
    for side in _SIDE_FILES:
        extra = db_path.with_name(db_path.name + side)
        if extra.exists():
            extra.replace(aside.with_name(aside.name + side))
    return aside


def restore_latest(db_path: Path, backups_dir: Path) -> tuple[Path, Path | None]:
    """Put the newest sound backup in place of the database, whose files are moved aside.

    Returns (the backup used, where the old database went or None if there was none).
    """
    backup = next((b for b in list_backups(backups_dir) if is_sound(b)), None)
    if backup is None:
        raise BackupError(f"there is no usable backup in {backups_dir}")
    aside = move_aside(db_path) if db_path.exists() else None
    partial = db_path.with_name(db_path.name + ".restoring")
    _private_file(partial)
    try:
        _copy(backup, partial)
        partial.replace(db_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return backup, aside
