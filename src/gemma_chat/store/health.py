"""Is the database usable? Checked before the app starts, so damage gets a short message
naming the file and the ways out instead of a traceback."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from gemma_chat.store.database import Database, NewerSchemaError


class DatabaseUnusable(Exception):
    """The database file cannot be opened or read; `reason` is SQLite's (or ours)."""

    def __init__(self, path: Path, reason: str, newer: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.newer = newer  # written by a newer Gemma Chat: not damage, but not usable here


def check_database(path: Path) -> None:
    """Open (migrating as usual) and run `PRAGMA quick_check`; raise DatabaseUnusable.

    A missing file is fine: the app makes a new one.
    """
    if not path.exists():
        return
    db: Database | None = None
    try:
        db = Database(path)
        problems = [row[0] for row in db.query("PRAGMA quick_check")]
    except NewerSchemaError as exc:
        raise DatabaseUnusable(path, str(exc), newer=True) from None
    except sqlite3.Error as exc:
        raise DatabaseUnusable(path, str(exc)) from None
    finally:
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()
    if problems != ["ok"]:
        shown = "; ".join(problems[:3]) + (" …" if len(problems) > 3 else "")
        raise DatabaseUnusable(path, f"the file is damaged ({shown})")


def is_damage(exc: BaseException) -> bool:
    """Whether a runtime SQLite error means a damaged file (not a busy or misused one)."""
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return True  # malformed image, not a database, corrupt index...
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in text for word in ("malformed", "not a database", "disk i/o", "corrupt")
    )
