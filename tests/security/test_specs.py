"""Model specs over HTTP: replay: reads no file it was not started with, and no message goes
to a model server on another machine before the user confirmed that server.

The attacks: `replay:/etc/passwd` made the file the "reply"; `POST /api/models/load
{"model": "openai:http://HOST/"}` sent the next messages to HOST and saved it for the next
start. A real fake OpenAI-compatible server on this machine's non-loopback address stands
in for "another machine" (it records every request it gets).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gemma_chat.config import PREFERENCES_FILE
from gemma_chat.server.spec_policy import is_loopback
from tests.sse_client import send

SECRET = "root:x:0:0:do-not-leak"
CHUNK = {"choices": [{"index": 0, "delta": {"content": "Hello from afar"}}]}


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "passwd"
    path.write_text(SECRET, encoding="utf-8")
    return path


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server started as a user starts it: no GEMMA_CHAT_ALLOW_REPLAY."""
    monkeypatch.delenv("GEMMA_CHAT_ALLOW_REPLAY", raising=False)


def prefs(server: Any) -> dict[str, Any]:
    path = server.settings.data_dir / PREFERENCES_FILE
    return json.loads(path.read_text()) if path.exists() else {}


# -- replay: -----------------------------------------------------------------------------------


def test_replay_of_any_file_is_refused_over_the_api(
    strict: None, start_server, replay_file, secret_file: Path
) -> None:
    started = replay_file("Scripted hello.")
    server = start_server(started)
    attack = f"replay:{secret_file}"
    with server.client() as api:
        refused = api.post("/api/models/load", json={"model": attack})
        assert refused.status_code == 403, refused.text
        assert "replay:" in refused.json()["detail"] and SECRET not in refused.text

        created = api.post("/api/conversations", json={"model": attack})
        assert created.status_code == 403, created.text
        assert api.get("/api/conversations").json()["total"] == 0

        conv = api.post("/api/conversations", json={"mode": "chat"}).json()
        patched = api.patch(f"/api/conversations/{conv['id']}", json={"model": attack})
        assert patched.status_code == 403, patched.text
        assert api.get(f"/api/conversations/{conv['id']}").json()["model"] == started

        fit = api.get("/api/models/fit", params={"model": attack})
        assert fit.status_code == 403, fit.text

        assert api.get("/api/models").json()["active"] == started
    assert prefs(server).get("model") != attack

    # The replay the server was started with (a demo) still works, reply and all.
    events = send(server.url, conv["id"], "hi")
    text = "".join(d["text"] for name, d in events if name == "text")
    assert text == "Scripted hello." and SECRET not in json.dumps(events)


@pytest.mark.slow
def test_replay_with_the_environment_switch(start_server, replay_file) -> None:
    """GEMMA_CHAT_ALLOW_REPLAY=1 (tests/conftest.py sets it) lets tests pick any script."""
    server = start_server("embedded")
    other = replay_file("Other script.")
    with server.client() as api:
        created = api.post("/api/conversations", json={"model": other})
        assert created.status_code == 201, created.text
    assert send(server.url, created.json()["id"], "go")[-1][0] == "turn.end"


# -- model servers on other machines ------------------------------------------------------------


def lan_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = sock.getsockname()[0]
    except OSError:
        return None
    return None if is_loopback(address) or address == "0.0.0.0" else address


class FakeRemote:
    """An OpenAI-compatible server on the LAN address that records what reaches it."""

    def __init__(self, host: str) -> None:
        self.paths: list[str] = []
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                remote.paths.append(f"GET {self.path}")
                if self.path == "/v1/models":
                    data = {"object": "list", "data": [{"id": "far-model", "object": "model"}]}
                    self._reply(json.dumps(data).encode(), "application/json")
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                remote.paths.append(f"POST {self.path}")
                stream = f"data: {json.dumps(CHUNK)}\n\ndata: [DONE]\n\n".encode()
                self._reply(stream, "text/event-stream")

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def remote() -> Iterator[FakeRemote]:
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to stand in for another one")
    fake = FakeRemote(address)
    yield fake
    fake.close()


@pytest.mark.slow
def test_a_new_remote_host_needs_confirmation(start_server, remote: FakeRemote) -> None:
    server = start_server("embedded")
    spec = f"openai:{remote.url}/v1#far-model"
    with server.client() as api:
        asked = api.post("/api/models/load", json={"model": spec})
        assert asked.status_code == 409, asked.text
        assert asked.json()["confirm"]["url"] == f"{remote.url}/v1"
        assert remote.url in asked.json()["detail"]
        # Nothing went there, nothing was saved, the default is unchanged.
        assert remote.paths == []
        assert "model" not in prefs(server) and "confirmed_hosts" not in prefs(server)
        assert api.get("/api/models").json()["active"] == "embedded"
        assert api.post("/api/conversations", json={"model": spec}).status_code == 409
        conv = api.post("/api/conversations", json={}).json()
        patch = api.patch(f"/api/conversations/{conv['id']}", json={"model": spec})
        assert patch.status_code == 409 and remote.paths == []

        loaded = api.post("/api/models/load", json={"model": spec, "confirm_host": True})
        assert loaded.status_code == 200, loaded.text
        assert "GET /v1/models" in remote.paths
        assert prefs(server)["model"] == spec
        assert prefs(server)["confirmed_hosts"] == [remote.url]

        # Remembered: the same host needs no second confirmation, whatever the model name.
        other = f"openai:{remote.url}/v1#another"
        assert api.patch(f"/api/conversations/{conv['id']}", json={"model": other}).is_success
        assert api.patch(f"/api/conversations/{conv['id']}", json={"model": spec}).is_success
    events = send(server.url, conv["id"], "hello")
    assert "POST /v1/chat/completions" in remote.paths
    assert "Hello from afar" in "".join(d.get("text", "") for _, d in events)


