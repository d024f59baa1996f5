"""Numbered schema migrations; `PRAGMA user_version` records how far a database is."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: conversations and their messages
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        titled INTEGER NOT NULL DEFAULT 0,  -- 0 while the title is the placeholder
        mode TEXT NOT NULL CHECK (mode IN ('chat', 'build')),
        model TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX conversations_updated ON conversations (updated_at DESC);
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        thinking TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('complete', 'interrupted', 'error')),
        error TEXT,
        stats TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (conversation_id, seq)
    );
    """,
    # 2: Build mode. A turn's model-facing transcript (assistant rounds with their raw
    # actions, and the tool results fed back) is kept apart from the text the UI shows,
    # so later turns see byte-identical history and the engine's prefix cache holds.
    """
    ALTER TABLE messages ADD COLUMN transcript TEXT;
    ALTER TABLE messages ADD COLUMN actions TEXT;
    ALTER TABLE messages ADD COLUMN version TEXT;
    """,
    # 3: engines and models. A conversation's thinking switch (NULL: the model's default)
    # and, per reply, the model that wrote it (conversations can switch models midway).
    """
    ALTER TABLE conversations ADD COLUMN thinking INTEGER;
    ALTER TABLE messages ADD COLUMN model TEXT;
    """,
    # 4: attachments. Uploaded first (unlinked), then linked to the user message that
    # sends them; a deleted message leaves them unlinked, and old unlinked ones are swept.
    """
    CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video', 'document')),
        mime TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        path TEXT NOT NULL,  -- relative to the attachments folder: <id>/<safe name>
        meta TEXT NOT NULL DEFAULT '{}',
        message_id TEXT REFERENCES messages (id) ON DELETE SET NULL,
        conversation_id TEXT REFERENCES conversations (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX attachments_message ON attachments (message_id);
    CREATE INDEX attachments_unlinked ON attachments (created_at) WHERE message_id IS NULL;
    """,
    # 5: starter kits. What each Build turn did to the files, for the end-of-turn summary.
    """
    ALTER TABLE messages ADD COLUMN files TEXT;
    """,
    # 6: history that scales. Full-text search over message text and conversation titles:
    # external-content FTS5 tables (the text is stored once, in messages/conversations)
    # kept in step by triggers, so every write path (cascading deletes included) updates
    # the index without the store having to remember to. `rebuild` indexes existing rows.
    # The index names messages by rowid, which VACUUM may renumber (the key is TEXT): the
    # app never runs VACUUM; whoever does must run `rebuild` on both tables after it.
    # The list's index becomes ascending: read backwards it gives (updated_at DESC,
    # rowid DESC), the list's exact order, with no sort step.
    """
    DROP INDEX conversations_updated;
    CREATE INDEX conversations_updated ON conversations (updated_at);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content='messages', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3'
    );
    CREATE VIRTUAL TABLE conversations_fts USING fts5(
        title, content='conversations', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
    WHEN old.content IS NOT new.content BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
        INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
    END;
    CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversations_fts (rowid, title) VALUES (new.rowid, new.title);
    END;
    CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, title)
        VALUES ('delete', old.rowid, old.title);
    END;
    CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations
    WHEN old.title IS NOT new.title BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, title)
        VALUES ('delete', old.rowid, old.title);
        INSERT INTO conversations_fts (rowid, title) VALUES (new.rowid, new.title);
    END;
    -- The indexes' terms, to turn the word being typed into the words it may become.
    CREATE VIRTUAL TABLE messages_terms USING fts5vocab(messages_fts, row);
    CREATE VIRTUAL TABLE conversations_terms USING fts5vocab(conversations_fts, row);
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild');
    """,
    # settings: global generation defaults (one row per key, JSON values; no row: the
    # built-in default) and each conversation's own overrides (a JSON object; a key not
    # in it: the global default). A conversation's thinking switch stays in `thinking`.
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE conversations ADD COLUMN settings TEXT;
    """,
    # branches: Retry and Edit keep the earlier replies as alternatives: messages form a
    # tree (parent_id: the message this one follows; NULL for a first message), and at each
    # fork the child with the highest `chosen` is the active one (choosing a branch raises
    # it above its siblings, so each fork remembers its own choice). Existing conversations
    # are linear: each message's parent is the one before it, `chosen` its seq.
    """
    ALTER TABLE messages ADD COLUMN parent_id TEXT;
    ALTER TABLE messages ADD COLUMN chosen INTEGER NOT NULL DEFAULT 0;
    UPDATE messages SET chosen = seq, parent_id = (
        SELECT p.id FROM messages p
        WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq
        ORDER BY p.seq DESC LIMIT 1
    );
    CREATE INDEX messages_parent ON messages (parent_id);
    """,
]
