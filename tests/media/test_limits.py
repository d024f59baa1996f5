"""The expansion limits of media/limits.py, one by one (the server-level bombs, with
memory measured, are in tests/security/test_upload_bombs.py)."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from pathlib import Path

import pytest

from gemma_chat.errors import AudioTooLong, CorruptMedia
from gemma_chat.media import limits
from gemma_chat.media.docx_text import read_docx
from gemma_chat.media.kinds import inspect
from gemma_chat.media.prepare import decode_pcm
from gemma_chat.media.transcribe import decode_pcm as transcribe_pcm
from tests.media import media_factory as mf


def _stored_docx(paragraphs: int, text: str = "") -> bytes:
    """A docx whose XML is stored, not deflated: no ratio to catch, only the count."""
    source = zipfile.ZipFile(io.BytesIO(mf.docx_file()))
    body = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" if text else "<w:p/>"
    xml = (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body * paragraphs}</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in source.namelist():
            data = xml.encode() if name == "word/document.xml" else source.read(name)
            archive.writestr(name, data)
    return out.getvalue()


def test_docx_over_the_paragraph_limit_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="more than 200,000 paragraphs"):
        inspect(_stored_docx(limits.MAX_DOCX_PARAGRAPHS + 1), "many.docx")
    assert inspect(_stored_docx(1000), "fine.docx")[0] == "document"


def test_docx_text_stops_at_the_limit_and_keeps_table_rows(tmp_path: Path) -> None:
    path = tmp_path / "long.docx"
    path.write_bytes(_stored_docx(5000, "words " * 10))
    result = read_docx(path, "long.docx", 1000)
    assert result.truncated and len(result.text) == 1000
    assert result.paragraphs < 100  # stopped parsing, not read to the end


def test_a_docx_with_a_dtd_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(
            "word/document.xml",
            '<!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>',
        )
    with pytest.raises(CorruptMedia, match="document type declaration"):
        inspect(data.getvalue(), "dtd.docx")


def test_animation_frames_times_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    gif = mf.image("GIF", (64, 48))  # two frames of 3072 pixels
    monkeypatch.setattr(limits, "MAX_ANIMATION_PIXELS", 5000)
    with pytest.raises(CorruptMedia, match="2 frames of 64×48"):
        inspect(gif, "anim.gif")
    monkeypatch.setattr(limits, "MAX_ANIMATION_PIXELS", 7000)
    assert inspect(gif, "anim.gif")[0] == "image"


def test_pixel_limit_counts_a_video_frame_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(CorruptMedia, match="megapixels; the limit is 0"):
        inspect(mf.video("mp4", seconds=1.0), "clip.mp4")


def test_media_longer_than_the_limit_is_refused_from_the_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "MAX_MEDIA_SECONDS", 1)
    with pytest.raises(CorruptMedia, match=r"is 2 s long; the limit is 1 s"):
        inspect(mf.audio("wav", seconds=2.0), "long.wav")


def test_pdf_pages_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PDF_PAGES", 1)
    with pytest.raises(CorruptMedia, match="has 2 pages; the limit is 1"):
        inspect(mf.pdf(2), "two.pdf")


def test_audio_for_a_model_is_cut_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(mf.audio("wav", seconds=3.0))
    pcm, cut = decode_pcm(path, max_s=1.0)
    assert cut and len(pcm) == 16_000 * 2
    pcm, cut = decode_pcm(path, max_s=10.0)
    assert not cut and len(pcm) == pytest.approx(3 * 32_000, rel=0.05)


def test_transcription_refuses_long_audio_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(mf.audio("wav", seconds=3.0))
    with pytest.raises(AudioTooLong, match=r"is 0\.1 minutes long"):  # the container's word
        transcribe_pcm(path, limit_s=1.0)


def test_the_memory_gate_queues_what_does_not_fit() -> None:
    def run(gate: limits.MemoryGate, size: int) -> int:
        def job() -> None:
            with gate.hold(size):
                time.sleep(0.05)

        threads = [threading.Thread(target=job) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert gate.used == 0
        return gate.peak_jobs

    assert run(limits.MemoryGate(100), 60) == 1
    assert run(limits.MemoryGate(100), 500) == 1  # larger than the budget: alone
    assert run(limits.MemoryGate(100), 25) == 4
