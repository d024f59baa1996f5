"""Branches: Retry and Edit keep earlier replies as alternatives (the message tree)."""

import sqlite3

import pytest

from gemma_chat.errors import NotFound
from gemma_chat.store import Database, Store
from gemma_chat.store.migrations import MIGRATIONS
from gemma_chat.store.repository import Conversation, Message
from tests import authed
from tests.sse_client import iter_sse, send


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Database(tmp_path / "db" / "test.db"))


def texts(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


def test_a_linear_conversation_is_its_own_active_path(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    u1 = store.add_message(conv.id, "user", "hi")
    a1 = store.add_message(conv.id, "assistant", "hello")
    u2 = store.add_message(conv.id, "user", "more")
    assert (u1.parent_id, a1.parent_id, u2.parent_id) == (None, u1.id, a1.id)
    assert texts(store.active_path(conv.id)) == ["hi", "hello", "more"]
    tree = store.branches(conv.id)
    assert tree.alternatives(a1.id) == {"index": 1, "count": 1, "ids": [a1.id]}


def test_retry_adds_an_alternative_reply_and_switching_brings_the_old_one_back(
    store: Store,
) -> None:
    conv = store.create_conversation("chat", "embedded")
    u1 = store.add_message(conv.id, "user", "tell a joke")
    old = store.add_message(conv.id, "assistant", "joke one")
    store.add_message(conv.id, "user", "another")  # follows the old reply
    store.add_message(conv.id, "assistant", "joke two")
    new = store.add_message(conv.id, "assistant", "better joke", parent_id=u1.id)  # Retry
    assert texts(store.active_path(conv.id)) == ["tell a joke", "better joke"]
    tree = store.branches(conv.id)
    assert tree.alternatives(new.id) == {"index": 2, "count": 2, "ids": [old.id, new.id]}
    # Every message is kept, and search still finds the branch not shown.
    assert len(store.list_messages(conv.id)) == 5
    hits, _, _ = store.search_conversations("joke two")
    assert hits and hits[0].conversation.id == conv.id

    store.choose_branch(conv.id, old.id)
    assert texts(store.active_path(conv.id)) == ["tell a joke", "joke one", "another", "joke two"]
    # The model's history for a turn is the path down to the message it answers.
    assert texts(store.path_to(conv.id, new.id)) == ["tell a joke", "better joke"]
    # A new message follows the active branch's last one.
    follow = store.add_message(conv.id, "user", "third")
    assert follow.parent_id == store.active_path(conv.id)[-2].id


def test_edit_keeps_the_old_user_message_with_everything_after_it(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    first = store.add_message(conv.id, "user", "first question")
    store.add_message(conv.id, "assistant", "first answer")
    store.add_message(conv.id, "user", "follow-up")
    store.add_message(conv.id, "assistant", "follow-up answer")
    edited = store.add_message(conv.id, "user", "better question", parent_id=None)  # Edit
    store.add_message(conv.id, "assistant", "better answer")
    assert texts(store.active_path(conv.id)) == ["better question", "better answer"]
    assert store.branches(conv.id).alternatives(edited.id)["index"] == 2
    store.choose_branch(conv.id, first.id)
    assert texts(store.active_path(conv.id)) == [
        "first question",
        "first answer",
        "follow-up",
        "follow-up answer",
    ]
    # The title comes from the first message ever written, not the edit.
    assert store.get_conversation(conv.id).title == "first question"


def test_each_fork_remembers_its_own_choice(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    u1 = store.add_message(conv.id, "user", "q")
    a = store.add_message(conv.id, "assistant", "a")
    store.add_message(conv.id, "user", "q2")
    a2 = store.add_message(conv.id, "assistant", "a2")
    store.add_message(conv.id, "assistant", "a2 again", parent_id=a2.parent_id)
    store.choose_branch(conv.id, a2.id)  # the first reply to q2
    store.add_message(conv.id, "assistant", "b", parent_id=u1.id)  # another reply to q
    assert texts(store.active_path(conv.id)) == ["q", "b"]
    store.choose_branch(conv.id, a.id)
    assert texts(store.active_path(conv.id)) == ["q", "a", "q2", "a2"]  # not "a2 again"


def test_choosing_an_unknown_message_is_not_found(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    other = store.create_conversation("chat", "embedded")
    theirs = store.add_message(other.id, "user", "elsewhere")
    with pytest.raises(NotFound):
        store.choose_branch(conv.id, "m_nope")
    with pytest.raises(NotFound):
        store.choose_branch(conv.id, theirs.id)
    with pytest.raises(NotFound):
        store.add_message(conv.id, "assistant", "x", parent_id=theirs.id)


def test_rewinding_removes_a_branch_and_keeps_its_alternatives(store: Store) -> None:
    conv = store.create_conversation("chat", "embedded")
    u1 = store.add_message(conv.id, "user", "q")
    old = store.add_message(conv.id, "assistant", "old")
    store.add_message(conv.id, "user", "after old")
    store.add_message(conv.id, "assistant", "new", parent_id=u1.id)
    assert store.delete_messages_from(conv.id, old.id) == 2
    assert texts(store.list_messages(conv.id)) == ["q", "new"]
    assert store.search_conversations("after old")[0] == []


def test_import_without_parents_is_linear_and_with_parents_keeps_the_tree(store: Store) -> None:
    def msg(mid: str, role: str, text: str, parent: str | None = None) -> Message:
        return Message(mid, "c_1", role, text, "complete", "2025", parent_id=parent)  # type: ignore[arg-type]

    linear = Conversation("c_1", "Linear", "chat", "m", "2025", "2025")
    store.import_history([(linear, [msg("m1", "user", "a"), msg("m2", "assistant", "b")])])
    assert [m.parent_id for m in store.list_messages("c_1")] == [None, "m1"]
    tree = Conversation("c_2", "Tree", "chat", "m", "2025", "2025")
    thread = [
        Message("t1", "c_2", "user", "q", "complete", "2025"),
        Message("t2", "c_2", "assistant", "one", "complete", "2025", parent_id="t1"),
        Message("t3", "c_2", "assistant", "two", "complete", "2025", parent_id="t1"),
    ]
    store.import_history([(tree, thread)])
    assert texts(store.active_path("c_2")) == ["q", "two"]
    assert store.branches("c_2").alternatives("t2") == {
        "index": 1,
        "count": 2,
        "ids": ["t2", "t3"],
    }


def _index_of_branches_migration() -> int:
    return next(i for i, script in enumerate(MIGRATIONS) if "parent_id" in script)


def test_migration_turns_existing_conversations_into_linear_paths(tmp_path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    before = _index_of_branches_migration()
    for number, script in enumerate(MIGRATIONS[:before], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.execute(
        "INSERT INTO conversations (id, title, titled, mode, model, created_at, updated_at)"
        " VALUES ('c_old', 'Bread', 1, 'chat', 'embedded', '2024', '2024')"
    )
    for seq, (role, text) in enumerate(
        [("user", "levain?"), ("assistant", "rest it"), ("user", "how long"), ("assistant", "4h")]
    ):
        conn.execute(
            "INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at)"
            " VALUES (?, 'c_old', ?, ?, ?, 'complete', '2024')",
            (f"m_{seq}", seq, role, text),
        )
    conn.commit()
    conn.close()
    store = Store(Database(path))
    assert store.db.schema_version == len(MIGRATIONS)
    messages = store.list_messages("c_old")
    assert [m.parent_id for m in messages] == [None, "m_0", "m_1", "m_2"]
    assert texts(store.active_path("c_old")) == ["levain?", "rest it", "how long", "4h"]
    assert store.search_conversations("levain")[0][0].message_id == "m_0"
    reply = store.add_message("c_old", "assistant", "overnight", parent_id="m_2")
    assert texts(store.active_path("c_old"))[-1] == "overnight"
    assert store.branches("c_old").alternatives(reply.id)["count"] == 2


# --- the HTTP API ---------------------------------------------------------------------


def stream(base: str, path: str, body: dict | None = None) -> list[tuple[str, dict]]:
    with (
        authed.Client(base_url=base, timeout=60) as client,
        client.stream("POST", path, json=body) as response,
    ):
        assert response.status_code == 200, response.read()
        return list(iter_sse(response))


REPLIES = "reply one\n=== turn ===\nreply two\n=== turn ===\nreply three\n=== turn ===\nreply four"


def test_api_retry_edit_and_switch_branches(start_server, replay_file) -> None:
    server = start_server(replay_file(REPLIES))
    base = f"{server.url}/api/conversations"
    conv = authed.post(base, json={}).json()["id"]
    send(server.url, conv, "first question")
    shown = authed.get(f"{base}/{conv}").json()["messages"]
    user, old = shown
    assert old["alternatives"] == {"index": 1, "count": 1, "ids": [old["id"]]}
    assert old["parent_id"] == user["id"] and user["parent_id"] is None

    # Retry: another reply beside the first (by the user message's id or the reply's).
    events = stream(server.url, f"/api/conversations/{conv}/messages/{old['id']}/retry")
    assert events[0][1]["user_message"]["id"] == user["id"]
    assert events[-1][1]["message"]["content"] == "reply two"
    shown = authed.get(f"{base}/{conv}").json()["messages"]
    assert [m["content"] for m in shown] == ["first question", "reply two"]
    new = shown[1]
    assert new["alternatives"] == {"index": 2, "count": 2, "ids": [old["id"], new["id"]]}

    # Switch back: the old reply is shown again.
    back = authed.post(f"{base}/{conv}/branches", json={"message_id": old["id"]})
    assert back.status_code == 200
    assert [m["content"] for m in back.json()["messages"]] == ["first question", "reply one"]
    assert back.json()["version"] is None  # chat: no files
    assert back.json()["messages"][1]["alternatives"]["index"] == 1

    # The model's history is the active branch only.
    send(server.url, conv, "and then?")
    shown = authed.get(f"{base}/{conv}").json()["messages"]
    assert [m["content"] for m in shown] == [
        "first question",
        "reply one",
        "and then?",
        "reply three",
    ]

    # Edit the first message: a new branch from the top; the old one stays as 1 / 2.
    stream(
        server.url,
        f"/api/conversations/{conv}/messages",
        {"content": "better question", "edit": user["id"]},
    )
    shown = authed.get(f"{base}/{conv}").json()["messages"]
    assert [m["content"] for m in shown] == ["better question", "reply four"]
    assert shown[0]["alternatives"]["index"] == 2 and shown[0]["alternatives"]["count"] == 2
    again = authed.post(f"{base}/{conv}/branches", json={"message_id": user["id"]}).json()
    assert [m["content"] for m in again["messages"]] == [
        "first question",
        "reply one",
        "and then?",
        "reply three",
    ]
    # Search finds text on any branch.
    found = authed.get(base, params={"q": "better question"}).json()["conversations"]
    assert [c["id"] for c in found] == [conv]


def test_api_branch_requests_that_cannot_work_say_why(start_server, replay_file) -> None:
    server = start_server(replay_file(REPLIES))
    base = f"{server.url}/api/conversations"
    conv = authed.post(base, json={}).json()["id"]
    send(server.url, conv, "hello")
    assert authed.post(f"{base}/{conv}/branches", json={"message_id": "m_nope"}).status_code == 404
    assert authed.post(f"{base}/{conv}/branches", json={}).status_code == 422
    assert authed.post(f"{base}/c_nope/branches", json={"message_id": "x"}).status_code == 404
    assert authed.post(f"{base}/{conv}/messages/m_nope/retry").status_code == 404
    edit = authed.post(f"{base}/{conv}/messages", json={"content": "x", "edit": "m_nope"})
    assert edit.status_code == 404
    assistant = authed.get(f"{base}/{conv}").json()["messages"][1]["id"]
    edit = authed.post(f"{base}/{conv}/messages", json={"content": "x", "edit": assistant})
    assert edit.status_code == 404 and "user message" in edit.json()["detail"]


BUILD = """Writing it.
<action name="write_file">
<path>index.html</path>
<content>
<h1>First</h1>
</content>
</action>
=== turn ===
Done: the first page.
=== turn ===
Writing another.
<action name="write_file">
<path>index.html</path>
<content>
<h1>Second</h1>
</content>
</action>
=== turn ===
Done: the second page.
"""


def test_build_switching_branches_restores_each_branchs_files(start_server, replay_file) -> None:
    server = start_server(replay_file(BUILD))
    base = f"{server.url}/api/conversations"
    conv = authed.post(base, json={"mode": "build"}).json()["id"]
    send(server.url, conv, "Make a greeting page", kit="blank")
    page = f"{base}/{conv}/files/index.html"
    assert "First" in authed.get(page).text
    user, first = authed.get(f"{base}/{conv}").json()["messages"]

    stream(server.url, f"/api/conversations/{conv}/messages/{user['id']}/retry", {"kit": "blank"})
    assert "Second" in authed.get(page).text
    second = authed.get(f"{base}/{conv}").json()["messages"][1]
    assert second["alternatives"]["index"] == 2 and second["version"] != first["version"]

    switched = authed.post(f"{base}/{conv}/branches", json={"message_id": first["id"]}).json()
    assert switched["version"] and "First" in authed.get(page).text
    assert switched["messages"][1]["id"] == first["id"]
    switched = authed.post(f"{base}/{conv}/branches", json={"message_id": second["id"]}).json()
    assert switched["version"] and "Second" in authed.get(page).text
    # Switching to the branch already shown changes nothing: no new version.
    same = authed.post(f"{base}/{conv}/branches", json={"message_id": second["id"]}).json()
    assert same["version"] is None

    # Edit the request: the new branch starts from the files before it (none; the model
    # has no more replies, so it writes nothing).
    stream(
        server.url,
        f"/api/conversations/{conv}/messages",
        {"content": "Make a plain page", "edit": user["id"], "kit": "blank"},
    )
    assert authed.get(f"{base}/{conv}/files").json()["files"] == []
    assert authed.get(f"{base}/{conv}").json()["messages"][0]["alternatives"]["count"] == 2
    authed.post(f"{base}/{conv}/branches", json={"message_id": user["id"]})
    assert "Second" in authed.get(page).text  # the old request's branch, as it was left


def test_export_and_import_keep_every_alternative_and_the_one_shown(
    start_server, replay_file
) -> None:
    server = start_server(replay_file(REPLIES))
    base = f"{server.url}/api/conversations"
    conv = authed.post(base, json={"title": "Forks"}).json()["id"]
    send(server.url, conv, "first question")
    old = authed.get(f"{base}/{conv}").json()["messages"][1]
    stream(server.url, f"/api/conversations/{conv}/messages/{old['id']}/retry")
    authed.post(f"{base}/{conv}/branches", json={"message_id": old["id"]})  # back to 1 / 2

    exported = authed.get(f"{base}/{conv}/export", params={"format": "json"})
    answer = authed.post(
        f"{server.url}/api/import",
        files={"file": ("forks.json", exported.content)},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    listed = authed.get(base).json()["conversations"]
    copy = next(c for c in listed if c["title"] == "Forks" and c["id"] != conv)
    shown = authed.get(f"{base}/{copy['id']}").json()["messages"]
    assert [m["content"] for m in shown] == ["first question", "reply one"]
    assert shown[1]["alternatives"]["index"] == 1 and shown[1]["alternatives"]["count"] == 2
