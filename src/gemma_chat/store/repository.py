"""Conversations and messages: the only code that writes SQL for them."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from gemma_chat.errors import NotFound
from gemma_chat.store.database import Database

Mode = Literal["chat", "build"]
Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "interrupted", "error"]
PLACEHOLDER_TITLE = "New chat"
TITLE_MAX = 60


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
    # Generation settings of its own (chat/settings.py); a key not here: the global default.
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        thinking = row["thinking"]
        own = _json_object(row["settings"])
        return cls(
            row["id"],
            row["title"],
            row["mode"],
            row["model"],
            row["created_at"],
            row["updated_at"],
            None if thinking is None else bool(thinking),
            own,
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
    parent_id: str | None = None  # the message this one follows (None: a first message)

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
            parent_id=row["parent_id"],
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
            "parent_id": self.parent_id,
        }


# Snippet markers around each matched word: control characters (any in the text are
# dropped), so the UI can split on them and build <mark> elements around text it puts in
# as text (the snippet itself is never parsed as HTML).
MARK_START = "\x02"
MARK_END = "\x03"
SNIPPET_TOKENS = 16  # words of context in a message snippet


PREFIX_INDEXED = 3  # prefix='2 3': prefixes up to this long are read from the index
EXPAND_MAX = 16  # a longer prefix becomes the most frequent of the words it begins


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts_query(text: str, completions: Callable[[str], list[str]] | None = None) -> str | None:
    """Free text as an FTS5 query that cannot be a syntax error: every word becomes a
    quoted string ("" inside doubled), so `"`, `*`, `-`, `:`, `(`, NEAR, AND... are only
    text. Words are ANDed; the last one (of two letters or more) is a prefix unless the
    text ends in a space, so results follow what the user is still typing. None when no
    word is left (only punctuation): there is nothing to search for.

    A prefix longer than the prefix index (`"pyth"*`) makes FTS5 merge every matching
    term's list before the first row (hundreds of ms for a common word), so when
    `completions` knows them, the prefix becomes its most frequent completions,
    `("python" OR "pythonic")`, which FTS5 reads lazily.
    """
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    quoted = [_quote(w) for w in words]
    last = words[-1]
    # One letter as a prefix would match most of the index (there is no 1-letter prefix
    # index; merging it takes seconds): a lone letter is a word until a second is typed.
    if not text[-1:].isspace() and sum(ch.isalnum() for ch in last) > 1:
        terms: list[str] = []
        if completions and len(last) > PREFIX_INDEXED and last.isalnum():
            terms = completions(_fold(last))
        if terms:
            quoted[-1] = "(" + " OR ".join(_quote(t) for t in terms) + ")"
        else:
            quoted[-1] += "*"
    return " AND ".join(quoted)


def _fold(word: str) -> str:
    """A word as unicode61 remove_diacritics indexes it: lower case, accents dropped."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_TOKEN = re.compile(r"[^\W_]+")  # unicode61's tokens: runs of letters and digits


def _matcher(text: str) -> Callable[[str], bool]:
    """Whether a word of the text matches the search (folded as the index folds it; the
    word being typed matches as a prefix), for marking what the FTS query matched."""
    tokens = [_fold(t) for t in _TOKEN.findall(text)]
    typing = not text[-1:].isspace() and sum(ch.isalnum() for ch in text.split()[-1]) > 1
    prefix = tokens.pop() if tokens and typing else None
    exact = set(tokens)

    def match(word: str) -> bool:
        folded = _fold(word)
        return folded in exact or (prefix is not None and folded.startswith(prefix))

    return match


