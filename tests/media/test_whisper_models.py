"""Larger Whisper models come through the model downloader (resumable, verified, with
progress) from a loopback fake hub serving a copy of the bundled model's files, and speech
to text then runs on the downloaded folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemma_chat.errors import DownloadError
from gemma_chat.media import transcribe as stt
from gemma_chat.media import whisper_models
from gemma_chat.models import download
from tests.media.test_transcribe import ESPEAK, SENTENCE, speak, words
from tests.models.fake_hf import FakeHub

ENTRY = whisper_models.find("whisper-base.en")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    for name in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", stt.WHISPER_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    stt.select_model(None)
    yield
    stt.select_model(None)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    bundled = stt.bundled_model_dir()
    assert bundled is not None
    files = {p.name: p.read_bytes() for p in bundled.iterdir() if p.is_file()}
    with FakeHub() as fake:
        assert ENTRY.repo is not None
        fake.add_repo(ENTRY.repo, files)
        yield fake


def test_catalogue_lists_size_speed_and_languages() -> None:
    ids = {e.id for e in whisper_models.CATALOGUE}
    assert {"whisper-tiny.en", "whisper-base", "whisper-small", "distil-whisper-small.en"} <= ids
    bundled = whisper_models.find("whisper-tiny.en").to_dict()
    assert bundled["builtin"] is True and bundled["size_bytes"] > 0
    assert all(e.speed for e in whisper_models.CATALOGUE)
    assert any(e.multilingual for e in whisper_models.CATALOGUE)
    with pytest.raises(KeyError, match="choose one of"):
        whisper_models.find("whisper-huge")


def test_pull_with_progress_then_transcribe_with_it(hub: FakeHub, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert whisper_models.installed_dir(ENTRY, data_dir) is None
    with pytest.raises(stt.ModelUnavailable, match="not downloaded"):
        whisper_models.use(ENTRY.id, data_dir)
    events: list[dict] = []
    folder = whisper_models.pull(
        ENTRY.id, data_dir, on_progress=lambda e: events.append(e.as_dict()), endpoint=hub.url
    )
    assert folder == whisper_models.installed_dir(ENTRY, data_dir)
    assert (folder / "model.bin").stat().st_size > 10_000_000
    phases = [e.get("phase") for e in events]
    assert phases[0] == "checking" and phases[-1] == "done", phases
    assert any(e.get("downloaded", 0) > 0 for e in events)
    # The downloaded copy is what speech to text now runs on.
    assert whisper_models.use(ENTRY.id, data_dir) == folder
    assert stt.model_source() == str(folder)
    if not ESPEAK.exists():
        pytest.skip("espeak-ng is not installed")
    wav = speak(SENTENCE, tmp_path / "s.wav")
    assert words(stt.transcribe(wav).text) == words(SENTENCE)
    assert stt.engine().source == str(folder)
    # A second pull finds everything in place: nothing is fetched again.
    served = hub.bytes_served()
    whisper_models.pull(ENTRY.id, data_dir, endpoint=hub.url)
    assert hub.bytes_served() == served
    whisper_models.use("whisper-tiny.en", data_dir)
    assert stt.model_source() == str(stt.bundled_model_dir())


def test_repo_without_the_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with FakeHub() as fake:
        assert ENTRY.repo is not None
        fake.add_repo(ENTRY.repo, {"config.json": b"{}", "tokenizer.json": b"{}"})
        with pytest.raises(DownloadError, match=r"has no model\.bin"):
            whisper_models.pull(ENTRY.id, tmp_path / "data", endpoint=fake.url)


def test_damaged_download_is_a_clear_503(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(stt.bundled_model_dir(), folder)  # type: ignore[arg-type]
    (folder / "model.bin").write_bytes(b"\0" * 1000)
    stt.select_model(str(folder))
    with pytest.raises(stt.ModelUnavailable, match="could not be loaded"):
        stt.engine()
