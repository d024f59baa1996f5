"""The `attachments` table: which upload is which file, and which message sent it.

media/attachments.py owns the files and their checks; this module owns the rows, so
that SQL stays in store/.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gemma_chat.errors import AttachmentLinkError, NotFound
from gemma_chat.store.database import Database

_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: str
    kind: str
    mime: str
    name: str
    size: int
    path: str  # relative to the attachments folder, POSIX separators
    meta: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    conversation_id: str | None = None
    created_at: str = ""


class AttachmentRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, row: AttachmentRow) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO attachments (id, kind, mime, name, size, path, meta, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row.id, row.kind, row.mime, row.name, row.size, row.path,
                 json.dumps(row.meta), row.created_at),
            )  # fmt: skip

    def link(self, ids: Iterable[str], message_id: str) -> None:
        """Give uploads to a message, all or nothing. NotFound for an unknown message;
        AttachmentLinkError for an unknown id or one another message already has."""
        wanted = list(ids)
        with self.db.transaction() as conn:
            message = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if message is None:
                raise NotFound(f"No message {message_id}")
            for attachment_id in wanted:
                row = conn.execute(
                    "SELECT message_id FROM attachments WHERE id = ?", (attachment_id,)
                ).fetchone()
                if row is None:
                    raise AttachmentLinkError(f"Unknown attachment {attachment_id}")
                if row["message_id"] not in (None, message_id):
                    raise AttachmentLinkError(
                        f"Attachment {attachment_id} already belongs to another message"
                    )
            conn.executemany(
                "UPDATE attachments SET message_id = ?, conversation_id = ? WHERE id = ?",
                [(message_id, message["conversation_id"], a) for a in wanted],
            )

    def set_meta(self, attachment_id: str, key: str, value: Any) -> dict[str, Any]:
        """Set one key of an attachment's `meta` (None removes it); the new meta.
        NotFound for an unknown id."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT meta FROM attachments WHERE id = ?", (attachment_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"No attachment {attachment_id}")
            meta: dict[str, Any] = json.loads(row["meta"] or "{}")
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
            conn.execute(
                "UPDATE attachments SET meta = ? WHERE id = ?", (json.dumps(meta), attachment_id)
            )
        return meta

    def delete(self, attachment_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))

    def unsent_before(self, cutoff: str) -> list[str]:
        """Ids of uploads no message holds, created before `cutoff` (an ISO timestamp)."""
        rows = self.db.query(
            "SELECT id FROM attachments WHERE message_id IS NULL AND created_at < ?", (cutoff,)
        )
        return [row["id"] for row in rows]

    def ids(self) -> set[str]:
        return {row["id"] for row in self.db.query("SELECT id FROM attachments")}

    def get(self, attachment_id: str) -> AttachmentRow:
        rows = self.db.query("SELECT * FROM attachments WHERE id = ?", (attachment_id,))
        if not rows:
            raise NotFound(f"No attachment {attachment_id}")
        return _from_row(rows[0])

    def for_messages(self, message_ids: Iterable[str]) -> dict[str, list[AttachmentRow]]:
        """Every id maps to its attachments (an empty list when none), upload order."""
        ids = list(dict.fromkeys(message_ids))
        result: dict[str, list[AttachmentRow]] = {m: [] for m in ids}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT * FROM attachments WHERE message_id IN ({marks})"
                " ORDER BY created_at, rowid",
                tuple(chunk),
            )
            for row in rows:
                result[row["message_id"]].append(_from_row(row))
        return result


def _from_row(row: sqlite3.Row) -> AttachmentRow:
    return AttachmentRow(
        id=row["id"],
        kind=row["kind"],
        mime=row["mime"],
        name=row["name"],
        size=row["size"],
        path=row["path"],
        meta=json.loads(row["meta"] or "{}"),
        message_id=row["message_id"],
        conversation_id=row["conversation_id"],
        created_at=row["created_at"],
    )
