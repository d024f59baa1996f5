"""Live transcripts, voice mode and read-aloud, in real Chromium against the real server.

The microphone is Chromium's fake capture device playing an espeak-ng WAV (speech, then
silence, looped). The live transcript streams over `WebSocket /api/transcribe/live` to the
real server, and the words checked are what its Whisper heard.
Speech synthesis is observed by replacing `speechSynthesis.speak`/`cancel` with recorders.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.chromium import launch_with_mic, watch_errors

REQUEST = "build a calculator"
HEARD = "Build a calculator."  # what Whisper tiny.en makes of espeak-ng saying REQUEST

# speak() and cancel() recorded instead of run: headless Chromium has no voices, and a
# reading that never ends keeps the read-aloud button's state still for the test.
SPEECH_SPY = """
window.__spoken = [];
window.__cancels = 0;
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (u) => { window.__spoken.push(u.text); };
  window.speechSynthesis.cancel = () => { window.__cancels += 1; };
}
"""


def speech_then_silence(path: Path, text: str, silence_s: float) -> Path:
    """espeak-ng saying `text`, then `silence_s` of silence (the fake device loops it)."""
    espeak = shutil.which("espeak-ng")
    if not espeak:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    spoken = path.with_suffix(".speech.wav")
    subprocess.run([espeak, "-w", str(spoken), text], check=True, capture_output=True)
    with wave.open(str(spoken), "rb") as src:
        params = src.getparams()
        frames = src.readframes(src.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(frames + b"\0" * int(params.framerate * silence_s) * params.sampwidth)
    return path


@pytest.fixture
def mic_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A page whose microphone says REQUEST, then is silent for 5 s, over and over."""
    wav = speech_then_silence(tmp_path / "request.wav", REQUEST, 5.0)
    mic_browser = launch_with_mic(browser, wav)
    context = mic_browser.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["microphone"])
    context.add_init_script(SPEECH_SPY)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = watch_errors(page)
    yield page
    context.close()
    mic_browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def spoken(page: Page) -> list[Any]:
    return page.evaluate("() => window.__spoken")


def test_live_transcript_shows_partial_text_then_the_exact_words(
    start_server, replay_file, mic_page: Page
) -> None:
    page = mic_page
    server = start_server(replay_file("ok"))
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.url.endswith("/api/transcribe") else 0)
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    box = page.get_by_test_id("composer-input")

    page.get_by_test_id("mic-button").click()
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")
    # Before release: provisional words in the composer, shown muted.
    expect(box).to_have_attribute("data-provisional", "true", timeout=10_000)
    expect(box).to_have_value(re.compile(r"\w"))
    expect(box).to_have_class(re.compile(r"\bprovisional\b"))
    assert page.get_by_test_id("voice-bar").is_visible()  # still recording
    # Release in the silence after the request (the meter reads zero), before it repeats.
    page.wait_for_function("() => document.getElementById('voice-bar').dataset.level === '0.00'")
    page.get_by_test_id("voice-stop").click()

    # On release the final text replaces the partial one: exactly the words said.
    expect(page.get_by_test_id("voice-bar")).to_be_hidden(timeout=20_000)
    expect(box).to_have_value(HEARD)
    expect(box).not_to_have_attribute("data-provisional", "true")
    expect(box).not_to_have_class(re.compile(r"\bprovisional\b"))
    assert posted == []  # the live transcript was used, not a second upload


def test_cancel_drops_the_partial_text(start_server, replay_file, mic_page: Page) -> None:
    page = mic_page
    server = start_server(replay_file("ok"))
    page.goto(server.open_url)
    box = page.get_by_test_id("composer-input")
    box.fill("Please")
    page.get_by_test_id("mic-button").click()
    expect(box).to_have_attribute("data-provisional", "true", timeout=10_000)
    expect(box).to_have_value(re.compile(r"^Please \w"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("voice-bar")).to_be_hidden()
    expect(box).to_have_value("Please")
    expect(box).not_to_have_attribute("data-provisional", "true")


def test_voice_mode_sends_after_a_pause_and_reads_the_reply(
    start_server, replay_file, mic_page: Page
) -> None:
    page = mic_page
    reply = "Here is a **calculator** for you.\n\n```js\nconst sum = 1 + 2;\n```\n\nEnjoy it."
    server = start_server(replay_file(reply))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")

    toggle = page.get_by_test_id("voice-mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Control+Shift+H")  # the shortcut turns it on
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")

    # Nobody presses anything: the pause after the request sends it.
    with page.expect_request(re.compile(r".*/messages$"), timeout=30_000) as sent:
        pass
    assert sent.value.post_data_json["content"] == HEARD
    user = page.locator('[data-testid="message"][data-role="user"]').last
    expect(user).to_contain_text(HEARD)

    # The reply is read aloud: its words, not its markdown or code.
    page.wait_for_function("() => window.__spoken.length > 0")
    assert spoken(page)[0] == "Here is a calculator for you. Enjoy it."

    # Listening goes on; talking again stops the reading.
    cancels = page.evaluate("() => window.__cancels")
    expect(page.get_by_test_id("voice-status")).to_have_text("Recording")
    page.wait_for_function(f"() => window.__cancels > {cancels}", timeout=15_000)

    toggle.click()  # off: the microphone stops
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("voice-bar")).to_be_hidden()


def test_read_aloud_button_speaks_the_reply_and_stops(
    start_server, replay_file, page: Page
) -> None:
    page.add_init_script(SPEECH_SPY)
    reply = "## Steps\n\n1. Open the **file**.\n2. Run `make`.\n\n```sh\nmake all\n```"
    server = start_server(replay_file(reply))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    page.get_by_test_id("composer-input").fill("How do I build it?")
    page.get_by_test_id("send-button").click()
    answer = page.locator('[data-testid="message"][data-role="assistant"]').last
    button = answer.get_by_test_id("read-aloud")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_accessible_name("Stop reading")
    assert spoken(page) == ["Steps Open the file. Run make."]
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("() => window.__cancels") >= 1
    assert spoken(page) == ["Steps Open the file. Run make."]  # stopping speaks nothing


def test_voice_mode_sends_the_recording_itself_to_a_model_that_hears(
    start_server, replay_file, mic_page: Page
) -> None:
    from tests.browser.test_attachments_ui import with_audio_model

    page = mic_page
    server = start_server(replay_file("I heard a calculator request."))
    with_audio_model(page)
    live: list[str] = []
    page.on("websocket", lambda ws: live.append(ws.url))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    page.get_by_test_id("voice-mode").click()
    with page.expect_request(re.compile(r".*/messages$"), timeout=30_000) as sent:
        pass
    assert len(sent.value.post_data_json["attachments"]) == 1
    page.wait_for_function("() => window.__spoken.length > 0")
    assert spoken(page)[0] == "I heard a calculator request."
    assert live == []  # no transcript: the model hears the audio
    page.keyboard.press("Escape")  # Esc ends voice mode
    expect(page.get_by_test_id("voice-mode")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("voice-bar")).to_be_hidden()
