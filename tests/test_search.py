"""Full-text search over history: the FTS index kept in step by the store, the migration
that builds it for existing data, safe queries, snippets, paging; real SQLite, and the
HTTP API on a real server."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import quote

import pytest

from gemma_chat.store import Database, Store, repository
from gemma_chat.store.migrations import MIGRATIONS
from gemma_chat.store.repository import MARK_END, MARK_START, fts_query
from tests import authed
from tests.sse_client import send

WEIRD = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "**magn*",
    "-",
    "-magnets",
    "a:b",
    "title:magnets",
    "(",
    "((magnets",
    ")",
    "NEAR",
    "NEAR(magnets iron)",
    "magnets NEAR iron",
    "AND",
    "magnets AND",
    "OR NOT",
    "^magnets",
    "magnets +iron",
    "{col}: x",
    "\\",
    "'; DROP TABLE messages; --",
    "café",
    "日本語",
    "🧲",
    "\u0000",
    "\x02\x03",
    "   ",
    "",
]


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Database(tmp_path / "db" / "test.db"))


def ids(store: Store, text: str, **kw) -> list[str]:
    hits, _, _ = store.search_conversations(text, **kw)
    return [h.conversation.id for h in hits]


def integrity(store: Store) -> None:
    """FTS5's own check of each index against its content table (raises if out of step)."""
    for table in ("messages_fts", "conversations_fts"):
        store.db.query(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")


def test_index_follows_adds_edits_deletes_and_renames(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    user = store.add_message(conv.id, "user", "How do magnets work?")
    reply = store.add_message(conv.id, "assistant", "")
    assert ids(store, "magnets ") == [conv.id]
    assert ids(store, "ferromagnetism ") == []
    store.update_message(
        reply.id, content="Ferromagnetism aligns domains.", thinking="", status="complete"
    )
    hits, _, _ = store.search_conversations("ferromagnetism ")
    assert [h.message_id for h in hits] == [reply.id]
    store.update_message(reply.id, content="Something else.", thinking="", status="complete")
    assert ids(store, "ferromagnetism ") == []
    integrity(store)

    store.rename_conversation(conv.id, "Physics homework")
    hits, _, _ = store.search_conversations("homework ")
    assert [h.conversation.id for h in hits] == [conv.id]
    assert hits[0].title == f"Physics {MARK_START}homework{MARK_END}"
    assert hits[0].message_id is None  # only the title matched
    store.rename_conversation(conv.id, "Renamed")
    assert ids(store, "homework ") == []

    store.delete_messages_from(conv.id, user.id)
    assert ids(store, "magnets ") == []
    store.add_message(conv.id, "user", "magnets again")
    store.delete_conversation(conv.id)  # cascades to messages: their triggers fire too
    assert ids(store, "magnets ") == [] and ids(store, "renamed ") == []
    assert store.db.query("SELECT COUNT(*) FROM messages_fts")[0][0] == 0
    integrity(store)


def test_the_placeholder_title_is_not_a_match(store: Store) -> None:
    store.create_conversation("chat", "embedded")
    assert ids(store, "new chat") == []


def test_bulk_import_is_indexed(store: Store) -> None:
    conv = repository.Conversation("c_1", "Imported chat", "chat", "m", "2025-01-01", "2025-01-02")
    msgs = [
        repository.Message(f"m_{i}", "c_1", "user", f"line {i} zebra", "complete", "2025-01-01")
        for i in range(3)
    ]
    assert store.import_history([(conv, msgs)]) == 1
    assert [m.id for m in store.list_messages("c_1")] == ["m_0", "m_1", "m_2"]
    assert ids(store, "zebra") == ["c_1"] and ids(store, "imported") == ["c_1"]
    integrity(store)


def test_migration_indexes_existing_history(tmp_path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.execute(
        "INSERT INTO conversations (id, title, titled, mode, model, created_at, updated_at)"
        " VALUES ('c_old', 'Sourdough starter', 1, 'chat', 'embedded', '2024', '2024')"
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at)"
        " VALUES ('m_old', 'c_old', 0, 'user', 'How long does the levain rest?',"
        " 'complete', '2024')"
    )
    conn.commit()
    conn.close()
    store = Store(Database(path))
    assert store.db.schema_version == len(MIGRATIONS)
    hits, total, _ = store.search_conversations("levain")
    assert total == 1 and hits[0].message_id == "m_old"
    assert ids(store, "sourdough") == ["c_old"]
    integrity(store)


@pytest.mark.parametrize("text", WEIRD)
def test_any_text_is_a_valid_query(store: Store, text: str) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "magnets and iron, café au lait, 日本語 🧲")
    query = fts_query(text, store._completions)
    if query is not None:
        store.db.query("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?", (query,))
    store.search_conversations(text)  # never raises


def test_operators_are_plain_words(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "near and or not")
    other = store.create_conversation("chat", "embedded")
    store.add_message(other.id, "user", "magnets iron")
    assert ids(store, "NEAR AND OR") == [conv.id]
    assert ids(store, "magnets NEAR iron") == []  # "near" is a word to find, not an operator


def test_diacritics_case_and_prefix(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "Un CAFÉ crème, s'il vous plaît")
    assert ids(store, "cafe creme") == [conv.id]
    assert ids(store, "Café") == [conv.id]
    assert ids(store, "pla") == [conv.id]  # the word being typed is a prefix
    assert ids(store, "plai") == [conv.id]  # longer than the prefix index: expanded
    assert ids(store, "pla ") == []  # a finished word is a word


def test_snippets_mark_only_the_matches(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    filler = " ".join(f"w{i}" for i in range(60))
    store.add_message(conv.id, "user", f"{filler} <b>magnets</b> \x02x\x03 attract {filler}")
    hits, _, _ = store.search_conversations("magnet")
    snippet = hits[0].snippet
    assert snippet is not None and snippet.startswith("…") and snippet.endswith("…")
    assert f"<b>{MARK_START}magnets{MARK_END}</b>" in snippet
    assert snippet.count(MARK_START) == snippet.count(MARK_END) == 1  # stored markers dropped
    assert len(snippet.split()) <= repository.SNIPPET_TOKENS + 2


def test_best_match_first_and_paging(store: Store) -> None:
    weak = store.create_conversation("chat", "embedded", title="Plants")
    store.add_message(weak.id, "user", "orchid " + "filler words here " * 30)
    strong = store.create_conversation("chat", "embedded", title="Flowers")
    store.add_message(strong.id, "user", "orchid orchid care")
    titled = store.create_conversation("chat", "embedded", title="Orchid")
    order = ids(store, "orchid ")
    assert order.index(strong.id) < order.index(weak.id) and titled.id in order
    first, total, order = store.search_conversations("orchid ", limit=2)
    rest, _, _ = store.search_conversations("orchid ", limit=2, offset=2)
    assert total == 3 and order == "relevance"
    assert len({h.conversation.id for h in first + rest}) == 3


def test_common_words_come_most_recent_first(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(repository, "RANK_LIMIT", 2)
    made = []
    for i in range(5):
        conv = store.create_conversation("chat", "embedded")
        store.add_message(conv.id, "user", f"common word {i}")
        store.add_message(conv.id, "assistant", "common reply")
        made.append(conv.id)
    first, total, order = store.search_conversations("common", limit=2)
    assert order == "recent" and total is None
    assert [h.conversation.id for h in first] == made[::-1][:2]
    assert first[0].message_id is not None
    seen = []
    for offset in range(0, 6, 2):
        page, total, _ = store.search_conversations("common", limit=2, offset=offset)
        seen += [h.conversation.id for h in page]
    assert seen == made[::-1] and total == 5  # the last page knows the count


def test_query_plans_use_indexes(store: Store) -> None:
    def plan(sql: str, params: tuple = ()) -> str:
        return " | ".join(r[3] for r in store.db.query(f"EXPLAIN QUERY PLAN {sql}", params))

    listing = plan("SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC LIMIT 50")
    assert "conversations_updated" in listing and "TEMP B-TREE" not in listing
    opening = plan("SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", ("c",))
    assert "USING INDEX" in opening and "TEMP B-TREE" not in opening


def test_messages_json_is_to_dict(store: Store) -> None:
    """The JSON SQLite builds for opening a conversation is exactly Message.to_dict()."""
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", 'Quotes " \\ back\nslash, tab\t, é, 🧲, \x01')
    reply = store.add_message(conv.id, "assistant", "", model="replay:x")
    store.update_message(
        reply.id,
        content="<b>done</b>",
        thinking="hmm",
        status="error",
        error="boom",
        stats={"ttft_ms": 1.5, "completion_tokens": 3},
        actions=[{"name": "write", "path": "a.txt"}],
        version="v1",
        files={"added": ["a.txt"], "changed": [], "removed": []},
    )
    store.add_message(conv.id, "assistant", "plain")
    built = [json.loads(text) for _, _, text in store.messages_json(conv.id)]
    assert built == [m.to_dict() for m in store.list_messages(conv.id)]


# --- over HTTP --------------------------------------------------------------------------


@pytest.fixture
def server(start_server, replay_file):
    return start_server(replay_file("Magnets pull on iron.\n=== turn ===\nSourdough needs time."))


def search(base: str, q: str, **params) -> dict:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    response = authed.get(f"{base}/api/conversations?q={quote(q)}{extra}")
    assert response.status_code == 200, response.text
    return response.json()


def test_search_over_http(server) -> None:
    base = server.url
    conv = authed.post(f"{base}/api/conversations", json={}).json()
    send(base, conv["id"], "Tell me about magnets")
    send(base, conv["id"], "And bread?")
    found = search(base, "iron")
    assert found["total"] == 1 and found["order"] == "relevance" and found["next_offset"] is None
    item = found["conversations"][0]
    messages = authed.get(f"{base}/api/conversations/{conv['id']}").json()["messages"]
    assert item["id"] == conv["id"] and item["match"]["message_id"] == messages[1]["id"]
    assert f"{MARK_START}iron{MARK_END}" in item["match"]["snippet"]
    assert search(base, "sourd")["conversations"][0]["match"]["message_id"] == messages[3]["id"]

    for text in WEIRD:
        assert "conversations" in search(base, text)
    assert authed.get(f"{base}/api/conversations?q={'x' * 1001}").status_code == 422

    plain = authed.get(f"{base}/api/conversations").json()  # no q: the list as before
    assert set(plain) >= {"conversations", "total", "limit", "offset"}
    assert "match" not in plain["conversations"][0]
    assert search(base, "  ")["conversations"][0]["id"] == conv["id"]  # blank q: the list


def test_list_paging_over_http(server) -> None:
    base = server.url
    made = [authed.post(f"{base}/api/conversations", json={}).json()["id"] for _ in range(5)]
    first = authed.get(f"{base}/api/conversations?limit=2").json()
    assert first["total"] == 5 and first["next_offset"] == 2
    seen = [c["id"] for c in first["conversations"]]
    offset = first["next_offset"]
    while offset is not None:
        page = authed.get(f"{base}/api/conversations?limit=2&offset={offset}").json()
        seen += [c["id"] for c in page["conversations"]]
        offset = page["next_offset"]
    assert seen == made[::-1]
