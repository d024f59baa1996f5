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


class Unset:
    """Marks an argument as not given, where None is a meaningful value."""


UNSET = Unset()


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
    thinking: bool | None = None  # None: the model's own default

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        thinking = row["thinking"]
        return cls(
            row["id"],
            row["title"],
            row["mode"],
            row["model"],
            row["created_at"],
            row["updated_at"],
            None if thinking is None else bool(thinking),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "mode": self.mode,
            "model": self.model,
            "thinking": self.thinking,
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
    model: str | None = None  # the model spec that wrote an assistant reply
    files: dict[str, list[str]] | None = None  # Build mode: files added/changed/removed

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
            model=row["model"],
            files=json.loads(row["files"]) if row["files"] else None,
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
            "model": self.model,
            "files": self.files,
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
        return self.update_conversation(conversation_id, title=title)

    def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        model: str | None = None,
        thinking: bool | Unset | None = UNSET,
    ) -> Conversation:
        """Change what was given; `thinking=None` goes back to the model's default."""
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"], changes["titled"] = title.strip(), 1
        if model is not None:
            changes["model"] = model
        if not isinstance(thinking, Unset):
            changes["thinking"] = None if thinking is None else int(thinking)
        changes["updated_at"] = now_iso()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self.db.transaction() as tx:
            cursor = tx.execute(
                f"UPDATE conversations SET {assignments} WHERE id = ?",
                (*changes.values(), conversation_id),
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
        model: str | None = None,
    ) -> Message:
        stamp = now_iso()
        message = Message(
            new_id("m"), conversation_id, role, content, status, stamp, thinking, model=model
        )
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
                " created_at, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message.id, conversation_id, seq, role, content, thinking, status, stamp, model),
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
        files: dict[str, list[str]] | None = None,
    ) -> Message:
        def as_json(value: object) -> str | None:
            return json.dumps(value) if value is not None else None

        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE messages SET content = ?, thinking = ?, status = ?, error = ?, stats = ?,"
                " transcript = ?, actions = ?, version = ?, files = ? WHERE id = ?",
                (
                    content,
                    thinking,
                    status,
                    error,
                    as_json(stats),
                    as_json(transcript),
                    as_json(actions),
                    version,
                    as_json(files),
                    message_id,
                ),
            )
            row = tx.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"No message with id {message_id!r}")
        return Message.from_row(row)
