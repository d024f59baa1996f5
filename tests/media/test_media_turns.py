"""Attachments through a whole turn: what the model receives, natively or as a fallback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from gemma_chat.chat.media_input import MediaInput, short_model_name
from gemma_chat.chat.turns import TurnManager
from gemma_chat.errors import AttachmentLinkError
from gemma_chat.media.attachments import AttachmentStore
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store import Database, Store
from gemma_chat.workspace.projects import Projects
from tests import authed
from tests.media import media_factory
from tests.sse_client import send

ESPEAK = Path("/usr/bin/espeak-ng")


@pytest.fixture
def setup(tmp_path):
    db = Database(tmp_path / "t.db")
    store = Store(db)
    attachments = AttachmentStore(db, tmp_path / "attachments")
    pool = RuntimePool(create_runtime)
    manager = TurnManager(store, pool, projects=Projects(tmp_path / "ws"))
    manager.attachments = attachments
    return store, attachments, pool, manager


async def run_turn(manager, conversation_id, content, ids):
    turn = manager.start(conversation_id, content, ids)
    await turn.task
    return turn


async def test_an_image_model_gets_the_image_and_the_document_text(setup, replay_file) -> None:
    store, attachments, pool, manager = setup
    spec = replay_file("A red square.") + "&modalities=image,audio"
    conv = store.create_conversation("chat", spec)
    photo = attachments.save(media_factory.image("PNG", (1600, 1200)), "photo.png")
    notes = attachments.save(b"Budget: 42 apples\n", "notes.txt")
    turn = await run_turn(manager, conv.id, "What is this?", [photo.id, notes.id])
    (call,) = pool.loaded(spec).calls
    user = call[-1]
    assert user.role == "user" and user.content.endswith("What is this?")
    assert "Budget: 42 apples" in user.content and "notes.txt" in user.content
    (image,) = user.media
    assert image.kind == "image" and image.mime in ("image/png", "image/jpeg")
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(image.data)).size) == 896  # resized for the model
    started = turn.log[0][1]["user_message"]
    assert [a["name"] for a in started["attachments"]] == ["photo.png", "notes.txt"]
    assert not [e for e in turn.log if e[0] == "notice"]


async def test_a_text_only_model_is_told_and_the_user_sees_a_notice(setup, replay_file) -> None:
    store, attachments, pool, manager = setup
    spec = replay_file("I can't see it.")
    conv = store.create_conversation("chat", spec)
    photo = attachments.save(media_factory.image(), "photo.png")
    turn = await run_turn(manager, conv.id, "Describe it", [photo.id])
    (call,) = pool.loaded(spec).calls
    assert call[-1].media == ()
    notices = [d["message"] for n, d in turn.log if n == "notice"]
    assert notices and "can't see images" in notices[0]
    assert turn.log[-1][1]["reason"] == "stop"


async def test_video_becomes_timestamped_frames_and_audio(setup, replay_file) -> None:
    store, attachments, pool, manager = setup
    spec = replay_file("A clip.") + "&modalities=image,audio"
    conv = store.create_conversation("build", spec)  # Build mode takes media too
    clip = attachments.save(media_factory.video("mp4", seconds=3.0), "clip.mp4")
    await run_turn(manager, conv.id, "Make a page like this", [clip.id])
    call = pool.loaded(spec).calls[0]
    assert call[0].role == "system"  # the Build agent's own prompt, then the user's request
    media = call[-1].media
    frames = [p for p in media if p.kind == "image"]
    sounds = [p for p in media if p.kind == "audio"]
    assert 1 <= len(frames) <= 32 and frames[0].label.startswith("clip.mp4 at 00:0")
    assert sounds and sounds[0].mime == "audio/wav"


async def test_voice_note_for_a_model_without_audio_is_transcribed_locally(
    setup, replay_file, tmp_path
) -> None:
    if not await asyncio.to_thread(ESPEAK.exists):
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is not installed (.ci/run installs it)")
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "voice.wav"
    await asyncio.to_thread(
        subprocess.run,
        [str(ESPEAK), "-v", "en-us", "-s", "150", "-w", str(wav), "one two three four five"],
        check=True,
        capture_output=True,
    )
    store, attachments, pool, manager = setup
    spec = replay_file("Noted.")
    conv = store.create_conversation("chat", spec)
    note = attachments.save(wav.read_bytes(), "voice.wav")
    turn = await run_turn(manager, conv.id, "", [note.id])
    user = pool.loaded(spec).calls[0][-1]
    assert user.media == ()
    assert "transcribed locally" in user.content
    heard = {w for w in ("two", "three", "four", "five") if w in user.content.lower()}
    assert len(heard) >= 3
    assert any("transcribed on this computer" in d["message"] for n, d in turn.log if n == "notice")


async def test_unknown_or_reused_upload_ids_are_refused_before_anything_is_saved(
    setup, replay_file
) -> None:
    store, attachments, _pool, manager = setup
    conv = store.create_conversation("chat", replay_file("ok"))
    with pytest.raises(AttachmentLinkError):
        manager.start(conv.id, "hi", ["a_0000000000000000"])
    assert store.list_messages(conv.id) == []
    photo = attachments.save(media_factory.image(), "p.png")
    await run_turn(manager, conv.id, "one", [photo.id])
    with pytest.raises(AttachmentLinkError, match="already sent"):
        manager.start(conv.id, "two", [photo.id])


def test_upload_send_and_reload_over_http(start_server, replay_file) -> None:
    server = start_server(replay_file("Seen.") + "&modalities=image")
    base = server.url
    upload = authed.post(
        f"{base}/api/attachments",
        files={"file": ("shot.png", media_factory.image(), "image/png")},
    )
    assert upload.status_code == 201, upload.text
    attachment = upload.json()
    conv = authed.post(f"{base}/api/conversations", json={}).json()
    events = send(base, conv["id"], "", attachments=[attachment["id"]])
    assert events[-1][1]["reason"] == "stop"
    data = authed.get(f"{base}/api/conversations/{conv['id']}").json()
    user = data["messages"][0]
    assert [a["id"] for a in user["attachments"]] == [attachment["id"]]
    served = authed.get(f"{base}{user['attachments'][0]['url']}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    # Bad input: an unknown id is a 422 and saves nothing; so is an empty message.
    bad = authed.post(
        f"{base}/api/conversations/{conv['id']}/messages",
        json={"content": "x", "attachments": ["a_ffffffffffffffff"]},
    )
    assert bad.status_code == 422 and "No uploaded file" in bad.json()["detail"]
    empty = authed.post(f"{base}/api/conversations/{conv['id']}/messages", json={"content": " "})
    assert empty.status_code == 422
    assert len(authed.get(f"{base}/api/conversations/{conv['id']}").json()["messages"]) == 2
    big = authed.post(
        f"{base}/api/attachments", files={"file": ("x.zip", media_factory.zip_file(), "x")}
    )
    assert big.status_code == 415


NOTE = "[The user attached an image, photo.png, that you cannot see; say so if asked about it.]"


async def test_an_image_the_model_cannot_see_is_named_to_it_and_marked_on_the_message(
    setup, replay_file
) -> None:
    store, attachments, pool, manager = setup
    spec = replay_file("I can't see it.\n=== turn ===\nStill can't.")
    conv = store.create_conversation("chat", spec)
    photo = attachments.save(media_factory.image(), "photo.png")
    turn = await run_turn(manager, conv.id, "Describe it", [photo.id])
    (call,) = pool.loaded(spec).calls
    user = call[-1]
    assert user.media == ()
    # The model is told, in place of the picture, that there is one it cannot see.
    assert user.content == f"{NOTE}\n\nDescribe it"
    # The user's notice names the file, and the mark is kept on the attachment.
    (notice,) = [d for n, d in turn.log if n == "notice"]
    assert notice["attachment"] == {"id": photo.id, "not_sent": "Replay can't see images"}
    assert attachments.get(photo.id).meta["not_sent"] == "Replay can't see images"
    shown = manager.message_json(turn.user_message)["attachments"][0]
    assert shown["meta"]["not_sent"] == "Replay can't see images"
    assert shown["meta"]["width"]  # the rest of its meta is kept

    # The next turn's history still says so for that message.
    await run_turn(manager, conv.id, "What colour was it?", [])
    second = pool.loaded(spec).calls[1]
    assert sum(NOTE in m.content for m in second) == 1
    assert second[-1].content == "What colour was it?"


async def test_a_model_that_sees_the_image_clears_the_mark(setup, replay_file) -> None:
    store, attachments, _pool, manager = setup
    conv = store.create_conversation("chat", replay_file("ok"))
    photo = attachments.save(media_factory.image(), "photo.png")
    await run_turn(manager, conv.id, "Look", [photo.id])
    assert "not_sent" in attachments.get(photo.id).meta
    media = MediaInput(attachments)
    history = store.list_messages(conv.id)
    found = await media.for_history(history, ("text", "image"), history[0].id, "Gemma 4 E4B")
    assert found.by_message[history[0].id].media and not found.notes
    assert "not_sent" not in attachments.get(photo.id).meta


def test_the_model_name_in_the_mark_is_short() -> None:
    assert short_model_name("SmolLM2 135M Instruct (embedded)") == "SmolLM2 135M Instruct"
    assert short_model_name("Replay (replay-1.txt)") == "Replay"
    assert short_model_name("gemma-3n (MLX, mlx_vlm at http://x)") == "gemma-3n"
    assert short_model_name("  ") == "This model"