def mark_matches(text: str, match: Callable[[str], bool], window: int | None = None) -> str:
    """`text` with matching words between MARK_START and MARK_END (any marker characters
    it held are dropped, so every marker is ours). With `window`, only that many words
    around the first match, with "…" where text was cut.

    Done here rather than with FTS5 snippet(): snippet() re-runs the query for its row,
    and with the typed word expanded to many words that seek costs milliseconds a row.
    """
    text = text.replace(MARK_START, "").replace(MARK_END, "")
    words = list(_TOKEN.finditer(text))
    hits = [i for i, w in enumerate(words) if match(w.group())]
    first, last, head, tail = 0, len(words), "", ""
    if window is not None and words:
        first = max(0, (hits[0] if hits else 0) - window // 4)
        last = min(len(words), first + window)
        first = max(0, last - window)
        head = "…" if first > 0 else ""
        tail = "…" if last < len(words) else ""
    if not words:
        return text
    out: list[str] = [head]
    pos = words[first].start() if head else 0
    for i in hits:
        if first <= i < last:
            w = words[i]
            out += [text[pos : w.start()], MARK_START, w.group(), MARK_END]
            pos = w.end()
    out.append(text[pos : words[last - 1].end()] if tail else text[pos:])
    out.append(tail)
    return "".join(out).strip()


@dataclass(slots=True)
class Branches:
    """A conversation's message tree. Retry and Edit add a sibling of a message instead of
    replacing it; at each fork the child with the highest `chosen` is the active one."""

    parent: dict[str, str | None]
    children: dict[str | None, list[str]]  # each list in creation order
    chosen: dict[str, int]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> Branches:
        """From (id, parent_id, chosen) rows in creation (seq) order."""
        tree = cls({}, {}, {})
        for mid, parent, chosen in rows:
            tree.parent[mid] = parent
            tree.chosen[mid] = chosen
            tree.children.setdefault(parent, []).append(mid)
        return tree

    def __contains__(self, message_id: object) -> bool:
        return message_id in self.parent

    def active_child(self, message_id: str | None) -> str | None:
        kids = self.children.get(message_id)
        return max(kids, key=lambda k: self.chosen[k]) if kids else None

    def ancestors(self, message_id: str) -> list[str]:
        """The path from the first message down to `message_id`, both included."""
        path: list[str] = []
        node: str | None = message_id
        while node is not None:
            path.append(node)
            node = self.parent.get(node)
        return path[::-1]

    def path(self, through: str | None = None) -> list[str]:
        """The active path: from the first message, the active child at each fork, to a
        leaf. With `through`, the path down to that message, then on along active ones."""
        path = self.ancestors(through) if through is not None else []
        node = self.active_child(path[-1] if path else None)
        while node is not None:
            path.append(node)
            node = self.active_child(node)
        return path

    def leaf(self) -> str | None:
        """The last message of the active path (what a new message follows)."""
        path = self.path()
        return path[-1] if path else None

    def alternatives(self, message_id: str) -> dict[str, Any]:
        """{index (1-based), count, ids}: the message among its siblings, oldest first."""
        ids = self.children.get(self.parent.get(message_id), [message_id])
        return {"index": ids.index(message_id) + 1, "count": len(ids), "ids": list(ids)}

    def subtree(self, message_id: str) -> list[str]:
        """`message_id` and every message that follows it, on any branch."""
        found, todo = [], [message_id]
        while todo:
            node = todo.pop()
            found.append(node)
            todo.extend(self.children.get(node, []))
        return found


@dataclass(slots=True)
class SearchHit:
    """A conversation that matches a search, with where it matched."""

    conversation: Conversation
    message_id: str | None  # the best-matching message (None: only the title matched)
    snippet: str | None  # that message's text around the match, terms in MARK_START/END
    title: str | None  # the title with its matched terms marked, when the title matched


def _json(value: object) -> str | None:
    return json.dumps(value) if value is not None else None


def _json_object(text: str | None) -> dict[str, Any]:
    """A stored JSON object; anything else (NULL, damaged text) reads as empty."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# Relevance order: the best message per conversation (bare columns of MIN() come from the
# minimum's row) and the title, each scored by bm25 (negative: lower is better; a title
# counts double, it says what the whole chat is about). The placeholder title of an
# untitled chat is not a match. Auxiliary functions must run in the FTS query itself,
# hence the materialized *_hits.
_RELEVANCE_SQL = """
WITH msg_hits AS MATERIALIZED (
    SELECT rowid AS mrow, bm25(messages_fts) AS score FROM messages_fts
    WHERE messages_fts MATCH :q
),
msg AS MATERIALIZED (
    SELECT m.conversation_id AS cid, m.id AS mid, h.mrow, MIN(h.score) AS score
    FROM msg_hits h JOIN messages m ON m.rowid = h.mrow
    GROUP BY m.conversation_id
),
title_hits AS MATERIALIZED (
    SELECT rowid AS crow, 2 * bm25(conversations_fts) AS score FROM conversations_fts
    WHERE conversations_fts MATCH :q
),
ttl AS MATERIALIZED (
    SELECT c.id AS cid, t.score FROM title_hits t JOIN conversations c ON c.rowid = t.crow
    WHERE c.titled = 1
),
best AS (
    SELECT cid, MIN(score) AS score
    FROM (SELECT cid, score FROM msg UNION ALL SELECT cid, score FROM ttl)
    GROUP BY cid
)
SELECT best.cid, msg.mid, msg.mrow
FROM best
JOIN conversations c ON c.id = best.cid
LEFT JOIN msg ON msg.cid = best.cid
ORDER BY best.score, c.updated_at DESC, c.rowid DESC
"""
# Up to this many matching messages, results are ranked by bm25 over all of them (about
# 10 ms). Beyond it the words are common (bm25 barely tells chats apart) and ranking every
# match would take hundreds of ms, so results come most recent match first instead.
RANK_LIMIT = 3000
_BATCH = 500


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    # conversations

    def create_conversation(self, mode: Mode, model: str, title: str | None = None) -> Conversation:
        stamp = now_iso()
        clean = (title or "").strip()
        titled = bool(clean)
        conv = Conversation(new_id("c"), clean or PLACEHOLDER_TITLE, mode, model, stamp, stamp)
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

    def search_conversations(
        self, text: str, limit: int = 50, offset: int = 0
    ) -> tuple[list[SearchHit], int | None, str]:
        """Conversations whose messages or title match `text` (see fts_query).

        Returns (page, total, order). Order "relevance" (up to RANK_LIMIT matching
        messages): best bm25 first, ties to the most recently active; total is exact.
        Order "recent": the conversation with the newest match first (a title match counts
        as the chat's last activity); total is None (counting costs what ranking does)
        unless this is the last page. Snippets are made for the returned page only.
        """
        query = fts_query(text, self._completions)
        if query is None:
            return [], 0, "relevance"
        matches = self.db.query(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?"
            f" LIMIT {RANK_LIMIT + 1})",
            (query,),
        )[0][0]
        total: int | None
        if matches <= RANK_LIMIT:
            ranked = [tuple(r) for r in self.db.query(_RELEVANCE_SQL, {"q": query})]
            total, order = len(ranked), "relevance"
        else:
            # One more than the page: whether there is a next page.
            ranked, total, order = self._recent_matches(query, offset + limit + 1), None, "recent"
        page = ranked[offset : offset + limit]
        if total is None and len(ranked) <= offset + limit:
            total = len(ranked)  # the walk reached the end: the count is known after all
        if not page:
            return [], total, order
        ids = [cid for cid, _, _ in page]
        marks = ",".join("?" * len(ids))
        rows = self.db.query(f"SELECT * FROM conversations WHERE id IN ({marks})", ids)
        conversations = {r["id"]: Conversation.from_row(r) for r in rows}
        match = _matcher(text)
        mrows = [mrow for _, _, mrow in page if mrow is not None]
        texts = self.db.query(
            f"SELECT rowid, content FROM messages WHERE rowid IN ({','.join('?' * len(mrows))})",
            mrows,
        )
        snippets = {rowid: mark_matches(content, match, SNIPPET_TOKENS) for rowid, content in texts}
        titles = {r["id"]: mark_matches(r["title"], match) for r in rows if r["titled"]}
        hits = [
            SearchHit(
                conversations[cid],
                mid,
                snippets.get(mrow) if mrow is not None else None,
                titles.get(cid),
            )
            for cid, mid, mrow in page
            if cid in conversations
        ]
        return hits, total, order

    def _completions(self, prefix: str) -> list[str]:
        """The EXPAND_MAX most frequent indexed words (messages and titles) that begin with
        `prefix`: while a word is being typed, its likeliest endings stand for it."""
        rows = self.db.query(
            "SELECT term, doc FROM messages_terms WHERE term >= :a AND term < :b"
            " UNION ALL SELECT term, doc FROM conversations_terms WHERE term >= :a AND term < :b",
            {"a": prefix, "b": prefix + "\U0010ffff"},
        )
        docs: dict[str, int] = {}
        for term, doc in rows:
            docs[term] = docs.get(term, 0) + doc
        return sorted(docs, key=lambda term: -docs[term])[:EXPAND_MAX]

    def _recent_matches(self, query: str, want: int) -> list[tuple[str, str | None, int | None]]:
        """The `want` conversations with the newest matches, as (id, message id, message rowid).

        Messages are walked newest first (FTS rowid order, cheap: no ranking) in batches
        until `want` distinct conversations are seen; a title match's time is the chat's
        updated_at, which no message of it is newer than, so the top `want` of both lists
        merged by time is exact (to the extent rowid order is time order).
        """
        newest: dict[str, tuple[str, str, int]] = {}  # cid -> (time, message id, rowid)
        before = None
        while len(newest) < want:
            rows = self.db.query(
                "SELECT f.rowid, m.id, m.conversation_id, m.created_at FROM messages_fts f"
                " JOIN messages m ON m.rowid = f.rowid WHERE messages_fts MATCH ?"
                + (" AND f.rowid < ?" if before is not None else "")
                + f" ORDER BY f.rowid DESC LIMIT {_BATCH}",
                (query, before) if before is not None else (query,),
            )
            for rowid, mid, cid, created in rows:
                newest.setdefault(cid, (created, mid, rowid))
            if len(rows) < _BATCH:
                break
            before = rows[-1][0]
        titles = self.db.query(
            "SELECT c.id, c.updated_at FROM conversations_fts t"
            " JOIN conversations c ON c.rowid = t.rowid"
            " WHERE conversations_fts MATCH ? AND c.titled = 1"
            " ORDER BY c.updated_at DESC LIMIT ?",
            (query, want),
        )
        keyed: dict[str, tuple[str, str | None, int | None]] = {
            cid: (when, mid, rowid) for cid, (when, mid, rowid) in newest.items()
        }
        for cid, updated in titles:
            _, mid, rowid = keyed.get(cid, ("", None, None))
            keyed[cid] = (updated, mid, rowid)
        order = sorted(keyed.items(), key=lambda item: item[1][0], reverse=True)
        return [(cid, mid, rowid) for cid, (_, mid, rowid) in order[:want]]

    def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        return self.update_conversation(conversation_id, title=title)

    def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        model: str | None = None,
        thinking: bool | Unset | None = UNSET,
        settings: dict[str, Any] | None = None,
    ) -> Conversation:
        """Change what was given; `thinking=None` goes back to the model's default.
        `settings`: keys to change in the conversation's own settings; a None value
        removes the key (back to the global default)."""
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"], changes["titled"] = title.strip(), 1
        if model is not None:
            changes["model"] = model
        if not isinstance(thinking, Unset):
            changes["thinking"] = None if thinking is None else int(thinking)
        if settings:
            own = self.get_conversation(conversation_id).settings
            own.update(settings)
            kept = {k: v for k, v in own.items() if v is not None}
            changes["settings"] = json.dumps(kept) if kept else None
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

    # global settings

    def global_settings(self) -> dict[str, Any]:
        """The global settings that were set (chat/settings.py has the built-in defaults)."""
        rows = self.db.query("SELECT key, value FROM settings")
        found: dict[str, Any] = {}
        for row in rows:
            try:
                found[row["key"]] = json.loads(row["value"])
            except ValueError:
                continue  # a damaged value reads as unset
        return found

    def update_global_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Set the given keys; a None value removes one (back to the built-in default)."""
        with self.db.transaction() as tx:
            for key, value in changes.items():
                if value is None:
                    tx.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES (?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, json.dumps(value)),
                    )
        return self.global_settings()

    def delete_conversation(self, conversation_id: str) -> None:
        with self.db.transaction() as tx:
            cursor = tx.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            if cursor.rowcount == 0:
                raise NotFound(f"No conversation with id {conversation_id!r}")

    def import_history(self, items: Iterable[tuple[Conversation, Sequence[Message]]]) -> int:
        """Write whole conversations as given (ids, times, titles, messages in order) in one
        transaction with executemany: imports and benchmarks add thousands at once, which
        one transaction per message (add_message) would make take minutes. The search index
        is kept in step by the same triggers. Returns how many conversations were written."""
        conversations: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        for conv, thread in items:
            thinking = None if conv.thinking is None else int(conv.thinking)
            titled = int(conv.title != PLACEHOLDER_TITLE)
            conversations.append(
                (
                    conv.id,
                    conv.title,
                    titled,
                    conv.mode,
                    conv.model,
                    conv.created_at,
                    conv.updated_at,
                    thinking,
                    json.dumps(conv.settings) if conv.settings else None,
                )
            )
            # A thread with no parents given is linear: each message follows the one before.
            tree = any(m.parent_id is not None for m in thread)
            previous: str | None = None
            for seq, m in enumerate(thread):
                parent = m.parent_id if tree else previous
                previous = m.id
                messages.append(
                    (
                        m.id,
                        conv.id,
                        seq,
                        m.role,
                        m.content,
                        m.thinking,
                        m.status,
                        m.error,
                        _json(m.stats),
                        m.created_at,
                        _json(m.transcript),
                        _json(m.actions),
                        m.version,
                        m.model,
                        _json(m.files),
                        parent,
                        seq,  # at a fork, the alternative written last is the active one
                    )
                )
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO conversations (id, title, titled, mode, model, created_at,"
                " updated_at, thinking, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                conversations,
            )
            tx.executemany(
                "INSERT INTO messages (id, conversation_id, seq, role, content, thinking,"
                " status, error, stats, created_at, transcript, actions, version, model, files,"
                " parent_id, chosen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                messages,
            )
        return len(conversations)

    # messages

    def list_messages(self, conversation_id: str) -> list[Message]:
        """Every message, on every branch, in the order they were written (see
        active_path for what the conversation shows and the model sees)."""
        rows = self.db.query(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
        )
        return [Message.from_row(r) for r in rows]

    def branches(self, conversation_id: str) -> Branches:
        return self._branches(self.db.query, conversation_id)

    @staticmethod
    def _branches(query: Callable[..., Any], conversation_id: str) -> Branches:
        rows = query(
            "SELECT id, parent_id, chosen FROM messages WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        return Branches.from_rows(rows)

    def active_path(self, conversation_id: str) -> list[Message]:
        """The messages of the active branch, first to last."""
        return self._messages(conversation_id, self.branches(conversation_id).path())

    def path_to(self, conversation_id: str, message_id: str) -> list[Message]:
        """The messages from the first down to `message_id` (the history it answers)."""
        tree = self.branches(conversation_id)
        if message_id not in tree:
            raise NotFound(f"No message with id {message_id!r} in this conversation")
        return self._messages(conversation_id, tree.ancestors(message_id))

    def _messages(self, conversation_id: str, ids: Sequence[str]) -> list[Message]:
        rows = self.db.query("SELECT * FROM messages WHERE conversation_id = ?", (conversation_id,))
        by_id = {r["id"]: r for r in rows}
        return [Message.from_row(by_id[i]) for i in ids if i in by_id]

    def get_message(self, conversation_id: str, message_id: str) -> Message:
        rows = self.db.query(
            "SELECT * FROM messages WHERE id = ? AND conversation_id = ?",
            (message_id, conversation_id),
        )
        if not rows:
            raise NotFound(f"No message with id {message_id!r} in this conversation")
        return Message.from_row(rows[0])

    def choose_branch(self, conversation_id: str, message_id: str) -> Branches:
        """Make the branch through `message_id` the active one (it, and each message above
        it, becomes its fork's choice; below it, each fork keeps its own last choice)."""
        with self.db.transaction() as tx:
            tree = self._branches(tx.execute, conversation_id)
            if message_id not in tree:
                raise NotFound(f"No message with id {message_id!r} in this conversation")
            top = max(tree.chosen.values()) + 1
            path = tree.ancestors(message_id)
            tx.executemany(
                "UPDATE messages SET chosen = ? WHERE id = ?", [(top, mid) for mid in path]
            )
            for mid in path:
                tree.chosen[mid] = top
        return tree

    def messages_json(self, conversation_id: str) -> list[tuple[str, str, str]]:
        """(id, role, JSON of Message.to_dict()) for each message (all branches), oldest
        first.

        SQLite builds the JSON: opening a 2,000-message conversation this way takes about a
        third of the time of Message objects, to_dict() and json.dumps.
        """
        rows = self.db.query(
            "SELECT id, role, json_object('id', id, 'role', role, 'content', content,"
            " 'thinking', thinking, 'status', status, 'error', error, 'stats', json(stats),"
            " 'actions', json(coalesce(actions, '[]')), 'version', version, 'model', model,"
            " 'files', json(files), 'created_at', created_at, 'parent_id', parent_id)"
            " FROM messages WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        content: str,
        status: Status = "complete",
        thinking: str = "",
        model: str | None = None,
        parent_id: str | Unset | None = UNSET,
    ) -> Message:
        """Add a message after `parent_id` (None: as a first message; not given: after the
        last message of the active branch). It becomes the active one at its fork."""
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
            seq, top = tx.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1, COALESCE(MAX(chosen), -1) + 1"
                " FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            tree = self._branches(tx.execute, conversation_id)
            if isinstance(parent_id, Unset):
                parent_id = tree.leaf()
            elif parent_id is not None and parent_id not in tree:
                raise NotFound(f"No message with id {parent_id!r} in this conversation")
            message.parent_id = parent_id
            tx.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, thinking, status,"
                " created_at, model, parent_id, chosen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.id,
                    conversation_id,
                    seq,
                    role,
                    content,
                    thinking,
                    status,
                    stamp,
                    model,
                    parent_id,
                    top,
                ),
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
        """Remove a message and everything that follows it, on every branch (rewinding a
        conversation); the message's other alternatives stay."""
        with self.db.transaction() as tx:
            tree = self._branches(tx.execute, conversation_id)
            if message_id not in tree:
                raise NotFound(f"No message with id {message_id!r} in this conversation")
            doomed = tree.subtree(message_id)
            tx.executemany("DELETE FROM messages WHERE id = ?", [(mid,) for mid in doomed])
            tx.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now_iso(), conversation_id)
            )
            return len(doomed)

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
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE messages SET content = ?, thinking = ?, status = ?, error = ?, stats = ?,"
                " transcript = ?, actions = ?, version = ?, files = ? WHERE id = ?",
                (
                    content,
                    thinking,
                    status,
                    error,
                    _json(stats),
                    _json(transcript),
                    _json(actions),
                    version,
                    _json(files),
                    message_id,
                ),
            )
            row = tx.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"No message with id {message_id!r}")
        return Message.from_row(row)
