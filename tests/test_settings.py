"""Generation settings (global and per conversation) and the length limit's Continue.

The turn-level tests drive the TurnManager with a replay model, which records the
messages and options of each call: what the settings do is checked where the model
receives them. The API tests run the real server.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gemma_chat.chat.turns import TurnManager
from gemma_chat.errors import CannotContinue
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.runtimes.replay import ReplayRuntime
from gemma_chat.store import Database, Store
from tests import authed
from tests.sse_client import iter_sse, send


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(Database(tmp_path / "t.db"))


def replay(manager: TurnManager, spec: str) -> ReplayRuntime:
    runtime = manager.runtimes.get(spec)
    assert isinstance(runtime, ReplayRuntime)
    return runtime


# --- what a turn uses -------------------------------------------------------------------


async def test_conversation_settings_win_over_global_ones_and_reach_the_model(
    store, replay_file
) -> None:
    spec = replay_file("one two three")
    manager = TurnManager(store, RuntimePool(create_runtime))
    store.update_global_settings(
        {"system_prompt": "Answer in French.", "temperature": 0.3, "top_k": 12}
    )
    conv = store.create_conversation("chat", spec)
    store.update_conversation(conv.id, settings={"temperature": 1.4, "top_p": 0.5})
    turn = manager.start(conv.id, "hi")
    await turn.task
    runtime = replay(manager, spec)
    messages = runtime.calls[-1]
    assert messages[0].role == "system" and messages[0].content == "Answer in French."
    options = runtime.options[-1]
    assert (options.temperature, options.top_p, options.top_k) == (1.4, 0.5, 12)
    assert options.max_tokens is None  # unset: the model's own


async def test_null_goes_back_to_the_global_default(store, replay_file) -> None:
    spec = replay_file("a\n=== turn ===\nb")
    manager = TurnManager(store, RuntimePool(create_runtime))
    store.update_global_settings({"temperature": 0.7})
    conv = store.create_conversation("chat", spec)
    store.update_conversation(conv.id, settings={"temperature": 1.9, "system_prompt": "X"})
    store.update_conversation(conv.id, settings={"temperature": None, "system_prompt": None})
    assert store.get_conversation(conv.id).settings == {}
    await manager.start(conv.id, "hi").task
    runtime = replay(manager, spec)
    assert runtime.options[-1].temperature == 0.7
    assert runtime.calls[-1][0].role == "user"  # no system prompt any more


async def test_a_smaller_context_length_setting_trims_the_history(store, replay_file) -> None:
    spec = replay_file("\n=== turn ===\n".join(["ok"] * 6))
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", spec)
    for _ in range(5):
        await manager.start(conv.id, "word " * 300).task  # ~500 estimated tokens each
    store.update_conversation(conv.id, settings={"context_length": 2048})
    turn = manager.start(conv.id, "last")
    await turn.task
    events = [e async for e in turn.events()]
    context = [data for name, data in events if name == "context"]
    assert context and context[0]["limit"] == 2048  # budgeted with the setting
    assert len(replay(manager, spec).calls[-1]) < 11


# --- the length limit and Continue --------------------------------------------------------


async def test_a_reply_at_the_length_limit_says_so_and_continue_appends(store, replay_file) -> None:
    words = " ".join(f"w{i}" for i in range(12))
    spec = replay_file(f"{words}\n=== turn ===\n and the end.")
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", spec)
    store.update_conversation(conv.id, settings={"max_tokens": 5})
    turn = manager.start(conv.id, "count")
    await turn.task
    events = [e async for e in turn.events()]
    end = events[-1][1]
    assert end["reason"] == "length"
    assert end["message"]["content"] == "w0 w1 w2 w3 w4"
    assert end["message"]["stats"]["finish_reason"] == "length"
    reply_id = end["message"]["id"]

    again = manager.continue_reply(conv.id)
    await again.task
    events = [e async for e in again.events()]
    start = events[0][1]
    assert start["continue"] is True and start["assistant_message_id"] == reply_id
    text = "".join(d["text"] for n, d in events if n == "text")
    assert text == " and the end."  # only the new text streams
    end = events[-1][1]
    assert end["reason"] == "stop"
    assert end["message"]["id"] == reply_id
    assert end["message"]["content"] == "w0 w1 w2 w3 w4 and the end."
    assert "finish_reason" not in (end["message"]["stats"] or {})
    stored = store.list_messages(conv.id)
    assert [m.role for m in stored] == ["user", "assistant"]  # the same reply, longer
    assert stored[1].content == "w0 w1 w2 w3 w4 and the end."
    # The model got the conversation with the partial reply last, to write on from it.
    sent = replay(manager, spec).calls[-1]
    assert sent[-1].role == "assistant" and sent[-1].content == "w0 w1 w2 w3 w4"


async def test_nothing_to_continue(store, replay_file) -> None:
    manager = TurnManager(store, RuntimePool(create_runtime))
    conv = store.create_conversation("chat", replay_file("x"))
    with pytest.raises(CannotContinue):
        manager.continue_reply(conv.id)
    store.add_message(conv.id, "user", "hello")
    with pytest.raises(CannotContinue):
        manager.continue_reply(conv.id)


# --- the HTTP API -------------------------------------------------------------------------


def test_global_settings_round_trip_and_null_resets(start_server, replay_file) -> None:
    server = start_server(replay_file("hi"))
    url = f"{server.url}/api/settings"
    built_in = authed.get(url).json()
    assert built_in == dict.fromkeys(
        [
            "system_prompt",
            "temperature",
            "top_p",
            "top_k",
            "max_tokens",
            "context_length",
            "thinking",
        ]
    )
    changed = authed.patch(
        url, json={"system_prompt": "Be brief.", "temperature": 0.5, "max_tokens": 300}
    ).json()
    assert changed["system_prompt"] == "Be brief." and changed["temperature"] == 0.5
    assert changed["max_tokens"] == 300 and changed["top_p"] is None
    assert authed.get(url).json() == changed
    reset = authed.patch(url, json={"temperature": None}).json()
    assert reset["temperature"] is None and reset["system_prompt"] == "Be brief."


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_k": "40"}, "top_k"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"context_length": 100}, "context_length"),
        ({"thinking": "yes"}, "thinking"),
        ({"max_tokens": 4096, "context_length": 1024}, "max_tokens"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_a_clear_422(start_server, replay_file, body, words) -> None:
    server = start_server(replay_file("hi"))
    answer = authed.patch(f"{server.url}/api/settings", json=body)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    answer = authed.patch(f"{server.url}/api/conversations/{conv['id']}", json={"settings": body})
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]


def test_conversation_settings_own_and_effective(start_server, replay_file) -> None:
    server = start_server(replay_file("hi"))
    authed.patch(f"{server.url}/api/settings", json={"temperature": 0.4, "context_length": 4096})
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    url = f"{server.url}/api/conversations/{conv['id']}"
    data = authed.patch(
        url, json={"settings": {"system_prompt": "Pirate talk.", "top_k": 5, "thinking": True}}
    ).json()
    settings = data["settings"]
    assert settings["system_prompt"] == "Pirate talk." and settings["top_k"] == 5
    assert settings["temperature"] is None and settings["thinking"] is True
    assert data["thinking"] is True  # the same switch as the composer's Think toggle
    effective = settings["effective"]
    assert effective["temperature"] == 0.4 and effective["top_k"] == 5
    assert effective["context_length"] == 4096
    # The global context length bounds a conversation's reply length.
    bad = authed.patch(url, json={"settings": {"max_tokens": 5000}})
    assert bad.status_code == 422 and "context length" in bad.json()["detail"]
    fetched = authed.get(url).json()["settings"]
    assert fetched == settings
    reset = authed.patch(url, json={"settings": {"top_k": None, "thinking": None}}).json()
    assert reset["settings"]["top_k"] is None and reset["settings"]["thinking"] is None
    assert reset["settings"]["system_prompt"] == "Pirate talk."


def test_continue_over_http(start_server, replay_file) -> None:
    server = start_server(replay_file("a b c d e f g\n=== turn ===\n h i."))
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    url = f"{server.url}/api/conversations/{conv['id']}"
    nothing = authed.post(f"{url}/continue")
    assert nothing.status_code == 422 and "no reply to continue" in nothing.json()["detail"]
    authed.patch(url, json={"settings": {"max_tokens": 3}})
    events = send(server.url, conv["id"], "go")
    assert events[-1][1]["reason"] == "length"
    with (
        authed.Client(base_url=server.url, timeout=60) as client,
        client.stream("POST", f"/api/conversations/{conv['id']}/continue") as response,
    ):
        assert response.status_code == 200
        events = list(iter_sse(response))
    assert events[0][1]["continue"] is True
    assert events[-1][1]["message"]["content"] == "a b c h i."
    messages = authed.get(url).json()["messages"]
    assert [m["content"] for m in messages] == ["go", "a b c h i."]


def test_the_terminal_says_a_reply_stopped_at_the_length_limit(tmp_path, replay_file) -> None:
    Store(Database(tmp_path / "gemma-chat.db")).update_global_settings({"max_tokens": 2})
    spec = replay_file("one two three four")
    env = {**os.environ, "GEMMA_CHAT_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gemma_chat", "chat", "go", "--model", spec],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "one two"
    assert "stopped at the length limit" in result.stderr


@pytest.mark.slow
def test_continue_on_the_built_in_model_goes_on_mid_sentence(start_server) -> None:
    """On llama.cpp the template is rendered up to the reply and its text appended with
    no end-of-turn marker, so the model carries on the cut sentence instead of starting
    a new answer (and reads the cut prompt from its KV cache)."""
    server = start_server("embedded")
    conv = authed.post(f"{server.url}/api/conversations", json={}).json()
    url = f"{server.url}/api/conversations/{conv['id']}"
    authed.patch(url, json={"settings": {"max_tokens": 24, "temperature": 0}})
    events = send(server.url, conv["id"], "Write three sentences about the sea.", timeout=300)
    first = events[-1][1]
    assert first["reason"] == "length", first
    cut = first["message"]["content"]
    with (
        authed.Client(base_url=server.url, timeout=300) as client,
        client.stream("POST", f"{url}/continue") as response,
    ):
        assert response.status_code == 200
        events = list(iter_sse(response))
    more = "".join(data["text"] for name, data in events if name == "text")
    final = events[-1][1]["message"]
    assert final["id"] == first["message"]["id"] and final["content"] == cut + more
    assert more.strip() and not more.lstrip().startswith(cut[:12]), more  # not a new answer
    assert final["stats"]["cached_tokens"] > first["message"]["stats"]["prompt_tokens"]
