"""Attachments and voice input in the composer, in real Chromium against the real server.

Uploads (`POST /api/attachments`), the files they serve, the conversation JSON and
transcription (`POST /api/transcribe`, `/api/transcribe/live`) are all the server's own:
no route is stubbed. Only the test of the composer waiting for an upload holds the
upload back, and then passes it to the server unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import struct
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests import authed
from tests.chromium import launch_with_mic, watch_errors
from tests.media import media_factory

IMAGE_ONLY_NOTICE = "This model can't see images — pick a vision model"
UNSUPPORTED_HINT = "attach images, audio, video, PDFs or text documents"
AUDIO_NOTICE = "Will be transcribed locally (this model doesn't take audio)"


# --- test data -------------------------------------------------------------------------


def png_bytes(width: int = 320, height: int = 200) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 255 // width, y * 255 // height, 180) for y in range(height) for x in range(width)]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tone_wav(seconds: float = 3.0, rate: int = 16_000, freq: float = 440.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(12_000 * math.sin(2 * math.pi * freq * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return out.getvalue()


REQUEST = "build a calculator"  # a short request, as users say it
HEARD = "Build a calculator."  # Whisper's words for it, exactly


def speech_wav(path: Path, silence_s: float = 3.0) -> Path:
    """espeak-ng saying REQUEST, then silence (the fake device loops the file), where
    espeak-ng is installed; else a tone."""
    espeak = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
    if Path(espeak).exists():
        spoken = path.with_suffix(".speech.wav")
        result = subprocess.run([espeak, "-w", str(spoken), REQUEST], capture_output=True)
        if result.returncode == 0 and spoken.exists() and spoken.stat().st_size > 1000:
            with wave.open(str(spoken), "rb") as src:
                params = src.getparams()
                frames = src.readframes(src.getnframes())
            silence = b"\0" * int(params.framerate * silence_s) * params.sampwidth
            with wave.open(str(path), "wb") as out:
                out.setparams(params)
                out.writeframes(frames + silence)
            return path
    path.write_bytes(tone_wav())
    return path


# --- what the page sends to the real server ----------------------------------------------


class Traffic:
    """Records what the page sends to the real server's routes. Nothing is stubbed: the
    uploads, attachments and transcriptions are the server's own. `hold_uploads()` holds
    uploads back (explicitly, for the one test that needs it) until `release()` lets each
    through to the server unchanged."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sent: list[dict[str, Any]] = []  # message bodies posted
        self.transcribed = 0
        self.held: list[Route] = []

        page.on("request", self.record)
        page.on("websocket", self.live)

    def wait_sent(self, count: int, timeout_s: float = 10) -> list[dict[str, Any]]:
        """The message bodies posted, once `count` have been seen: request events reach
        Python only while Playwright pumps its loop, so a test must wait for them."""
        waited = 0.0
        while len(self.sent) < count and waited < timeout_s:
            self.page.wait_for_timeout(50)
            waited += 0.05
        return self.sent

    def record(self, request: Request) -> None:
        if request.method != "POST":
            return
        if request.url.endswith("/messages"):
            self.sent.append(request.post_data_json)
        elif request.url.endswith("/api/transcribe"):
            self.transcribed += 1

    def live(self, ws) -> None:  # type: ignore[no-untyped-def]
        """A live transcript (WebSocket /api/transcribe/live) that ended with its final
        text counts as a transcription; a cancelled one does not."""
        if ws.url.endswith("/api/transcribe/live"):
            ws.on("framereceived", self.live_frame)

    def live_frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and json.loads(payload).get("type") in ("final", "error"):
            self.transcribed += 1

    def hold_uploads(self) -> None:
        self.page.route(re.compile(r".*/api/attachments$"), self.hold)

    def hold(self, route: Route) -> None:
        self.held.append(route)

    def release(self) -> None:
        self.held.pop().continue_()


def with_audio_model(page: Page) -> None:
    """Make every model take audio, as a Gemma 3n/4 E-model does."""

    def add_audio(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        models = data.get("models", []) + ([data["model"]] if data.get("model") else [])
        for model in models:
            model["modalities"] = ["text", "image", "audio"]
        route.fulfill(response=response, json=data)

    page.route(re.compile(r".*/api/models$"), add_audio)
    page.route(re.compile(r".*/api/health$"), add_audio)


def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    page.get_by_test_id("attach-input").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )


def user_messages(page: Page):
    return page.locator('[data-testid="message"][data-role="user"]')


# --- tests -------------------------------------------------------------------------------


