"""SQLite connection set-up: WAL, foreign keys, and forward-only migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gemma_chat.store.migrations import MIGRATIONS

DB_FILENAME = "gemma-chat.db"


DatabaseError = sqlite3.Error
"""What any database call may raise; the front ends catch it without importing sqlite3."""


class NewerSchemaError(RuntimeError):
    """The file was written by a newer Gemma Chat; this one cannot read it safely."""


class Database:
    """One connection shared by the server's threads, serialised by a lock.

    Every statement here is small and quick, so a lock costs less than a pool would.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # private from the first byte; SQLite gives -wal/-shm its mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self.migrate()
        except BaseException:
            self._conn.close()  # a damaged file is not held open (it may be moved aside)
            raise

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        with self._lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise NewerSchemaError(
                    f"{self.path} was written by a newer Gemma Chat (schema {current}); "
                    "upgrade gemma-chat to open it."
                )
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                self._conn.executescript(
                    f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
