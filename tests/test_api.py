"""The HTTP API on a real server on 127.0.0.1."""

import json
import time

import pytest

from tests import authed
from tests.sse_client import iter_sse, send


def create(base: str, **body) -> dict:
    response = authed.post(f"{base}/api/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_idle(base: str, conversation_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = authed.get(f"{base}/api/conversations/{conversation_id}").json()
        if not data["running"]:
            return data
        time.sleep(0.05)
    raise AssertionError("turn did not finish")


@pytest.fixture
def replay_server(start_server, replay_file):
    return start_server(replay_file("Hello **there**.\n=== turn ===\n<think>Hmm.</think>Again."))


@pytest.mark.slow
def test_streams_a_real_reply_from_the_embedded_model(start_server) -> None:
    server = start_server("embedded")
    conv = create(server.url)
    assert conv["model"] == "embedded" and conv["mode"] == "chat"
    events = send(server.url, conv["id"], "Say hello in one short sentence.")
    names = [name for name, _ in events]
    assert names[0] == "turn.start" and names[-1] == "turn.end"
    assert names.count("text") >= 2
    text = "".join(d["text"] for n, d in events if n == "text")
    assert text.strip()
    stats = [d for n, d in events if n == "stats"][-1]
    assert stats["completion_tokens"] > 0 and stats["ttft_ms"] > 0 and stats["prompt_tokens"] > 0
    assert set(stats) == {
        "ttft_ms",
        "prompt_tokens",
        "completion_tokens",
        "tokens_per_s",
        "cached_tokens",
    }
    end = events[-1][1]
    assert end["reason"] in ("stop", "length")
    assert end["message"]["content"] == text and end["message"]["status"] == "complete"

    saved = authed.get(f"{server.url}/api/conversations/{conv['id']}").json()
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant"]
    assert saved["messages"][1]["content"] == text
    assert saved["messages"][1]["stats"]["completion_tokens"] == stats["completion_tokens"]
    assert saved["title"] == "Say hello in one short sentence."


def test_health_and_models(replay_server) -> None:
    health = authed.get(f"{replay_server.url}/api/health").json()
    assert health["status"] == "ok" and health["version"]
    assert health["model"]["spec"].startswith("replay:")
    models = authed.get(f"{replay_server.url}/api/models").json()
    assert models["active"] == health["model"]["spec"]


def test_openapi_docs_are_served(replay_server) -> None:
    assert authed.get(f"{replay_server.url}/docs").status_code == 200
    spec = authed.get(f"{replay_server.url}/openapi.json").json()
    assert "/api/conversations/{conversation_id}/messages" in spec["paths"]


def test_thinking_and_text_events_and_history(replay_server) -> None:
    conv = create(replay_server.url)
    send(replay_server.url, conv["id"], "first")
    events = send(replay_server.url, conv["id"], "second")
    assert "".join(d["text"] for n, d in events if n == "thinking") == "Hmm."
    assert "".join(d["text"] for n, d in events if n == "text") == "Again."
    saved = authed.get(f"{replay_server.url}/api/conversations/{conv['id']}").json()
    assert [m["content"] for m in saved["messages"]] == [
        "first",
        "Hello **there**.",
        "second",
        "Again.",
    ]
    assert saved["messages"][3]["thinking"] == "Hmm."


def test_list_rename_delete(replay_server) -> None:
    base = replay_server.url
    first, second = create(base), create(base, title="Named")
    listing = authed.get(f"{base}/api/conversations", params={"limit": 1}).json()
    assert listing["total"] == 2 and [c["id"] for c in listing["conversations"]] == [second["id"]]
    renamed = authed.patch(f"{base}/api/conversations/{first['id']}", json={"title": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"
    assert authed.delete(f"{base}/api/conversations/{first['id']}").status_code == 204
    assert authed.get(f"{base}/api/conversations/{first['id']}").status_code == 404


def test_empty_message_is_422_with_a_message(replay_server) -> None:
    conv = create(replay_server.url)
    for content in ("", "   \n"):
        response = authed.post(
            f"{replay_server.url}/api/conversations/{conv['id']}/messages",
            json={"content": content},
        )
        assert response.status_code == 422
        assert response.json()["detail"] == "content: must not be empty"
    saved = authed.get(f"{replay_server.url}/api/conversations/{conv['id']}").json()
    assert saved["messages"] == []


def test_malformed_json_is_422(replay_server) -> None:
    conv = create(replay_server.url)
    response = authed.post(
        f"{replay_server.url}/api/conversations/{conv['id']}/messages",
        content=b'{"content": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Malformed JSON body")


def test_unknown_conversation_is_404(replay_server) -> None:
    base = replay_server.url
    assert authed.get(f"{base}/api/conversations/c_nope").status_code == 404
    response = authed.post(f"{base}/api/conversations/c_nope/messages", json={"content": "hi"})
    assert response.status_code == 404
    assert "No conversation" in response.json()["detail"]
    assert authed.patch(f"{base}/api/conversations/c_nope", json={"title": "x"}).status_code == 404
    assert authed.delete(f"{base}/api/conversations/c_nope").status_code == 404
    assert authed.post(f"{base}/api/conversations/c_nope/stop").status_code == 404


def test_bad_create_and_rename_bodies(replay_server) -> None:
    base = replay_server.url
    assert authed.post(f"{base}/api/conversations", json={"mode": "paint"}).status_code == 422
    bad_model = authed.post(f"{base}/api/conversations", json={"model": "nonsense"})
    assert bad_model.status_code == 422 and "Unknown model spec" in bad_model.json()["detail"]
    conv = create(base)
    assert (
        authed.patch(f"{base}/api/conversations/{conv['id']}", json={"title": " "}).status_code
        == 422
    )


def test_second_message_while_a_turn_runs_is_409_and_stop_works(start_server, replay_file) -> None:
    server = start_server(replay_file("word " * 400, tps=40))
    conv = create(server.url)
    url = f"{server.url}/api/conversations/{conv['id']}"
    with (
        authed.Client(timeout=30) as client,
        client.stream("POST", f"{url}/messages", json={"content": "go"}) as response,
    ):
        events = iter_sse(response)
        for name, _ in events:
            if name == "text":
                break
        busy = authed.post(f"{url}/messages", json={"content": "again"})
        assert busy.status_code == 409 and "still being generated" in busy.json()["detail"]
        assert authed.get(url).json()["running"] is True
        assert authed.post(f"{url}/stop").json() == {"stopped": True}
        rest = list(events)
    assert rest[-1][0] == "turn.end" and rest[-1][1]["reason"] == "cancelled"
    saved = wait_idle(server.url, conv["id"])
    # The 409 lost nothing and added nothing.
    assert saved["messages"][0]["content"] == "go"
    assert len(saved["messages"]) == 2
    assert saved["messages"][1]["status"] == "interrupted"
    assert saved["messages"][1]["content"].startswith("word")
    assert authed.post(f"{url}/stop").json() == {"stopped": False}


def test_turn_finishes_and_is_saved_when_the_client_goes_away(start_server, replay_file) -> None:
    script = "one two three four five six seven eight nine ten " * 3
    server = start_server(replay_file(script, tps=60))
    conv = create(server.url)
    with (
        authed.Client(timeout=30) as client,
        client.stream(
            "POST",
            f"{server.url}/api/conversations/{conv['id']}/messages",
            json={"content": "count"},
        ) as response,
    ):
        for name, _ in iter_sse(response):
            if name == "text":
                break  # leaving the block closes the connection mid-turn
    saved = wait_idle(server.url, conv["id"])
    reply = saved["messages"][1]
    assert reply["status"] == "complete"
    assert reply["content"] == script.rstrip("\n")


def test_a_broken_model_gives_an_error_and_the_app_keeps_running(start_server, tmp_path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    server = start_server(f"gguf:{bad}")
    health = authed.get(f"{server.url}/api/health").json()
    assert health["status"] == "ok"
    conv = create(server.url)
    events = send(server.url, conv["id"], "hello?")
    assert [n for n, _ in events] == ["turn.start", "error", "turn.end"]
    assert "could not load" in events[1][1]["message"]
    assert events[-1][1]["reason"] == "error"
    saved = authed.get(f"{server.url}/api/conversations/{conv['id']}").json()
    assert saved["messages"][0]["content"] == "hello?"  # the user's words are kept
    assert saved["messages"][1]["status"] == "error"
    deadline = time.monotonic() + 10
    while authed.get(f"{server.url}/api/health").json()["model"]["error"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_server_json_is_written_and_removed(start_server, replay_file, tmp_path) -> None:
    server = start_server(replay_file("hi"), data_dir=tmp_path / "announce")
    info = json.loads((tmp_path / "announce" / "server.json").read_text())
    assert info["url"] == server.url and info["pid"] > 0
    server.stop()
    assert not (tmp_path / "announce" / "server.json").exists()


def test_serves_the_web_ui(replay_server) -> None:
    page = authed.get(replay_server.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<script" in page.text


def test_foreign_host_headers_are_refused(replay_server) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 gets nothing."""
    refused = authed.get(f"{replay_server.url}/api/conversations", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    port = replay_server.url.rsplit(":", 1)[1]
    allowed = authed.get(f"{replay_server.url}/api/health", headers={"Host": f"localhost:{port}"})
    assert allowed.status_code == 200
