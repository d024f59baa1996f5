"""The turn manager on its own, with a replay model and a real SQLite store."""

import asyncio

import pytest

from gemma_chat.chat.history import model_messages
from gemma_chat.chat.turns import TurnManager
from gemma_chat.errors import TurnBusy
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store import Database, Store


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Database(tmp_path / "t.db"))


async def test_a_late_listener_gets_every_event(store, replay_file) -> None:
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", replay_file("a b c"))
    turn = manager.start(conv.id, "hi")
    await turn.task
    names = [name async for name, _ in turn.events()]
    assert names[0] == "turn.start" and names[-1] == "turn.end"
    assert names.count("text") == 3
    assert manager.running(conv.id) is None


async def test_busy_and_unknown(store, replay_file) -> None:
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", replay_file("x " * 50, tps=100))
    turn = manager.start(conv.id, "hi")
    with pytest.raises(TurnBusy):
        manager.start(conv.id, "again")
    manager.stop(conv.id)
    await turn.task
    assert [m.role for m in store.list_messages(conv.id)] == ["user", "assistant"]


async def test_shutdown_saves_running_turns_as_interrupted(store, replay_file) -> None:
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", replay_file("word " * 500, tps=100))
    turn = manager.start(conv.id, "go")
    await asyncio.sleep(0.2)
    await manager.shutdown()
    assert turn.done
    reply = store.list_messages(conv.id)[1]
    assert reply.status == "interrupted" and reply.content.startswith("word")


async def test_unknown_model_spec_ends_the_turn_with_an_error(store) -> None:
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", "not-a-model")
    turn = manager.start(conv.id, "hi")
    await turn.task
    events = [e async for e in turn.events()]
    assert events[-2][0] == "error" and "Unknown model spec" in events[-2][1]["message"]
    assert events[-1][1]["reason"] == "error"
    assert store.list_messages(conv.id)[1].status == "error"


def test_history_skips_failures_and_merges_neighbours(store) -> None:
    conv = store.create_conversation("chat", "embedded")
    store.add_message(conv.id, "user", "first")
    store.add_message(conv.id, "assistant", "", status="error")
    store.add_message(conv.id, "user", "second")
    store.add_message(conv.id, "assistant", "partial", status="interrupted")
    messages = model_messages(store.list_messages(conv.id))
    assert [(m.role, m.content) for m in messages] == [
        ("user", "first\n\nsecond"),
        ("assistant", "partial"),
    ]
