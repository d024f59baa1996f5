"""Build-mode turns end to end with scripted model output (replay), real files and git."""

import io
import itertools
import re
import subprocess
import time
import zipfile

import httpx
import pytest

from gemma_chat.chat.history import model_messages
from gemma_chat.chat.turns import TurnManager
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import GenerationOptions
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.runtimes.replay import replay_tokens
from gemma_chat.store import Database, Store
from gemma_chat.workspace.projects import Projects
from tests import authed
from tests.sse_client import iter_sse, send

PAGE = """I'll create the page and its styles.
<action name="write_file">
<path>index.html</path>
<content>
<!DOCTYPE html>
<html>
<head><link rel="stylesheet" href="style.css"></head>
<body><h1>Counter</h1><button id="b">0</button></body>
</html>
</content>
</action>
```xml
<action name = 'write_file'>
<path> style.css </path>
<content>
```css
h1 { color: tomato; }
```
</content>
</action>
```
=== turn ===
Done: a page with a heading and a button.
=== turn ===
Making the heading blue.
<action name="edit_file">
<path>style.css</path>
<old_string>tomato</old_string>
<new_string>blue</new_string>
</action>
<action name="edit_file">
<path>style.css</path>
<old_string>purple</old_string>
<new_string>red</new_string>
</action>
=== turn ===
The second edit failed because purple was not there; the heading is blue now.
"""


def create_build(base: str) -> str:
    response = authed.post(f"{base}/api/conversations", json={"mode": "build"})
    assert response.status_code == 201
    return response.json()["id"]


def test_a_build_turn_writes_files_streams_actions_and_records_versions(
    start_server, replay_file
) -> None:
    server = start_server(replay_file(PAGE))
    base = server.url
    conv = create_build(base)

    events = send(base, conv, "Make a counter page")
    names = [n for n, _ in events]
    assert names[0] == "turn.start" and names[-1] == "turn.end"
    assert events[-1][1]["reason"] == "stop"
    text = "".join(d["text"] for n, d in events if n == "text")
    assert "I'll create the page" in text and "Done: a page" in text
    assert "<action" not in text and "```" not in text.replace("\n", "")  # no XML, no stray fence
    ends = [d for n, d in events if n == "action.end"]
    assert [(d["name"], d["path"], d["ok"]) for d in ends] == [
        ("write_file", "index.html", True),
        ("write_file", "style.css", True),
    ]
    streamed = "".join(
        d["text"] for n, d in events if n == "file.delta" and d["path"] == "index.html"
    )
    assert "<h1>Counter</h1>" in streamed  # the file streamed before it was written
    assert names.index("file.delta") < names.index("action.end")
    assert "version" in names

    files = authed.get(f"{base}/api/conversations/{conv}/files").json()["files"]
    assert sorted(f["path"] for f in files) == ["index.html", "style.css"]
    css = authed.get(f"{base}/api/conversations/{conv}/files/style.css").text
    assert css == "h1 { color: tomato; }"  # fences around the content were removed

    events = send(base, conv, "Make the heading blue")
    ends = [d for n, d in events if n == "action.end"]
    assert [d["ok"] for d in ends] == [True, False]
    assert "was not found" in ends[1]["result"]
    assert (
        authed.get(f"{base}/api/conversations/{conv}/files/style.css").text == "h1 { color: blue; }"
    )

    versions = authed.get(f"{base}/api/conversations/{conv}/versions").json()["versions"]
    assert [v["message"] for v in versions] == [
        "Empty project",
        "Make a counter page",
        "Make the heading blue",
    ]
    diff = authed.get(
        f"{base}/api/conversations/{conv}/versions/diff",
        params={"from": versions[1]["id"], "to": versions[2]["id"]},
    ).json()["files"]
    assert [d["path"] for d in diff] == ["style.css"] and "+h1 { color: blue; }" in diff[0]["diff"]

    # Undo the second turn: its files come back exactly.
    restored = authed.post(f"{base}/api/conversations/{conv}/versions/{versions[1]['id']}/restore")
    assert restored.status_code == 200
    assert (
        authed.get(f"{base}/api/conversations/{conv}/files/style.css").text
        == "h1 { color: tomato; }"
    )
    # Undo everything: back to the empty project.
    authed.post(f"{base}/api/conversations/{conv}/versions/{versions[0]['id']}/restore")
    assert authed.get(f"{base}/api/conversations/{conv}/files").json()["files"] == []

    saved = authed.get(f"{base}/api/conversations/{conv}").json()
    reply = saved["messages"][1]
    assert reply["status"] == "complete" and reply["version"] == versions[1]["id"]
    assert [a["path"] for a in reply["actions"]] == ["index.html", "style.css"]