def test_attach_image_send_and_reload(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("What a colourful gradient!"))
    traffic = Traffic(page)
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    expect(page.get_by_test_id("attach-input")).to_have_attribute("accept", re.compile(r"\.docx"))

    attach(page, "gradient.png", "image/png", png_bytes())
    chip = page.get_by_test_id("attachment-chip")
    expect(chip).to_have_attribute("data-status", "ready")
    expect(chip).to_have_attribute("data-kind", "image")
    expect(chip.get_by_test_id("attachment-thumb")).to_be_visible()
    expect(chip).to_contain_text("gradient.png")
    # The replay model only reads text: say so on the chip.
    expect(chip.get_by_test_id("attachment-notice")).to_have_text(IMAGE_ONLY_NOTICE)

    box = page.get_by_test_id("composer-input")
    box.fill("What is in this picture?")
    box.press("Enter")
    expect(page.get_by_test_id("attachment-chip")).to_have_count(0)  # the chips went with it
    sent = user_messages(page).last
    image = sent.locator('[data-testid="message-attachment"][data-kind="image"] img')
    expect(image).to_be_visible()
    expect(sent.get_by_test_id("message-content")).to_have_text("What is in this picture?")
    assistant = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(assistant).to_contain_text("What a colourful gradient!")
    assert len(traffic.wait_sent(1)) == 1
    assert len(traffic.sent[0]["attachments"]) == 1
    assert traffic.sent[0]["content"] == "What is in this picture?"

    # Files only, no words: allowed, sent with the file names as its text.
    attach(page, "notes.txt", "text/plain", b"Remember the milk.\n")
    chip = page.get_by_test_id("attachment-chip")
    expect(chip).to_have_attribute("data-status", "ready")
    expect(chip.get_by_test_id("attachment-notice")).to_have_text("Text will be extracted")
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    page.get_by_test_id("send-button").click()
    expect(user_messages(page)).to_have_count(2)
    card = user_messages(page).last.locator(
        '[data-testid="message-attachment"][data-kind="document"]'
    )
    expect(card).to_contain_text("notes.txt")
    expect(user_messages(page).last.get_by_test_id("message-content")).to_be_hidden()
    assert traffic.wait_sent(2)[1]["content"] == "notes.txt"
    expect(page.locator('[data-testid="message"][data-role="assistant"]')).to_have_count(2)

    # They come from the conversation JSON, so they survive a reload.
    page.reload()
    expect(user_messages(page)).to_have_count(2)
    image = user_messages(page).first.locator(
        '[data-testid="message-attachment"][data-kind="image"] img'
    )
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-kind=image] img')?.naturalWidth === 320"
    )
    expect(user_messages(page).last.locator('[data-kind="document"]')).to_contain_text("notes.txt")

    # A click opens the picture full size; Esc closes it.
    image.click()
    lightbox = page.get_by_test_id("lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(r"/api/attachments/"))
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()


def test_unsupported_file_shows_the_server_reason(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("ok"))
    page.goto(server.open_url)
    attach(page, "setup.exe", "application/x-msdownload", b"MZ\x90\x00" * 64)
    chip = page.get_by_test_id("attachment-chip")
    expect(chip).to_have_attribute("data-status", "error")
    error = chip.get_by_test_id("attachment-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("setup.exe is not a supported type")  # the server's 415
    expect(page.get_by_test_id("send-button")).to_be_disabled()  # nothing to send
    chip.get_by_test_id("attachment-remove").click()
    expect(page.get_by_test_id("attachment-chip")).to_have_count(0)
    expect(page.get_by_test_id("attachment-tray")).to_be_hidden()


def test_send_waits_for_uploads(start_server, replay_file, page: Page) -> None:
    """The upload is held back (then passed to the server) to see the composer wait."""
    server = start_server(replay_file("Got it."))
    traffic = Traffic(page)
    traffic.hold_uploads()
    page.goto(server.open_url)
    page.get_by_test_id("composer-input").fill("Here is the report")
    report = media_factory.pdf(1, text=True)
    attach(page, "report.pdf", "application/pdf", report)
    chip = page.get_by_test_id("attachment-chip")
    expect(chip).to_have_attribute("data-status", "uploading")
    expect(chip).to_contain_text("Upload")
    send = page.get_by_test_id("send-button")
    expect(send).to_be_disabled()
    page.get_by_test_id("composer-input").press("Enter")
    expect(user_messages(page)).to_have_count(0)  # Enter waits too
    page.wait_for_timeout(100)
    assert traffic.held
    traffic.release()
    expect(chip).to_have_attribute("data-status", "ready")
    expect(send).to_be_enabled()
    send.click()
    expect(user_messages(page)).to_have_count(1)
    [sent] = traffic.wait_sent(1)
    assert sent["content"] == "Here is the report"
    [attachment_id] = sent["attachments"]
    stored = authed.get(f"{server.url}/api/attachments/{attachment_id}", timeout=10)
    assert stored.status_code == 200 and stored.content == report  # the server kept it


@pytest.mark.slow
def test_capability_notices_on_the_text_only_embedded_model(start_server, page: Page) -> None:
    server = start_server()  # the embedded model: text only
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_have_text("SmolLM2 135M")
    attach(page, "photo.png", "image/png", png_bytes(64, 48))
    image_chip = page.locator('[data-testid="attachment-chip"][data-kind="image"]')
    notice = image_chip.get_by_test_id("attachment-notice")
    expect(notice).to_have_text(IMAGE_ONLY_NOTICE)
    expect(notice).to_have_class(re.compile(r"\bwarn\b"))
    attach(page, "memo.wav", "audio/wav", tone_wav(0.5))
    audio_chip = page.locator('[data-testid="attachment-chip"][data-kind="audio"]')
    expect(audio_chip.get_by_test_id("attachment-notice")).to_have_text(AUDIO_NOTICE)
    expect(page.get_by_test_id("attachment-chip")).to_have_count(2)

    # Dropped on the thread (an overlay shows while dragging) and pasted into the box.
    page.evaluate(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(['a,b\\n1,2\\n'], 'table.csv', { type: 'text/csv' }));
          const main = document.querySelector('.main');
          main.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
          window.__overlay = !document.querySelector('[data-testid=drop-overlay]').hidden;
          const init = { dataTransfer: dt, bubbles: true, cancelable: true };
          main.dispatchEvent(new DragEvent('drop', init));
        }"""
    )
    assert page.evaluate("window.__overlay")
    expect(page.get_by_test_id("drop-overlay")).to_be_hidden()
    expect(page.locator('[data-testid="attachment-chip"][data-kind="document"]')).to_contain_text(
        "table.csv"
    )
    page.evaluate(
        """async (b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
          const box = document.querySelector('[data-testid=composer-input]');
          const init = { clipboardData: dt, bubbles: true, cancelable: true };
          box.dispatchEvent(new ClipboardEvent('paste', init));
        }""",
        base64.b64encode(png_bytes(40, 30)).decode(),
    )
    expect(page.locator('[data-testid="attachment-chip"][data-kind="image"]')).to_have_count(2)
    expect(page.get_by_test_id("attachment-chip").last).to_contain_text(
        re.compile(r"pasted-.*\.png")
    )
    expect(page.get_by_test_id("attachment-chip").last).to_have_attribute("data-status", "ready")


# --- voice -------------------------------------------------------------------------------


@pytest.fixture
def mic_page(browser: Browser, tmp_path: Path):
    """A page in a Chromium whose microphone plays a WAV file (speech, or a tone)."""
    wav = speech_wav(tmp_path / "speech.wav")
    mic_browser = launch_with_mic(browser, wav)
    context = mic_browser.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["microphone"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = watch_errors(page)
    yield page
    context.close()
    mic_browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def record(page: Page, seconds: float = 1.5) -> None:
    page.get_by_test_id("mic-button").click()
    bar = page.get_by_test_id("voice-bar")
    expect(bar).to_be_visible()
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")
    page.wait_for_timeout(int(seconds * 1000))
    expect(page.get_by_test_id("voice-time")).to_have_text(re.compile(r"0:0[1-9]"))
    page.get_by_test_id("voice-stop").click()


def test_voice_is_transcribed_for_a_text_model(start_server, replay_file, mic_page: Page) -> None:
    page = mic_page
    server = start_server(replay_file("ok"))
    traffic = Traffic(page)
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")

    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(page.locator("#shortcut-list")).to_contain_text("Voice input")
    page.keyboard.press("Escape")

    box = page.get_by_test_id("composer-input")
    record(page, 2.5)  # the request, then silence
    expect(page.get_by_test_id("voice-bar")).to_be_hidden(timeout=20_000)
    # The exact words of the request (live, or the upload where the link failed).
    expect(box).to_have_value(HEARD)
    assert traffic.transcribed == 1
    assert page.get_by_test_id("attachment-chip").count() == 0

    # While recording, the level meter moves (the fake microphone is not silent);
    # Esc cancels, and nothing is transcribed.
    page.get_by_test_id("mic-button").click()
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")
    page.wait_for_function(
        "() => Number(document.getElementById('voice-bar').dataset.level) > 0.01"
    )
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("voice-bar")).to_be_hidden()
    page.wait_for_timeout(300)
    assert traffic.transcribed == 1

    # Push-to-talk: hold Ctrl+Shift+Space, talk, let go.
    page.keyboard.down("Control")
    page.keyboard.down("Shift")
    page.keyboard.down("Space")
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")
    page.wait_for_timeout(1200)
    page.keyboard.up("Space")
    page.keyboard.up("Shift")
    page.keyboard.up("Control")
    expect(page.get_by_test_id("voice-bar")).to_be_hidden()
    assert traffic.transcribed == 2


def test_voice_becomes_an_attachment_for_an_audio_model(
    start_server, replay_file, mic_page: Page
) -> None:
    page = mic_page
    server = start_server(replay_file("I heard you."))
    with_audio_model(page)
    traffic = Traffic(page)
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    record(page)
    chip = page.get_by_test_id("attachment-chip")
    expect(chip).to_have_attribute("data-status", "ready")
    expect(chip).to_have_attribute("data-kind", re.compile(r"audio|video"))
    expect(chip).to_contain_text(re.compile(r"voice-\d{6}\.webm"))
    expect(chip.get_by_test_id("attachment-notice")).to_have_count(0)  # the model hears it
    assert traffic.transcribed == 0
    with page.expect_request(re.compile(r".*/messages$")) as posted:
        page.get_by_test_id("send-button").click()
    assert len(posted.value.post_data_json["attachments"]) == 1
    sent = user_messages(page).last
    expect(sent.locator('[data-testid="message-attachment"] audio')).to_have_count(1)
