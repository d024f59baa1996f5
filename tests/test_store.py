import sqlite3
import threading

import pytest

from gemma_chat.errors import NotFound
from gemma_chat.store import Database, Store
from gemma_chat.store.migrations import MIGRATIONS
from gemma_chat.store.repository import PLACEHOLDER_TITLE, title_from_message


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Database(tmp_path / "db" / "test.db"))


def test_migrations_run_once_and_set_the_version(tmp_path) -> None:
    path = tmp_path / "a.db"
    db = Database(path)
    assert db.schema_version == len(MIGRATIONS)
    db.close()
    assert Database(path).schema_version == len(MIGRATIONS)  # reopening migrates nothing


def test_wal_and_foreign_keys_are_on(store: Store) -> None:
    assert store.db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.db.query("PRAGMA foreign_keys")[0][0] == 1


def test_a_database_from_a_newer_version_is_refused(tmp_path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer Gemma Chat"):
        Database(path)


def test_conversation_lifecycle(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    assert conv.title == PLACEHOLDER_TITLE and conv.mode == "chat" and conv.model == "embedded"
    assert store.get_conversation(conv.id) == conv
    renamed = store.rename_conversation(conv.id, "  My chat  ")
    assert renamed.title == "My chat"
    store.delete_conversation(conv.id)
    with pytest.raises(NotFound):
        store.get_conversation(conv.id)
    with pytest.raises(NotFound):
        store.delete_conversation(conv.id)


def test_title_comes_from_the_first_user_message(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "\n  How do   magnets work?\nMore detail here")
    store.add_message(conv.id, "user", "A second question")
    assert store.get_conversation(conv.id).title == "How do magnets work?"


def test_an_explicit_title_is_kept(store: Store) -> None:
    conv = store.create_conversation("build", "embedded", title="Todo app")
    store.add_message(conv.id, "user", "make a todo app")
    assert store.get_conversation(conv.id).title == "Todo app"


def test_long_titles_are_cut_at_a_word() -> None:
    title = title_from_message("word " * 40)
    assert len(title) <= 61 and title.endswith("…") and "wor…" not in title


def test_messages_keep_order_status_and_stats(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    user = store.add_message(conv.id, "user", "hi")
    reply = store.add_message(conv.id, "assistant", "", status="interrupted")
    stats = {"ttft_ms": 12.5, "completion_tokens": 3}
    store.update_message(reply.id, content="Hello!", thinking="hmm", status="complete", stats=stats)
    messages = store.list_messages(conv.id)
    assert [m.id for m in messages] == [user.id, reply.id]
    assert messages[1].content == "Hello!" and messages[1].thinking == "hmm"
    assert messages[1].status == "complete" and messages[1].stats == stats


def test_deleting_a_conversation_deletes_its_messages(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "hi")
    store.delete_conversation(conv.id)
    assert store.db.query("SELECT COUNT(*) FROM messages")[0][0] == 0


def test_adding_to_an_unknown_conversation_fails(store: Store) -> None:
    with pytest.raises(NotFound):
        store.add_message("c_missing", "user", "hi")


def test_list_is_newest_first_and_paged(store: Store) -> None:
    ids = [store.create_conversation("chat", "embedded").id for _ in range(5)]
    store.add_message(ids[0], "user", "bump")  # activity moves it to the top
    page, total = store.list_conversations(limit=2, offset=0)
    assert total == 5
    assert [c.id for c in page] == [ids[0], ids[4]]
    rest, _ = store.list_conversations(limit=10, offset=2)
    assert [c.id for c in rest] == [ids[3], ids[2], ids[1]]


def test_concurrent_writers_do_not_collide(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")

    def write(n: int) -> None:
        for i in range(20):
            store.add_message(conv.id, "user", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list_messages(conv.id)) == 80
