"""Live dictation over the WebSocket `/api/transcribe/live`, against a real server: PCM sent
in real time gives partial text before the user lets go, then the final words exactly."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gemma_chat.media import transcribe as stt
from tests.media.test_transcribe import ESPEAK, SENTENCE, words

pytestmark = pytest.mark.slow  # the app preloads the built-in model

CHUNK_S = 0.1


@pytest.fixture(autouse=True)
def _bundled_model(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(stt.WHISPER_MODEL_ENV, raising=False)
    monkeypatch.delenv(stt.MAX_SECONDS_ENV, raising=False)
    stt.reset_engine()
    yield
    stt.reset_engine()


def pcm16k(text: str, tmp_path: Path) -> bytes:
    """espeak-ng's speech as 16 kHz mono s16le, what the browser's worklet sends."""
    if not ESPEAK.exists():
        pytest.skip("espeak-ng is not installed at /usr/bin/espeak-ng")
    wav = tmp_path / "speech.wav"
    subprocess.run(
        [str(ESPEAK), "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True, timeout=60
    )
    return stt.decode_pcm(wav)


def live(server, **kwargs) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + "/api/transcribe/live"
    return connect(url, open_timeout=10, **kwargs)


def receive_all(ws: ClientConnection, into: list[tuple[float, dict]]) -> None:
    try:
        for message in ws:
            into.append((time.monotonic(), json.loads(message)))
    except ConnectionClosed:
        pass


def stream(ws: ClientConnection, pcm: bytes, end: dict | None = None) -> list[tuple[float, dict]]:
    """Send `pcm` in 100 ms frames at real-time pace, then `end`; collect every answer."""
    received: list[tuple[float, dict]] = []
    reader = threading.Thread(target=receive_all, args=(ws, received))
    reader.start()
    step = int(stt.SAMPLE_RATE * CHUNK_S) * 2
    try:
        for offset in range(0, len(pcm), step):
            ws.send(pcm[offset : offset + step])
            time.sleep(CHUNK_S)
        received.append((time.monotonic(), {"type": "released"}))
        ws.send(json.dumps(end or {"type": "end"}))
    except ConnectionClosed:  # the server stopped it (too long, no model)
        pass
    reader.join(30)
    return received


def test_partials_before_release_then_the_exact_final(start_server, tmp_path: Path) -> None:
    server = start_server("embedded")
    speech = pcm16k(SENTENCE, tmp_path)
    pad = b"\0\0" * int(stt.SAMPLE_RATE * 1.5)  # the user holds a little longer
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, speech + pad)
    kinds = [m["type"] for _, m in received]
    assert "partial" in kinds[: kinds.index("released")], kinds
    finals = [m for _, m in received if m["type"] == "final"]
    assert len(finals) == 1 and kinds[-1] == "final", kinds
    assert words(finals[0]["text"]) == words(SENTENCE), finals[0]
    released_at = next(t for t, m in received if m["type"] == "released")
    assert received[-1][0] - released_at < 5.0  # generous: shared, busy CI cores


def test_silence_is_an_empty_final_and_noise_an_error(start_server) -> None:
    server = start_server("embedded")
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, b"\0\0" * stt.SAMPLE_RATE * 2)
    assert [m for _, m in received if m["type"] != "released"] == [{"type": "final", "text": ""}]
    noise = np.random.default_rng(3).standard_normal(stt.SAMPLE_RATE * 2) * 0.2
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, (np.clip(noise, -1, 1) * 32767).astype("<i2").tobytes())
    errors = [m for _, m in received if m["type"] == "error"]
    assert errors and "couldn't make out any words" in errors[0]["message"]
    assert not [m for _, m in received if m["type"] == "final"]


def test_over_long_recording_is_refused_with_the_limit(
    start_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stt.MAX_SECONDS_ENV, "1")
    server = start_server("embedded")
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, b"\0\0" * int(stt.SAMPLE_RATE * 1.5))
    errors = [m for _, m in received if m["type"] == "error"]
    assert errors and "limit (1 s)" in errors[0]["message"], received
    assert not [m for _, m in received if m["type"] == "final"]


def test_cancel_gives_no_final(start_server, tmp_path: Path) -> None:
    server = start_server("embedded")
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, pcm16k("build a calculator", tmp_path), {"type": "cancel"})
    assert not [m for _, m in received if m["type"] in ("final", "error")]


def test_missing_model_is_an_error_frame(start_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stt.WHISPER_MODEL_ENV, "/nonexistent/whisper-model")
    server = start_server("embedded")
    with live(server, additional_headers=server.headers) as ws:
        received = stream(ws, b"\0\0" * stt.SAMPLE_RATE)
    errors = [m for _, m in received if m["type"] == "error"]
    assert errors and "Speech to text is unavailable" in errors[0]["message"]
    with server.client() as api:  # the rest of the app works
        assert api.get("/api/conversations").status_code == 200


def test_wave_helper_is_16k(tmp_path: Path) -> None:
    pcm = pcm16k("build", tmp_path)
    with wave.open(str(tmp_path / "speech.wav")) as w:
        assert abs(len(pcm) / 32000 - w.getnframes() / w.getframerate()) < 0.05
