"""The speech-model API on a real server: list the Whisper catalogue, pull one from a
loopback fake hub with progress events, use it for `POST /api/transcribe`, and find it
chosen again after a restart on the same data dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gemma_chat.config import saved_speech_model
from gemma_chat.media import transcribe as stt
from gemma_chat.media import whisper_models
from gemma_chat.models import download
from tests import authed
from tests.media.test_transcribe import ESPEAK, SENTENCE, speak, words
from tests.models.fake_hf import FakeHub
from tests.sse_client import iter_sse

pytestmark = pytest.mark.slow  # the app preloads the built-in model

BASE = whisper_models.find("whisper-base.en")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", stt.WHISPER_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    stt.select_model(None)
    yield
    stt.select_model(None)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A hub serving a copy of the bundled model's files as Systran/faster-whisper-base.en."""
    bundled = stt.bundled_model_dir()
    assert bundled is not None
    files = {p.name: p.read_bytes() for p in bundled.iterdir() if p.is_file()}
    with FakeHub() as fake:
        assert BASE.repo is not None
        fake.add_repo(BASE.repo, files)
        fake.throttle_bps = 40_000_000  # ~2 s for model.bin: several progress events
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def listing(url: str) -> dict[str, Any]:
    response = authed.get(f"{url}/api/speech/models")
    assert response.status_code == 200, response.text
    return response.json()


def by_id(url: str) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in listing(url)["models"]}


def pull(url: str, model_id: str) -> list[tuple[str, dict[str, Any]]]:
    with authed.stream(
        "POST", f"{url}/api/speech/models/pull", json={"id": model_id}, timeout=120
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(iter_sse(response))


def test_list_pull_use_and_remembered_across_a_restart(
    start_server, hub: FakeHub, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    url = server.url

    # The catalogue, with only the bundled tiny.en installed and active.
    data = listing(url)
    assert data["active"] == "whisper-tiny.en"
    models = {m["id"]: m for m in data["models"]}
    assert list(models) == [e.id for e in whisper_models.CATALOGUE]
    tiny, base = models["whisper-tiny.en"], models["whisper-base.en"]
    assert tiny["installed"] and tiny["active"] and tiny["builtin"]
    assert not base["installed"] and not base["active"] and base["pull"] is None
    assert base["name"] == "Whisper base.en" and base["size_bytes"] > 100_000_000
    assert base["speed"] and base["multilingual"] is False
    assert models["whisper-small"]["multilingual"] is True
    assert models["distil-whisper-small.en"]["name"] == "Distil-Whisper small.en"

    # Not downloaded yet: it cannot be used.
    refused = authed.post(f"{url}/api/speech/models/use", json={"id": "whisper-base.en"})
    assert refused.status_code == 422 and "not downloaded" in refused.json()["detail"]

    # Pull: progress events that grow, then done with the model installed.
    events = pull(url, "whisper-base.en")
    names = [n for n, _ in events]
    assert names[-1] == "done", events[-3:]
    progress = [d for n, d in events if n == "progress"]
    downloaded = [d["downloaded"] for d in progress if "downloaded" in d]
    assert len(progress) >= 3 and downloaded == sorted(downloaded) and downloaded[-1] > 0
    done = events[-1][1]["model"]
    assert done["id"] == "whisper-base.en" and done["installed"] and not done["active"]
    assert by_id(url)["whisper-base.en"]["installed"]

    # Use it: the next /api/transcribe runs on the downloaded folder.
    folder = whisper_models.installed_dir(BASE, data_dir)
    assert folder is not None
    used = authed.post(f"{url}/api/speech/models/use", json={"id": "whisper-base.en"})
    assert used.status_code == 200, used.text
    assert used.json()["active"] is True
    assert listing(url)["active"] == "whisper-base.en"
    assert not by_id(url)["whisper-tiny.en"]["active"]
    assert saved_speech_model(data_dir) == "whisper-base.en"
    if ESPEAK.exists():
        wav = speak(SENTENCE, tmp_path / "s.wav")
        response = authed.post(
            f"{url}/api/transcribe",
            files={"file": ("s.wav", wav.read_bytes(), "audio/wav")},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert words(response.json()["text"]) == words(SENTENCE)
        assert stt.engine().source == str(folder)  # the model that answered

    # A restart on the same data dir uses it again.
    server.stop()
    stt.select_model(None)
    second = start_server(data_dir=data_dir)
    assert listing(second.url)["active"] == "whisper-base.en"
    assert stt.model_source() == str(folder)
    second.stop()

    # A saved choice whose files are gone falls back to the bundled model.
    shutil.rmtree(folder)
    third = start_server(data_dir=data_dir)
    assert listing(third.url)["active"] == "whisper-tiny.en"
    assert not by_id(third.url)["whisper-base.en"]["installed"]


def test_unknown_models_and_bad_bodies_are_422(start_server) -> None:
    url = start_server().url
    for path in ("use", "pull", "pull/cancel"):
        response = authed.post(f"{url}/api/speech/models/{path}", json={"id": "whisper-huge"})
        assert response.status_code == 422, (path, response.text)
        assert "choose one of" in response.json()["detail"]
        assert authed.post(f"{url}/api/speech/models/{path}", json={}).status_code == 422
    # The bundled model needs no download: its pull ends at once, and it can be used.
    events = pull(url, "whisper-tiny.en")
    assert events[-1][0] == "done" and events[-1][1]["model"]["installed"]
    used = authed.post(f"{url}/api/speech/models/use", json={"id": "whisper-tiny.en"})
    assert used.status_code == 200 and used.json()["active"] is True


def test_speech_routes_need_the_token(start_server) -> None:
    import httpx

    url = start_server().url
    assert httpx.get(f"{url}/api/speech/models").status_code == 401
    use = httpx.post(f"{url}/api/speech/models/use", json={"id": "whisper-tiny.en"})
    assert use.status_code == 401
