"""The attachment store: files on disk, rows in SQLite, linking to messages."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from gemma_chat.errors import (
    AttachmentLinkError,
    CorruptMedia,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from gemma_chat.media.attachments import AttachmentStore, max_upload_bytes, safe_filename
from gemma_chat.store import Database, Store
from tests.media import media_factory as mf


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "test.db")


@pytest.fixture
def store(db: Database, tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(db, tmp_path / "attachments")


def _message(db: Database) -> str:
    chats = Store(db)
    conversation = chats.create_conversation("chat", "embedded")
    return chats.add_message(conversation.id, "user", "look").id


def test_save_stores_the_file_and_describes_it(store: AttachmentStore) -> None:
    data = mf.image("PNG", (80, 60))
    attachment = store.save(io.BytesIO(data), "holiday photo.png")
    assert attachment.path.read_bytes() == data
    assert attachment.path.parent == store.root / attachment.id
    assert attachment.to_dict() == {
        "id": attachment.id,
        "kind": "image",
        "mime": "image/png",
        "name": "holiday photo.png",
        "size": len(data),
        "url": f"/api/attachments/{attachment.id}",
        "meta": {"width": 80, "height": 60},
        "message_id": None,
        "created_at": attachment.created_at,
    }
    assert attachment.id.startswith("a_")
    assert store.get(attachment.id) == attachment
    assert not list(store.root.rglob("*.part"))


def test_meta_for_audio_video_and_pdf(store: AttachmentStore) -> None:
    assert store.save(mf.audio("mp3", 1.0), "a.mp3").meta["duration_s"] == pytest.approx(1, 0.1)
    assert store.save(mf.video("webm", 1.0), "v.webm").kind == "video"
    assert store.save(mf.pdf(2), "doc.pdf").meta == {"pages": 2}
    assert store.save(b"hi", "n.txt").meta == {}


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.txt", "..\\..\\evil.txt", "/abs/x.txt", ".hidden.txt", "a\x00b.txt"]
)
def test_names_never_escape_the_root(store: AttachmentStore, name: str) -> None:
    attachment = store.save(b"text", name)
    assert attachment.path.resolve().parent == (store.root / attachment.id).resolve()
    assert not attachment.path.name.startswith(".")
    assert "/" not in attachment.name and "\\" not in attachment.name


def test_safe_filename() -> None:
    assert safe_filename("Résumé (final).docx") == "Resume_final_.docx"
    assert safe_filename("..") == "file"
    assert safe_filename("") == "file"
    assert safe_filename("x" * 300 + ".png").endswith(".png")
    assert len(safe_filename("x" * 300 + ".png")) <= 100


def test_rejections_leave_nothing_behind(store: AttachmentStore) -> None:
    with pytest.raises(TooLarge, match="upload limit"):
        store.save(io.BytesIO(bytes(5000)), "big.txt", max_bytes=1000)
    with pytest.raises(UnsupportedMedia):
        store.save(mf.zip_file(), "photo.png")
    with pytest.raises(CorruptMedia):
        store.save(mf.truncated_png(), "cut.png")
    with pytest.raises(CorruptMedia):
        store.save(io.BytesIO(b""), "empty.txt")
    assert list(store.root.iterdir()) == []
    assert store.rows.ids() == set()


def test_size_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMMA_CHAT_MAX_UPLOAD_MB", raising=False)
    assert max_upload_bytes() == 100_000_000  # decimal MB, as every size is shown
    monkeypatch.setenv("GEMMA_CHAT_MAX_UPLOAD_MB", "0.5")
    assert max_upload_bytes() == 500_000


def test_link_and_read_back(store: AttachmentStore, db: Database) -> None:
    message_id = _message(db)
    first = store.save(b"one", "1.txt")
    second = store.save(mf.image("JPEG"), "2.jpg")
    linked = store.link([first.id, second.id, first.id], message_id)
    assert [a.id for a in linked] == [first.id, second.id]
    assert all(a.message_id == message_id for a in linked)
    assert [a.id for a in store.for_message(message_id)] == [first.id, second.id]
    assert store.for_messages([message_id, "m_none"]) == {
        message_id: store.for_message(message_id),
        "m_none": [],
    }
    assert store.link([first.id], message_id)[0].id == first.id  # same message: no-op


def test_link_errors(store: AttachmentStore, db: Database) -> None:
    message_id = _message(db)
    other = _message(db)
    attachment = store.save(b"x", "x.txt")
    store.link([attachment.id], message_id)
    with pytest.raises(AttachmentLinkError, match="another message"):
        store.link([attachment.id], other)
    fresh = store.save(b"y", "y.txt")
    with pytest.raises(AttachmentLinkError, match="Unknown attachment"):
        store.link([fresh.id, "a_0000000000000000"], other)
    assert store.get(fresh.id).message_id is None  # all or nothing
    with pytest.raises(NotFound):
        store.link([fresh.id], "m_missing")
    with pytest.raises(NotFound):
        store.get("a_missing")


def test_deleting_the_conversation_unlinks_then_sweep_removes(
    store: AttachmentStore, db: Database
) -> None:
    message_id = _message(db)
    kept = store.save(b"k", "k.txt")
    gone = store.save(b"g", "g.txt")
    store.link([kept.id, gone.id], message_id)
    fresh = store.save(b"f", "f.txt")
    stray = store.root / "a_ffffffffffffffff"
    stray.mkdir()
    old = time.time() - 3600
    os.utime(stray, (old, old))
    conversation_id = store.get(kept.id).conversation_id
    assert conversation_id is not None
    Store(db).delete_conversation(conversation_id)
    assert store.get(kept.id).message_id is None
    assert store.delete_unlinked(older_than_s=3600) == 0  # all too recent
    assert store.get(fresh.id)
    assert store.delete_unlinked(older_than_s=0) == 3
    assert not any(store.root.iterdir())
    with pytest.raises(NotFound):
        store.get(kept.id)
