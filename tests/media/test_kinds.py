"""Sniffing and checking uploads: the content decides, not the name."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_chat.errors import CorruptMedia, UnsupportedMedia
from gemma_chat.media.kinds import DOCX_MIME, classify, inspect
from tests.media import media_factory as mf


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_images(fmt: str, mime: str) -> None:
    assert classify(mf.image(fmt), "picture") == ("image", mime)
    assert inspect(mf.image(fmt, (40, 30)), "x")[2] == {"width": 40, "height": 30}


def test_the_content_wins_over_the_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(mf.image("PNG"))
    assert classify(path, "photo.jpg") == ("image", "image/png")


@pytest.mark.parametrize(
    ("ext", "mime"),
    [
        ("wav", "audio/wav"),
        ("mp3", "audio/mpeg"),
        ("ogg", "audio/ogg"),
        ("m4a", "audio/mp4"),
        ("webm", "audio/webm"),
    ],
)
def test_audio(ext: str, mime: str) -> None:
    kind, got, meta = inspect(mf.audio(ext, 1.0), f"tone.{ext}")
    assert (kind, got) == ("audio", mime)
    assert meta["duration_s"] == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("ext", "mime"), [("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime")]
)
def test_video(ext: str, mime: str) -> None:
    kind, got, meta = inspect(mf.video(ext, 2.0), f"clip.{ext}")
    assert (kind, got) == ("video", mime)
    assert meta["duration_s"] == pytest.approx(2.0, abs=0.2)


def test_mov_is_known_by_its_brand_whatever_its_name() -> None:
    assert classify(mf.video("mov", 1.0), "clip.bin") == ("video", "video/quicktime")


def test_documents() -> None:
    assert inspect(mf.pdf(3), "a.pdf") == ("document", "application/pdf", {"pages": 3})
    assert classify(mf.docx_file(), "letter.docx") == ("document", DOCX_MIME)
    assert classify(b"hello\n", "notes.txt") == ("document", "text/plain")
    assert classify(b"# Title\n", "README.md") == ("document", "text/markdown")
    assert classify(b"a,b\n1,2\n", "data.csv") == ("document", "text/csv")
    assert classify("ünïcode ✓".encode(), "x.TXT") == ("document", "text/plain")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (mf.EXE, "setup.exe"),
        (mf.EXE, "innocent.txt"),
        (mf.zip_file(), "photo.png"),
        (mf.zip_file(), "letter.docx"),
        (b"print('hi')\n", "script.py"),
        (b"<html></html>", "page.html"),
    ],
)
def test_unsupported(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedMedia, match="not a supported type"):
        classify(data, name)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (mf.truncated_png(), "cut.png"),
        (b"", "empty.txt"),
        (mf.audio("m4a", 1.0)[:600], "cut.m4a"),
        (mf.video("mp4", 1.0)[:2000], "cut.mp4"),
        (b"%PDF-1.4\ngarbage", "broken.pdf"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "fake.png"),
    ],
)
def test_corrupt(data: bytes, name: str) -> None:
    with pytest.raises(CorruptMedia):
        classify(data, name)
