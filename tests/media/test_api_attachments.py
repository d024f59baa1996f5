"""POST /api/attachments and GET /api/attachments/{id}, on a small app with the router."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gemma_chat.media.attachments import AttachmentStore
from gemma_chat.server import api_attachments
from gemma_chat.store import Database
from tests.media import media_factory as mf


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(Database(tmp_path / "t.db"), tmp_path / "attachments")


@pytest.fixture
def client(store: AttachmentStore) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(api_attachments.router)
    app.dependency_overrides[api_attachments.get_attachments] = lambda: store
    with TestClient(app) as client:
        yield client


def _upload(client: TestClient, data: bytes, name: str, mime: str = "application/octet-stream"):  # type: ignore[no-untyped-def]
    return client.post("/api/attachments", files={"file": (name, data, mime)})


def test_upload_then_download(client: TestClient) -> None:
    data = mf.image("WEBP", (50, 40))
    response = _upload(client, data, "pic.webp", "image/webp")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "kind", "mime", "name", "size", "url", "meta", "message_id",
                         "created_at"}  # fmt: skip
    assert body["kind"] == "image" and body["mime"] == "image/webp"
    assert body["meta"] == {"width": 50, "height": 40} and body["size"] == len(data)
    assert body["url"] == f"/api/attachments/{body['id']}" and body["message_id"] is None

    got = client.get(body["url"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/webp"
    assert got.headers["content-disposition"].startswith("inline")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"].startswith("sandbox")


def test_the_stored_type_is_served_not_the_claimed_one(client: TestClient) -> None:
    body = _upload(client, mf.audio("wav", 0.5), "sound.mp3", "audio/mpeg").json()
    assert body["kind"] == "audio" and body["mime"] == "audio/wav"
    assert client.get(body["url"]).headers["content-type"] == "audio/wav"


def test_unicode_names_are_kept_for_display(client: TestClient) -> None:
    body = _upload(client, b"hi", "Résumé ✓.txt", "text/plain").json()
    assert body["name"] == "Résumé ✓.txt"
    disposition = client.get(body["url"]).headers["content-disposition"]
    assert disposition.startswith("inline") and "R%C3%A9sum%C3%A9" in disposition


def test_unknown_id_is_404(client: TestClient) -> None:
    response = client.get("/api/attachments/a_0123456789abcdef")
    assert response.status_code == 404
    assert "a_0123456789abcdef" in response.json()["detail"]
    assert client.get("/api/attachments/..%2F..%2Fetc").status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (mf.zip_file(), "photo.png", 415, "not a supported type"),
        (mf.EXE, "tool.exe", 415, "not a supported type"),
        (mf.truncated_png(), "cut.png", 422, "truncated"),
        (b"", "empty.txt", 422, "empty"),
    ],
)
def test_rejected_uploads(
    client: TestClient, store: AttachmentStore, data: bytes, name: str, status: int, words: str
) -> None:
    response = _upload(client, data, name)
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert not store.root.exists() or not any(store.root.iterdir())


def test_over_the_limit_is_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMMA_CHAT_MAX_UPLOAD_MB", "0.01")  # about 10 KB
    response = _upload(client, b"a" * 20_000, "big.txt")
    assert response.status_code == 413
    assert "upload limit" in response.json()["detail"]
    huge = _upload(client, b"a" * 200_000, "huge.txt")  # refused from Content-Length alone
    assert huge.status_code == 413
    assert _upload(client, b"a" * 5_000, "small.txt").status_code == 201


def test_missing_file_field_is_422(client: TestClient) -> None:
    response = client.post("/api/attachments", data={"other": "x"}, files={"x": ("a", b"b")})
    assert response.status_code == 422
    assert "file" in response.json()["detail"]
    assert client.post("/api/attachments", json={}).status_code == 422


def test_router_reads_the_store_from_app_state(store: AttachmentStore) -> None:
    class State:
        attachments = store

    app = FastAPI()
    app.include_router(api_attachments.router)
    app.state.gemma = State()
    with TestClient(app) as client:
        assert _upload(client, b"hello", "n.md").json()["mime"] == "text/markdown"
