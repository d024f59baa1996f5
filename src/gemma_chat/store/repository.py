"""Conversations and messages: the only code that writes SQL for them."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from gemma_chat.store.database import Database

Mode = Literal["chat", "build"]
Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "interrupted", "error"]
PLACEHOLDER_TITLE = "New chat"
TITLE_MAX = 60


class NotFound(LookupError):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def title_from_message(text: str) -> str:
    """First line of the first message, cut at a word boundary."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    if len(line) <= TITLE_MAX:
        return line or PLACEHOLDER_TITLE
    cut = line[:TITLE_MAX].rsplit(" ", 1)[0] or line[:TITLE_MAX]
    return cut.rstrip(" ,.;:-") + "…"


@dataclass(slots=True)
class Conversation:
    id: str
    title: str
    mode: Mode
    model: str
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        return cls(
            row["id"], row["title"], row["mode"], row["model"], row["created_at"], row["updated_at"]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "mode": self.mode,
            "model": self.model,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    status: Status
    created_at: str
    thinking: str = ""
    error: str | None = None
    stats: dict[str, Any] | None = field(default=None)
    transcript: list[dict[str, str]] | None = None  # Build mode: what the model saw and wrote
    actions: list[dict[str, Any]] | None = None  # Build mode: action summaries for the UI
    version: str | None = None  # Build mode: the workspace version this turn recorded

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            role=row["role"],
            content=row["content"],
            status=row["status"],
            created_at=row["created_at"],
            thinking=row["thinking"],
            error=row["error"],
            stats=json.loads(row["stats"]) if row["stats"] else None,
            transcript=json.loads(row["transcript"]) if row["transcript"] else None,
            actions=json.loads(row["actions"]) if row["actions"] else None,
            version=row["version"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "content": self.content,
            "thinking": self.thinking,
            "status": self.status,
            "error": self.error,
            "stats": self.stats,
            "actions": self.actions or [],
            "version": self.version,
            "created_at": self.created_at,
        }


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    # conversations

    def create_conversation(self, mode: Mode, model: str, title: str | None = None) -> Conversation:
        stamp = now_iso()
        titled = bool(title and title.strip())
        conv = Conversation(
            new_id("c"), title.strip() if titled else PLACEHOLDER_TITLE, mode, model, stamp, stamp
        )
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO conversations (id, title, titled, mode, model, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conv.id, conv.title, int(titled), mode, model, stamp, stamp),
            )
        return conv

    def get_conversation(self, conversation_id: str) -> Conversation:
        rows = self.db.query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise NotFound(f"No conversation with id {conversation_id!r}")
        return Conversation.from_row(rows[0])

    def list_conversations(
        self, limit: int = 50, offset: int = 0
    ) -> tuple[list[Conversation], int]:
        rows = self.db.query(
            "SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        total = self.db.query("SELECT COUNT(*) FROM conversations")[0][0]
        return [Conversation.from_row(r) for r in rows], int(total)

    def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "UPDATE conversations SET title = ?, titled = 1, updated_at = ? WHERE id = ?",
                (title.strip(), now_iso(), conversation_id),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"No conversation with id {conversation_id!r}")
        return self.get_conversation(conversation_id)

    def delete_conversation(self, conversation_id: str) -> None:
        with self.db.transaction() as tx:
            cursor = tx.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            if cursor.rowcount == 0:
                raise NotFound(f"No conversation with id {conversation_id!r}")

    # messages

    def list_messages(self, conversation_id: str) -> list[Message]:
        rows = self.db.query(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
        )
        return [Message.from_row(r) for r in rows]

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        content: str,
        status: Status = "complete",
        thinking: str = "",
    ) -> Message:
        stamp = now_iso()
        message = Message(new_id("m"), conversation_id, role, content, status, stamp, thinking)
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT titled FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"No conversation with id {conversation_id!r}")
            seq = tx.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()[0]
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, thinking, status,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message.id, conversation_id, seq, role, content, thinking, status, stamp),
            )
            if role == "user" and not row["titled"]:
                tx.execute(
                    "UPDATE conversations SET title = ?, titled = 1 WHERE id = ?",
                    (title_from_message(content), conversation_id),
                )
            tx.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, conversation_id)
            )
        return message

    def delete_messages_from(self, conversation_id: str, message_id: str) -> int:
        """Remove a message and everything after it (rewinding a conversation)."""
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT seq FROM messages WHERE id = ? AND conversation_id = ?",
                (message_id, conversation_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"No message with id {message_id!r} in this conversation")
            cursor = tx.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND seq >= ?",
                (conversation_id, row["seq"]),
            )
            tx.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now_iso(), conversation_id)
            )
            return cursor.rowcount

    def update_message(
        self,
        message_id: str,
        *,
        content: str,
        thinking: str,
        status: Status,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
        transcript: list[dict[str, str]] | None = None,
        actions: list[dict[str, Any]] | None = None,
        version: str | None = None,
    ) -> Message:
        def as_json(value: object) -> str | None:
            return json.dumps(value) if value is not None else None

        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE messages SET content = ?, thinking = ?, status = ?, error = ?, stats = ?,"
                " transcript = ?, actions = ?, version = ? WHERE id = ?",
                (
                    content,
                    thinking,
                    status,
                    error,
                    as_json(stats),
                    as_json(transcript),
                    as_json(actions),
                    version,
                    message_id,
                ),
            )
            row = tx.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"No message with id {message_id!r}")
        return Message.from_row(row)