def test_the_workspace_is_a_git_repo_and_exports_as_zip(start_server, replay_file) -> None:
    server = start_server(replay_file(PAGE))
    conv = create_build(server.url)
    send(server.url, conv, "Make a counter page")
    folder = server.settings.data_dir / "workspaces" / conv
    log = subprocess.run(
        ["git", "-C", str(folder), "log", "--oneline"], capture_output=True, text=True
    )
    assert "Make a counter page" in log.stdout
    archive = authed.get(f"{server.url}/api/conversations/{conv}/export.zip")
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert sorted(names) == ["index.html", "style.css"]
    assert authed.delete(f"{server.url}/api/conversations/{conv}").status_code == 204
    assert not folder.exists()  # deleting the conversation deletes its workspace


def test_workspace_endpoints_reject_bad_input(start_server, replay_file) -> None:
    server = start_server(replay_file(PAGE))
    conv = create_build(server.url)
    base = f"{server.url}/api/conversations/{conv}"
    assert authed.get(f"{server.url}/api/conversations/c_nope/files").status_code == 404
    assert authed.get(f"{base}/files/missing.js").status_code == 404
    assert authed.get(f"{base}/files/..%2F..%2Fgemma-chat.db").status_code in (400, 404)
    assert authed.post(f"{base}/versions/deadbeef/restore").status_code == 404


async def test_history_replays_the_exact_transcript(tmp_path, replay_file) -> None:
    store = Store(Database(tmp_path / "db.sqlite"))
    manager = TurnManager(store, RuntimePool(create_runtime), projects=Projects(tmp_path / "ws"))
    conv = store.create_conversation("build", replay_file(PAGE))
    await manager.start(conv.id, "Make a counter page").task
    history = model_messages(store.list_messages(conv.id))
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[1].content.startswith("I'll create the page")
    assert '<action name="write_file">' in history[1].content  # the raw actions, byte for byte
    assert history[2].content.startswith('<tool_result name="write_file" ok="true">')


async def test_a_file_cut_by_max_tokens_is_completed_by_a_continuation(
    tmp_path, replay_file
) -> None:
    head = 'Writing it.\n<action name="write_file">\n<path>app.js</path>\n<content>\n'
    lines = [f"console.log({i});" for i in range(16)]
    body = "\n".join(lines) + "\n"
    first = "\n".join(lines[:12])  # ends at ";": the next token starts a new piece
    rest = body[len(first) :]
    cut_at = len(replay_tokens(head + first))
    script = head + first + "\nDROPPED" * 50 + "\n=== turn ===\n" + rest + "</content>\n</action>\n"
    script += "=== turn ===\nAll done.\n"
    store = Store(Database(tmp_path / "db.sqlite"))
    manager = TurnManager(
        store,
        RuntimePool(create_runtime),
        options=GenerationOptions(max_tokens=cut_at),
        projects=Projects(tmp_path / "ws"),
    )
    conv = store.create_conversation("build", replay_file(script))
    turn = manager.start(conv.id, "log numbers")
    await turn.task
    events = [e async for e in turn.events()]
    workspace, _ = manager.projects.open(conv.id)
    # One newline before </content> belongs to the tag, not the file
    # (docs/design.md#action-protocol).
    assert workspace.read("app.js") == body.removesuffix("\n")
    deltas = "".join(d["text"] for n, d in events if n == "file.delta")
    assert deltas == body.removesuffix("\n")  # the live view saw every character once
    ends = [d for n, d in events if n == "action.end"]
    assert [(d["name"], d["ok"]) for d in ends] == [("write_file", True)]
    assert events[-1][1]["reason"] == "stop"
    transcript = store.list_messages(conv.id)[1].transcript
    assert "cut off while writing app.js" in transcript[1]["content"]


@pytest.mark.parametrize(
    "reply", ['<action name="write_file">\n<path>a.html</path>\n<content>\nunclosed']
)
async def test_an_unclosed_action_is_reported_not_dropped(tmp_path, replay_file, reply) -> None:
    store = Store(Database(tmp_path / "db.sqlite"))
    manager = TurnManager(store, RuntimePool(create_runtime), projects=Projects(tmp_path / "ws"))
    conv = store.create_conversation("build", replay_file(reply + "\n=== turn ===\nSorry."))
    turn = manager.start(conv.id, "go")
    await turn.task
    ends = [d async for n, d in turn.events() if n == "action.end"]
    assert len(ends) == 1 and not ends[0]["ok"] and "not finished" in ends[0]["result"]


