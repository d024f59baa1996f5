"""The model picker's "Speech to text" section in Chromium against the real server: the
Whisper catalogue, a real download from a loopback fake hub with progress, and Use."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from gemma_chat.config import saved_speech_model
from gemma_chat.media import transcribe as stt
from gemma_chat.media import whisper_models
from gemma_chat.models import download
from tests import authed
from tests.models.fake_hf import FakeHub

BASE = whisper_models.find("whisper-base.en")


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    bundled = stt.bundled_model_dir()
    assert bundled is not None
    files = {p.name: p.read_bytes() for p in bundled.iterdir() if p.is_file()}
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", stt.WHISPER_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    stt.select_model(None)
    with FakeHub() as fake:
        assert BASE.repo is not None
        fake.add_repo(BASE.repo, files)
        fake.throttle_bps = 15_000_000  # about 5 s for model.bin: progress to watch
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake
    stt.select_model(None)


def test_speech_section_downloads_with_progress_and_uses_the_model(
    start_server, replay_file, page: Page, hub: FakeHub
) -> None:
    server = start_server(replay_file("Hi."))
    page.goto(server.open_url)
    page.get_by_test_id("model-pill").click()
    picker = page.get_by_test_id("model-picker")
    section = picker.get_by_test_id("speech-models")
    expect(section).to_be_visible()
    expect(section).to_contain_text("Speech to text")

    tiny = section.locator('[data-speech-id="whisper-tiny.en"]')
    expect(tiny).to_have_attribute("data-active", "true")
    expect(tiny.get_by_test_id("speech-active")).to_have_text("in use")
    small = section.locator('[data-speech-id="whisper-small"]')
    expect(small).to_contain_text("multilingual")
    expect(small).to_contain_text("about 3 s")

    row = section.locator('[data-speech-id="whisper-base.en"]')
    expect(row).to_have_attribute("data-installed", "false")
    expect(row).to_contain_text("145 MB")
    download_button = row.get_by_test_id("sp-download")
    expect(download_button).to_have_text("Download")
    download_button.focus()  # keyboard reachable: Enter starts it
    page.keyboard.press("Enter")
    detail = row.get_by_test_id("download-detail")
    expect(detail).to_contain_text(re.compile(r"[\d.]+ [kM]?B of [\d.]+ MB"))
    expect(row.get_by_test_id("download-percent")).to_have_text(re.compile(r"^\d+%$"))

    expect(row).to_have_attribute("data-installed", "true", timeout=60_000)
    expect(row.get_by_test_id("download-progress")).to_have_count(0)
    assert hub.bytes_served() > 10_000_000

    row.get_by_test_id("sp-use").click()
    expect(row).to_have_attribute("data-active", "true")
    expect(row.get_by_test_id("speech-active")).to_be_visible()
    expect(tiny).to_have_attribute("data-active", "false")
    expect(tiny.get_by_test_id("sp-use")).to_be_visible()
    assert authed.get(f"{server.url}/api/speech/models").json()["active"] == "whisper-base.en"
    assert saved_speech_model(server.settings.data_dir) == "whisper-base.en"
