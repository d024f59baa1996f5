"""Speech to text models: list the Whisper catalogue, download one (the model downloader,
with the same progress stream as a chat model's pull), and choose the one dictation uses.

The choice is saved in preferences.json and applied at the next start (`restore_choice`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gemma_chat.config import save_speech_model, saved_speech_model
from gemma_chat.errors import ModelUnavailable
from gemma_chat.media import transcribe, whisper_models
from gemma_chat.models.progress import ProgressCallback
from gemma_chat.server.sse import event_stream
from gemma_chat.server.state import get_state
from gemma_chat.workbench import AppState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/speech", tags=["speech"])
State = Annotated[AppState, Depends(get_state)]
PULL_PREFIX = "speech:"  # pull jobs of Whisper models, apart from chat models' specs


class SpeechModel(BaseModel):
    id: str = Field(min_length=1, max_length=100)


def _entry(model_id: str) -> whisper_models.WhisperEntry:
    try:
        return whisper_models.find(model_id.strip())
    except KeyError as exc:
        raise HTTPException(422, str(exc.args[0])) from exc


def _name(model_id: str) -> str:
    """whisper-base.en → "Whisper base.en"; distil-whisper-small.en → "Distil-Whisper small.en"."""
    family, _, size = model_id.rpartition("-")
    return f"{family.title()} {size}"


def _active_source() -> str | None:
    try:
        return transcribe.model_source()
    except ModelUnavailable:
        return None


def describe(entry: whisper_models.WhisperEntry, data_dir: Path) -> dict[str, Any]:
    """One catalogue entry as the UI shows it (blocking: looks at the disk)."""
    folder = whisper_models.installed_dir(entry, data_dir)
    return {
        **entry.to_dict(),
        "name": _name(entry.id),
        "installed": folder is not None,
        "active": folder is not None and str(folder) == _active_source(),
    }


def _listing(data_dir: Path) -> list[dict[str, Any]]:
    return [describe(e, data_dir) for e in whisper_models.CATALOGUE]


@router.get("/models")
async def speech_models(state: State) -> dict[str, Any]:
    listed = await asyncio.to_thread(_listing, state.settings.data_dir)
    pulling = state.pulls.running()
    for model in listed:
        model["pull"] = pulling.get(PULL_PREFIX + model["id"])
    active = next((m["id"] for m in listed if m["active"]), None)
    return {"active": active, "models": listed}


@router.post(
    "/models/pull",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events"}},
)
async def pull_speech_model(body: SpeechModel, state: State) -> StreamingResponse:
    """Download a Whisper model: `progress` events, then `done` (with the model as listed),
    `cancelled` or `error`, like `POST /api/models/pull`; a second request joins it."""
    entry = _entry(body.id)
    data_dir = state.settings.data_dir

    def run(on_progress: ProgressCallback, cancel: threading.Event) -> dict[str, Any]:
        whisper_models.pull(entry.id, data_dir, on_progress=on_progress, cancel=cancel)
        return describe(entry, data_dir)

    job = state.pulls.start(PULL_PREFIX + entry.id, None, runner=run)
    return event_stream(job.events())


@router.post("/models/pull/cancel")
async def cancel_speech_pull(body: SpeechModel, state: State) -> dict[str, bool]:
    return {"cancelled": state.pulls.cancel(PULL_PREFIX + _entry(body.id).id)}


@router.post("/models/use")
async def use_speech_model(body: SpeechModel, state: State) -> dict[str, Any]:
    """Dictation and `POST /api/transcribe` use this model from the next request on, and
    from the next start (422: unknown, or not downloaded yet)."""
    entry = _entry(body.id)
    data_dir = state.settings.data_dir
    try:
        await asyncio.to_thread(whisper_models.use, entry.id, data_dir)
    except ModelUnavailable as exc:
        raise HTTPException(422, f"{exc}; download it first") from exc
    await asyncio.to_thread(save_speech_model, data_dir, entry.id)
    return await asyncio.to_thread(describe, entry, data_dir)


def restore_choice(data_dir: Path) -> None:
    """At start: use the Whisper model chosen last time, else the bundled one. A saved
    choice that is gone (deleted, unknown) falls back to the bundled model with a warning."""
    saved = saved_speech_model(data_dir)
    if saved is None:
        transcribe.select_model(None)
        return
    try:
        whisper_models.use(saved, data_dir)
    except (KeyError, ModelUnavailable) as exc:
        log.warning("speech to text: saved model %s unusable (%s); using tiny.en", saved, exc)
        transcribe.select_model(None)