async def test_every_round_extends_the_previous_prompt_byte_for_byte(tmp_path, replay_file) -> None:
    """The engine's prefix cache only helps if no round rewrites what came before."""
    store = Store(Database(tmp_path / "db.sqlite"))
    pool = RuntimePool(create_runtime)
    spec = replay_file(PAGE)
    runtime = pool.get(spec)
    seen: list[list[tuple[str, str]]] = []
    original = runtime.stream

    def recording(messages, options, cancel):
        seen.append([(m.role, m.content) for m in messages])
        return original(messages, options, cancel)

    runtime.stream = recording  # type: ignore[method-assign]
    manager = TurnManager(store, pool, projects=Projects(tmp_path / "ws"))
    conv = store.create_conversation("build", spec)
    await manager.start(conv.id, "Make a counter page").task
    await manager.start(conv.id, "Make the heading blue").task
    assert len(seen) == 4  # two rounds per turn
    for before, after in itertools.pairwise(seen):
        assert after[: len(before)] == before
    assert "2026" not in seen[0][0][1]  # no dates or other per-request values in the prompt


def test_the_preview_is_served_from_a_separate_origin(start_server, replay_file) -> None:
    server = start_server(replay_file(PAGE))
    conv = create_build(server.url)
    send(server.url, conv, "Make a counter page")
    preview = authed.get(f"{server.url}/api/conversations/{conv}/preview").json()
    # The project's own origin: a port of its own on the host the app was reached at.
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", preview["origin"])
    assert match, preview
    app_port = int(server.url.rsplit(":", 1)[1])
    assert int(match[1]) != app_port
    assert preview["url"] == preview["origin"] + "/"
    # It answers the browser signed in to the app (the app's cookie), nobody else.
    assert httpx.get(preview["url"]).status_code == 403
    base = preview["origin"]
    with httpx.Client(cookies={f"gemma_chat_token_{app_port}": server.token}) as signed_in:
        page = signed_in.get(f"{base}/")
        assert page.status_code == 200 and "<h1>Counter</h1>" in page.text
        assert "connect-src 'self'" in page.headers["content-security-policy"]
        # The preview origin serves project files only, never the app's API.
        assert signed_in.get(f"{base}/api/conversations").status_code == 404
    # Reached at localhost, the app hands out the same port under that name.
    local = authed.get(
        f"{server.url}/api/conversations/{conv}/preview",
        headers={"Host": f"localhost:{app_port}"},
    ).json()
    assert local["origin"] == preview["origin"].replace("127.0.0.1", "localhost")


def test_rewinding_to_an_earlier_message_rolls_the_files_back(start_server, replay_file) -> None:
    server = start_server(replay_file(PAGE))
    base = f"{server.url}/api/conversations"
    conv = create_build(server.url)
    send(server.url, conv, "Make a counter page")
    send(server.url, conv, "Make the heading blue")
    messages = authed.get(f"{base}/{conv}").json()["messages"]
    second_user = messages[2]
    assert second_user["content"] == "Make the heading blue"

    rewound = authed.post(f"{base}/{conv}/rewind", json={"message_id": second_user["id"]})
    assert rewound.status_code == 200 and rewound.json()["removed"] == 2
    assert authed.get(f"{base}/{conv}/files/style.css").text == "h1 { color: tomato; }"
    assert len(authed.get(f"{base}/{conv}").json()["messages"]) == 2

    first_user = messages[0]
    authed.post(f"{base}/{conv}/rewind", json={"message_id": first_user["id"]})
    assert authed.get(f"{base}/{conv}/files").json()["files"] == []
    assert authed.get(f"{base}/{conv}").json()["messages"] == []
    bad = authed.post(f"{base}/{conv}/rewind", json={"message_id": "m_nope"})
    assert bad.status_code == 404


def test_stop_cancels_a_build_turn_at_once_and_still_records_a_version(
    start_server, replay_file
) -> None:
    long_file = "".join(f"<p>line {i}</p>\n" for i in range(2000))
    script = (
        f'Writing.\n<action name="write_file">\n<path>index.html</path>\n<content>\n{long_file}'
    )
    server = start_server(replay_file(script, tps=50))
    conv = create_build(server.url)
    url = f"{server.url}/api/conversations/{conv}"
    with (
        authed.Client(timeout=30) as client,
        client.stream("POST", f"{url}/messages", json={"content": "go"}) as response,
    ):
        events = iter_sse(response)
        for name, _ in events:
            if name == "file.delta":
                break
        stopped_at = time.monotonic()
        assert authed.post(f"{url}/stop").json() == {"stopped": True}
        rest = list(events)
        elapsed = time.monotonic() - stopped_at
    assert rest[-1] == ("turn.end", rest[-1][1]) and rest[-1][1]["reason"] == "cancelled"
    assert elapsed < 1.0, f"stop took {elapsed:.2f}s"
    assert [n for n, _ in rest].count("version") == 1
    saved = authed.get(url).json()["messages"][1]
    assert saved["status"] == "interrupted" and saved["version"]
    assert authed.get(f"{url}/files").json()["files"] == []  # the half-written file never landed