@pytest.mark.slow
def test_ollama_host_needs_confirmation_too(start_server, remote: FakeRemote) -> None:
    server = start_server("embedded")
    with server.client() as api:
        asked = api.post("/api/conversations", json={"model": f"ollama:{remote.url}#gemma3"})
        assert asked.status_code == 409, asked.text
        assert asked.json()["confirm"]["url"] == remote.url
        assert api.get("/api/conversations").json()["total"] == 0
        # Asking that Ollama to download a model contacts it too.
        pull = api.post("/api/models/pull", json={"model": f"ollama:{remote.url}#gemma3"})
        assert pull.status_code == 409 and pull.json()["confirm"]["url"] == remote.url
    assert remote.paths == []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"],
)
@pytest.mark.slow
def test_loopback_servers_need_no_confirmation(start_server, host: str) -> None:
    server = start_server("embedded")
    with server.client() as api:
        created = api.post("/api/conversations", json={"model": f"openai:http://{host}:9/v1#m"})
        assert created.status_code == 201, created.text


def test_host_started_with_needs_no_confirmation(start_server, remote: FakeRemote) -> None:
    """The command line is the user's own choice (`--model openai:http://gpu-box/v1`)."""
    spec = f"openai:{remote.url}/v1#far-model"
    server = start_server(spec)
    with server.client() as api:
        assert api.post("/api/conversations", json={"model": spec}).status_code == 201
        host = remote.url.rsplit(":", 1)[0]
        other = f"openai:{host}:1/v1#m"  # another port: another server
        assert api.post("/api/conversations", json={"model": other}).status_code == 409


def test_lookalike_loopback_names_are_remote() -> None:
    from gemma_chat.server.spec_policy import remote_host

    for spec in (
        "openai:http://127.0.0.1.nip.io:8080/v1",
        "openai:http://localhost.evil.example/v1",
        "openai:http://0.0.0.0:8080/v1",
        "ollama:http://10.0.0.5:11434#gemma3",
    ):
        assert remote_host(spec) is not None, spec
    for spec in ("openai:http://[::ffff:127.0.0.1]:8080/v1", "ollama:gemma3", "embedded"):
        assert remote_host(spec) is None, spec
    found = remote_host("openai:https://Box.Example/v1")
    assert found is not None and found.origin == "https://box.example:443"


# -- the confirmation in the UI ---------------------------------------------------------------


def test_the_picker_shows_the_url_and_asks_first(
    start_server, replay_file, remote: FakeRemote, browser: Any
) -> None:
    from playwright.sync_api import expect

    started = replay_file("Local answer.")
    server = start_server(started)
    with server.client() as api:
        conv = api.post("/api/conversations", json={}).json()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server.open_url)
        page.goto(f"{server.url}/#/c/{conv['id']}")
        pill = page.get_by_test_id("model-name")
        expect(pill).to_contain_text("Replay")
        page.get_by_test_id("model-pill").click()
        picker = page.get_by_test_id("model-picker")
        spec = f"openai:{remote.url}/v1#far-model"
        picker.get_by_test_id("custom-model-input").fill(spec)
        picker.get_by_test_id("custom-model-use").click()

        dialog = page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Use a model on another machine?")
        expect(dialog).to_contain_text(
            f"Send your messages to {remote.url}/v1? Only continue if you trust this server."
        )
        assert remote.paths == []  # asked before anything went there
        dialog.get_by_test_id("confirm-cancel").click()
        toast = page.locator('.composer-wrap [data-testid="error-banner"]')
        expect(toast).to_contain_text(f"you chose not to send messages to {remote.url}/v1")
        expect(pill).to_contain_text("Replay")
        assert remote.paths == [] and "confirmed_hosts" not in prefs(server)

        picker.get_by_test_id("custom-model-use").click()
        expect(dialog).to_be_visible()
        yes = dialog.get_by_test_id("confirm-delete")
        expect(yes).to_have_text("Send to this server")
        yes.click()
        expect(picker).to_be_hidden()
        expect(pill).to_contain_text("far-model")
        assert "GET /v1/models" in remote.paths
        with server.client() as api:
            assert api.get(f"/api/conversations/{conv['id']}").json()["model"] == spec
        assert prefs(server)["confirmed_hosts"] == [remote.url]
    finally:
        context.close()
    assert not errors, errors
