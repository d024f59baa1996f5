"""What a model gets from each kind of attachment, and the fallbacks without a modality."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from PIL import Image

from gemma_chat.media.attachments import Attachment, AttachmentStore
from gemma_chat.media.prepare import prepare, stamp
from gemma_chat.store import Database
from tests.media import media_factory as mf

ALL = ("text", "image", "audio")


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(Database(tmp_path / "t.db"), tmp_path / "attachments")


def _wav(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / 16000


@pytest.mark.parametrize(
    ("size", "expected"),
    [((2000, 1000), (896, 448)), ((300, 1200), (224, 896)), ((100, 50), (100, 50))],
)
def test_images_are_resized_never_upscaled(
    store: AttachmentStore, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    attachment = store.save(mf.image("PNG", size), "p.png")
    prepared = prepare(attachment, attachment.path, ALL)
    (part,) = prepared.media
    assert (part.kind, part.mime, part.label) == ("image", "image/png", "p.png")
    with Image.open(io.BytesIO(part.data)) as image:
        assert image.size == expected
        assert image.mode == "RGB"
    assert prepared.notes == () and not prepared.needs_transcript


def test_jpeg_stays_jpeg_and_gif_gives_its_first_frame(store: AttachmentStore) -> None:
    jpeg = store.save(mf.image("JPEG", (1000, 1000)), "j.jpg")
    assert prepare(jpeg, jpeg.path, ALL).media[0].mime == "image/jpeg"
    gif = store.save(mf.image("GIF"), "anim.gif")
    (part,) = prepare(gif, gif.path, ALL).media
    with Image.open(io.BytesIO(part.data)) as image:
        assert image.convert("RGB").getpixel((0, 0))[0] > 150  # the red first frame
    rgba = store.save(mf.image("PNG", (20, 20), mode="RGBA"), "alpha.png")
    with Image.open(io.BytesIO(prepare(rgba, rgba.path, ALL).media[0].data)) as image:
        assert image.mode == "RGB"


def test_image_without_vision(store: AttachmentStore) -> None:
    attachment = store.save(mf.image("PNG"), "p.png")
    prepared = prepare(attachment, attachment.path, ("text",))
    assert prepared.media == ()
    assert "can't see images" in prepared.notes[0] and "not sent" in prepared.notes[0]
    # The model is told, so it doesn't pretend; the user's mark says why.
    assert prepared.text == (
        "[The user attached an image, p.png, that you cannot see; say so if asked about it.]"
    )
    assert prepared.left_out == "{model} can't see images"
    seen = prepare(attachment, attachment.path, ("text", "image"))
    assert seen.media and not seen.text and not seen.left_out


def test_audio_becomes_16k_mono_wav_clips(store: AttachmentStore) -> None:
    attachment = store.save(mf.audio("wav", 70.0), "talk.wav")
    prepared = prepare(attachment, attachment.path, ALL)
    assert len(prepared.media) == 3
    assert [p.label for p in prepared.media] == [
        "talk.wav 00:00–00:30",
        "talk.wav 00:30–01:00",
        "talk.wav 01:00–01:10",
    ]
    for part, seconds in zip(prepared.media, (30, 30, 10), strict=True):
        assert (part.kind, part.mime) == ("audio", "audio/wav")
        assert part.data[:4] == b"RIFF" and part.data[8:12] == b"WAVE"
        rate, channels, width, duration = _wav(part.data)
        assert (rate, channels, width) == (16000, 1, 2)
        assert duration == pytest.approx(seconds, abs=0.05)


def test_compressed_audio_is_resampled(store: AttachmentStore) -> None:
    attachment = store.save(mf.audio("mp3", 2.0), "tone.mp3")  # 44.1 kHz
    (part,) = prepare(attachment, attachment.path, ALL).media
    rate, channels, _, duration = _wav(part.data)
    assert (rate, channels) == (16000, 1)
    assert duration == pytest.approx(2.0, abs=0.1)


def test_audio_without_hearing_asks_for_a_transcript(store: AttachmentStore) -> None:
    attachment = store.save(mf.audio("ogg", 1.0), "voice.ogg")
    prepared = prepare(attachment, attachment.path, ("text", "image"))
    assert prepared.media == () and prepared.needs_transcript


def test_video_frames_and_sound(store: AttachmentStore) -> None:
    attachment = store.save(mf.video("mp4", 3.0), "clip.mp4")
    prepared = prepare(attachment, attachment.path, ALL)
    images = [p for p in prepared.media if p.kind == "image"]
    sounds = [p for p in prepared.media if p.kind == "audio"]
    assert [p.label for p in images] == [
        "clip.mp4 at 00:00",
        "clip.mp4 at 00:01",
        "clip.mp4 at 00:02",
    ]
    assert all(p.mime == "image/jpeg" for p in images)
    assert [p.label for p in sounds] == ["clip.mp4 00:00–00:03"]
    assert _wav(sounds[0].data)[:2] == (16000, 1)


def test_long_video_is_capped_at_32_frames(store: AttachmentStore) -> None:
    attachment = store.save(
        mf.video("mp4", 40.0, fps=1, with_audio=False, size=(64, 48)), "long.mp4"
    )
    prepared = prepare(attachment, attachment.path, ALL)
    assert 1 < len(prepared.media) <= 32
    assert all(p.kind == "image" for p in prepared.media)
    labels = [p.label for p in prepared.media]
    assert labels == sorted(labels) and len(set(labels)) == len(labels)


def test_very_long_video_seeks_for_its_frames(store: AttachmentStore) -> None:
    data = mf.video("mp4", 150.0, fps=1, with_audio=False, size=(32, 32))  # one key frame
    attachment = store.save(data, "film.mp4")
    labels = [p.label for p in prepare(attachment, attachment.path, ALL).media]
    assert len(labels) == 32
    assert labels[0] == "film.mp4 at 00:03" and labels[-1] == "film.mp4 at 02:28"


def test_video_without_vision(store: AttachmentStore) -> None:
    attachment = store.save(mf.video("webm", 1.0), "v.webm")
    hears = prepare(attachment, attachment.path, ("text", "audio"))
    assert [p.kind for p in hears.media] == ["audio"] and "can't see video" in hears.notes[0]
    neither = prepare(attachment, attachment.path, ("text",))
    assert neither.media == () and neither.needs_transcript and neither.notes
    silent = store.save(mf.video("mp4", 1.0, with_audio=False), "s.mp4")
    unseen = prepare(silent, silent.path, ("text",))
    assert not unseen.needs_transcript
    # Told in words either way; the mark says whether its sound went.
    assert "a video, v.webm, whose pictures you cannot see (only its sound)" in hears.text
    assert hears.left_out == "{model} can't see video; only its sound was sent"
    assert "a video, s.mp4, whose pictures you cannot see;" in unseen.text
    assert unseen.left_out == "{model} can't see video"
    assert not prepare(attachment, attachment.path, ALL).left_out


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"plain words\n", "n.txt", "File: n.txt\n```\nplain words\n```"),
        (b"# T\n```py\nx\n```\n", "r.md", "File: r.md\n````markdown\n# T\n```py\nx\n```\n````"),
        (b"a,b\r\n1,2\r\n", "d.csv", "File: d.csv\n```csv\na,b\n1,2\n```"),
        (b"bad \xff byte", "b.txt", "File: b.txt\n```\nbad \ufffd byte\n```"),
    ],
)
def test_text_documents(store: AttachmentStore, data: bytes, name: str, expected: str) -> None:
    attachment = store.save(data, name)
    prepared = prepare(attachment, attachment.path, ("text",))
    assert prepared.text == expected and prepared.media == () and prepared.notes == ()


def test_pdf_and_docx_text(store: AttachmentStore) -> None:
    pdf = store.save(mf.pdf(2, text=True), "paper.pdf")
    text = prepare(pdf, pdf.path, ALL).text
    assert text.startswith("File: paper.pdf\n```")
    assert "Hello from page one" in text and "And page two" in text and "page 2" in text
    word = store.save(mf.docx_file(), "letter.docx")
    assert "Hello docx\nSecond paragraph" in prepare(word, word.path, ALL).text
    blank = store.save(mf.pdf(1), "scan.pdf")
    assert "No text could be read" in prepare(blank, blank.path, ALL).notes[0]


def test_long_documents_are_cut_with_a_note(store: AttachmentStore) -> None:
    attachment: Attachment = store.save(b"y" * 5000, "long.txt")
    prepared = prepare(attachment, attachment.path, ("text",), max_doc_chars=1000)
    assert prepared.text.count("y") == 1000
    assert "[… truncated]" in prepared.text
    assert "cut to its first 1,000 characters" in prepared.notes[0]


def test_stamp() -> None:
    assert stamp(0) == "00:00" and stamp(65.9) == "01:05" and stamp(3725) == "1:02:05"
