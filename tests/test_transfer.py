"""Export (one conversation as Markdown/JSON, everything as a zip) and import (that zip,
ChatGPT's and Open WebUI's exports), against the real server."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from gemma_chat.chat.exporting import download_filename
from gemma_chat.workspace.files import Workspace
from tests import authed

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def wait_idle(base: str, conversation_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = authed.get(f"{base}/api/conversations/{conversation_id}").json()
        if not data["running"]:
            return data
        time.sleep(0.05)
    raise AssertionError("turn did not finish")


def send(base: str, conversation_id: str, content: str, attachments: list[str] = ()) -> None:
    url = f"{base}/api/conversations/{conversation_id}/messages"
    body = {"content": content, "attachments": list(attachments)}
    with authed.stream("POST", url, json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for _ in response.iter_lines():
            pass
    wait_idle(base, conversation_id)


def import_file(base: str, name: str, data: bytes):
    return authed.post(f"{base}/api/import", files={"file": (name, data)}, timeout=60)


@pytest.fixture
def filled(start_server, replay_file):
    """A server with a chat (two turns, an image) and a Build chat with project files."""
    server = start_server(replay_file("First answer.\n=== turn ===\nSecond answer."))
    chat = authed.post(
        f"{server.url}/api/conversations", json={"title": 'Plans: Q3/Q4 "draft" ✓'}
    ).json()
    image = png_bytes()
    upload = authed.post(
        f"{server.url}/api/attachments", files={"file": ("red dot.png", image, "image/png")}
    )
    assert upload.status_code == 201, upload.text
    send(server.url, chat["id"], "Hello **there**", [upload.json()["id"]])
    send(server.url, chat["id"], "And again")
    patched = authed.patch(
        f"{server.url}/api/conversations/{chat['id']}",
        json={"settings": {"temperature": 0.3, "system_prompt": "Be brief."}},
    )
    assert patched.status_code == 200, patched.text
    build = authed.post(
        f"{server.url}/api/conversations", json={"mode": "build", "title": "Site"}
    ).json()
    workspace = Workspace(server.settings.data_dir / "workspaces" / build["id"], private=True)
    workspace.write("index.html", "<h1>Hi ✓</h1>\n")
    workspace.write("css/style.css", "h1 { color: red; }\n")
    return server, chat, build, image


def test_export_one_conversation_as_markdown_and_json(filled) -> None:
    server, chat, _, image = filled
    url = f"{server.url}/api/conversations/{chat['id']}/export"
    md = authed.get(url, params={"format": "md"})
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    disposition = md.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert 'filename="Plans_Q3_Q4_draft.md"' in disposition  # ASCII, no slash or quote
    assert "filename*=UTF-8''Plans%20Q3%20Q4%20draft%20%E2%9C%93.md" in disposition
    text = md.text
    assert text.startswith('# Plans: Q3/Q4 "draft" ✓\n')
    assert "## You" in text and "Hello **there**" in text
    assert "## Assistant" in text and "First answer." in text and "Second answer." in text
    assert text.index("Hello **there**") < text.index("First answer.") < text.index("And again")
    assert "red dot.png (image/png" in text

    data = authed.get(url, params={"format": "json"})
    assert data.status_code == 200
    assert data.headers["content-type"] == "application/json"
    assert 'filename="Plans_Q3_Q4_draft.json"' in data.headers["content-disposition"]
    body = data.json()
    assert body["format"] == "gemma-chat-conversation" and body["version"] == 1
    assert body["conversation"]["title"] == 'Plans: Q3/Q4 "draft" ✓'
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert body["active_path"] == [m["id"] for m in body["messages"]]
    first = body["messages"][0]
    assert first["attachments"][0]["name"] == "red dot.png"
    assert first["attachments"][0]["size"] == len(image)
    assert "url" not in first["attachments"][0]

    assert authed.get(url, params={"format": "pdf"}).status_code == 422
    missing = authed.get(f"{server.url}/api/conversations/c_nope/export")
    assert missing.status_code == 404


def test_archive_round_trip_into_a_fresh_data_dir(filled, start_server, replay_file) -> None:
    server, chat, build, image = filled
    archive = authed.get(f"{server.url}/api/export", timeout=60)
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith(
        'attachment; filename="gemma-chat-export-'
    )
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == "gemma-chat-archive"
    assert manifest["counts"]["conversations"] == 2
    assert manifest["counts"]["attachments"] == 1
    assert manifest["counts"]["project_files"] == 2
    assert "git history is not included" in manifest["project_history"]
    assert f"workspaces/{build['id']}/css/style.css" in names
    assert not any("/.git/" in n for n in names)
    # Nothing is left on disk once the download is done.
    deadline = time.monotonic() + 5  # removed by a task that runs after the last byte
    while list((server.settings.data_dir / "tmp").glob("export-*")):
        assert time.monotonic() < deadline, "the export's temporary file was left behind"
        time.sleep(0.05)

    fresh = start_server(replay_file("Fresh."))
    answer = import_file(fresh.url, "export.zip", archive.content)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["format"] == "gemma-chat-archive"
    assert report["imported"] == {
        "conversations": 2,
        "messages": 4,
        "attachments": 1,
        "projects": 1,
        "project_files": 2,
    }
    assert report["skipped"] == [] and report["skipped_total"] == 0

    listed = authed.get(f"{fresh.url}/api/conversations").json()["conversations"]
    by_title = {c["title"]: c for c in listed}
    assert set(by_title) == {'Plans: Q3/Q4 "draft" ✓', "Site"}
    new_chat = authed.get(f"{fresh.url}/api/conversations/{by_title[chat['title']]['id']}").json()
    old_chat = authed.get(f"{server.url}/api/conversations/{chat['id']}").json()
    assert new_chat["id"] != chat["id"]
    assert new_chat["mode"] == "chat" and new_chat["model"] == old_chat["model"]
    assert new_chat["created_at"] == old_chat["created_at"]
    strip = ("role", "content", "thinking", "status", "created_at", "model")
    assert [{k: m[k] for k in strip} for m in new_chat["messages"]] == [
        {k: m[k] for k in strip} for m in old_chat["messages"]
    ]
    assert {m["id"] for m in new_chat["messages"]}.isdisjoint(
        {m["id"] for m in old_chat["messages"]}
    )
    exported = authed.get(
        f"{fresh.url}/api/conversations/{new_chat['id']}/export", params={"format": "json"}
    ).json()
    assert exported["conversation"]["settings"] == {
        "temperature": 0.3,
        "system_prompt": "Be brief.",
    }
    attachment = new_chat["messages"][0]["attachments"][0]
    assert attachment["name"] == "red dot.png"
    served = authed.get(f"{fresh.url}{attachment['url']}")
    assert served.content == image

    new_build = by_title["Site"]
    assert new_build["mode"] == "build"
    folder = fresh.settings.data_dir / "workspaces" / new_build["id"]
    assert (folder / "index.html").read_text() == "<h1>Hi ✓</h1>\n"
    assert (folder / "css" / "style.css").read_text() == "h1 { color: red; }\n"
    versions = authed.get(f"{fresh.url}/api/conversations/{new_build['id']}/versions").json()
    assert len(versions["versions"]) == 1  # one version: the import

    # A second import never overwrites: two more conversations with new ids.
    again = import_file(fresh.url, "export.zip", archive.content).json()
    assert again["imported"]["conversations"] == 2
    total = authed.get(f"{fresh.url}/api/conversations").json()["total"]
    assert total == 4


def test_chatgpt_export_imports_the_active_path(start_server, replay_file) -> None:
    server = start_server(replay_file("Hi."))
    data = (FIXTURES / "chatgpt_conversations.json").read_bytes()
    answer = import_file(server.url, "conversations.json", data)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["format"] == "chatgpt"
    assert report["imported"]["conversations"] == 2
    reasons = {s["item"]: s["reason"] for s in report["skipped"]}
    assert "conversation 'Empty one'" in reasons
    assert any("tool steps" in item for item in reasons)
    assert "1 image in 'What is in this photo?'" in reasons

    titles = {c["title"]: c["id"] for c in report["conversations"]}
    sourdough = authed.get(
        f"{server.url}/api/conversations/{titles['Sourdough starter help']}"
    ).json()
    assert sourdough["model"] == server.settings.model  # gpt-4o is not a spec here
    texts = [(m["role"], m["content"]) for m in sourdough["messages"]]
    assert texts == [
        ("user", "My starter smells like nail polish. Is it dead?"),
        ("assistant", "Not dead, just hungry: that smell is acetone. Feed it twice a day."),
        ("user", "What flour ratio do bakeries use?"),
        ("assistant", "Most use 1:5:5 (starter:flour:water) overnight."),
    ]
    assert sourdough["messages"][1]["model"] == "gpt-4o"
    assert sourdough["created_at"].startswith("2024-05-29T")
    assert "OLD REGENERATED ANSWER" not in json.dumps(sourdough)

    bird = authed.get(f"{server.url}/api/conversations/{titles['What is in this photo?']}").json()
    assert bird["messages"][0]["content"] == "[image not imported]\nWhich bird is this?"

    # ChatGPT's own zip (conversations.json plus images) works too.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("conversations.json", data)
        zf.writestr("file-abc.png", png_bytes())
    zipped = import_file(server.url, "chatgpt-export.zip", buffer.getvalue()).json()
    assert zipped["format"] == "chatgpt" and zipped["imported"]["conversations"] == 2


def test_open_webui_export_imports_the_current_branch(start_server, replay_file) -> None:
    server = start_server(replay_file("Hi."))
    data = (FIXTURES / "open_webui_chats.json").read_bytes()
    answer = import_file(server.url, "chat-export-1720000300.json", data)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["format"] == "open-webui"
    assert report["imported"]["conversations"] == 2
    assert any(s["item"] == "1 file in 'Rust lifetimes'" for s in report["skipped"])
    titles = {c["title"]: c["id"] for c in report["conversations"]}
    rust = authed.get(f"{server.url}/api/conversations/{titles['Rust lifetimes']}").json()
    assert [m["content"] for m in rust["messages"]] == [
        "Why does this borrow not live long enough?",
        "Because the reference outlives the value it points to.",
        "How do I fix it with an owned String?",
        "Return `String` instead of `&str`, so the caller owns it.",
    ]
    assert rust["messages"][1]["model"] == "llama3.1:8b"
    assert rust["created_at"].startswith("2024-07-03T")
    haiku = authed.get(f"{server.url}/api/conversations/{titles['Haiku about autumn']}").json()
    assert [m["role"] for m in haiku["messages"]] == ["user", "assistant"]


def _zip(entries: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as zf:
        zf.writestr("manifest.json", json.dumps({"format": "gemma-chat-archive", "version": 1}))
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "workspaces/c_x/../../../evil.txt", "/etc/cron.d/evil", "a\\..\\evil", "C:/x"],
)
def test_archives_with_unsafe_names_are_refused(start_server, replay_file, name) -> None:
    server = start_server(replay_file("Hi."))
    answer = import_file(server.url, "bad.zip", _zip({name: b"x"}))
    assert answer.status_code == 400
    assert "unsafe entry" in answer.json()["detail"]
    assert "Nothing was imported" in answer.json()["detail"]
    assert authed.get(f"{server.url}/api/conversations").json()["total"] == 0
    assert not (server.settings.data_dir.parent / "evil.txt").exists()


def test_symlinks_bombs_and_oversized_uploads_are_refused(
    start_server, replay_file, monkeypatch
) -> None:
    server = start_server(replay_file("Hi."))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", "{}")
        link = zipfile.ZipInfo("workspaces/c_x/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    answer = import_file(server.url, "link.zip", buffer.getvalue())
    assert answer.status_code == 400 and "symbolic link" in answer.json()["detail"]

    bomb = _zip({"attachments/a_1/zeros.bin": b"\0" * 20_000_000})
    assert len(bomb) < 100_000
    answer = import_file(server.url, "bomb.zip", bomb)
    assert answer.status_code == 413 and "zip bomb" in answer.json()["detail"]

    monkeypatch.setenv("GEMMA_CHAT_MAX_IMPORT_MB", "0.05")  # 50 kB
    big = _zip({"conversations/x.json": bytes(range(256)) * 400}, zipfile.ZIP_STORED)
    answer = import_file(server.url, "big.zip", big)
    assert answer.status_code == 413
    assert "import limit of 50 kB" in answer.json()["detail"]
    monkeypatch.delenv("GEMMA_CHAT_MAX_IMPORT_MB")

    assert authed.get(f"{server.url}/api/conversations").json()["total"] == 0
    assert not list((server.settings.data_dir / "tmp").glob("import-*"))


def test_files_that_are_not_an_export_are_refused(start_server, replay_file) -> None:
    server = start_server(replay_file("Hi."))
    answer = import_file(server.url, "photo.png", png_bytes())
    assert answer.status_code == 400
    assert "neither a zip archive nor JSON" in answer.json()["detail"]
    answer = import_file(server.url, "notes.json", b'{"hello": "world"}')
    assert answer.status_code == 422 and "not a format" in answer.json()["detail"]
    answer = import_file(server.url, "broken.json", b'[{"mapping": ')
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["detail"]
    answer = import_file(server.url, "empty.json", b"")
    assert answer.status_code == 400
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "hi")
    answer = import_file(server.url, "other.zip", buffer.getvalue())
    assert answer.status_code == 422 and "no manifest.json" in answer.json()["detail"]
    answer = import_file(server.url, "truncated.zip", b"PK\x03\x04garbage")
    assert answer.status_code == 400 and "not a readable zip" in answer.json()["detail"]
    no_file = authed.post(f"{server.url}/api/import", data={"x": "1"})
    assert no_file.status_code == 422
    assert authed.get(f"{server.url}/api/conversations").json()["total"] == 0


def test_an_imported_model_server_needs_confirmation(start_server, replay_file) -> None:
    server = start_server(replay_file("Hi."))
    export = {
        "format": "gemma-chat-conversation",
        "version": 1,
        "conversation": {"title": "Remote", "mode": "chat", "model": "openai:http://10.9.8.7:8080"},
        "messages": [{"id": "m1", "role": "user", "content": "hi"}],
    }
    answer = import_file(server.url, "c.json", json.dumps(export).encode())
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert "needs your confirmation" in report["skipped"][0]["reason"]
    conv = authed.get(f"{server.url}/api/conversations/{report['conversations'][0]['id']}").json()
    assert conv["model"] == server.settings.model


@pytest.mark.parametrize(
    ("title", "ascii_name", "encoded"),
    [
        ("Plans", "Plans.md", "Plans.md"),
        ("", "conversation.md", "conversation.md"),
        ("../../etc/passwd", "etc_passwd.md", "etc%20passwd.md"),
        ("🙂🙂", "conversation.md", "%F0%9F%99%82%F0%9F%99%82.md"),
        ('a"b\r\nc', "a_bc.md", "a%20bc.md"),
    ],
)
def test_download_names_are_safe(title: str, ascii_name: str, encoded: str) -> None:
    value = download_filename(title, "md")
    assert value == f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
