"""`POST /api/transcribe`: local speech to text for models without audio input."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile

from gemma_chat.media.attachments import max_upload_bytes
from gemma_chat.media.transcribe import TranscriptionError, transcribe

router = APIRouter(prefix="/api", tags=["transcribe"])

_CHUNK = 1024 * 1024
# Declared types that may hold audio. Anything else declared (text/plain, image/png,
# application/pdf…) is refused with 415 before decoding; browsers send audio/webm or
# video/webm from MediaRecorder, and some clients send no useful type at all.
_AUDIO_TYPES = ("audio/", "video/")
_UNTYPED = {"", "application/octet-stream", "binary/octet-stream"}
_AUDIO_CONTAINERS = {"application/ogg", "application/x-ogg"}


def _may_be_audio(content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind in _UNTYPED or kind in _AUDIO_CONTAINERS or kind.startswith(_AUDIO_TYPES)


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await file.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise HTTPException(
                413, f"The file is larger than the {limit / (1024 * 1024):g} MB upload limit"
            )
    return bytes(data)


@router.post("/transcribe")
async def transcribe_audio(file: UploadFile) -> dict[str, Any]:
    if not _may_be_audio(file.content_type):
        raise HTTPException(415, f"Not an audio file ({file.content_type})")
    data = await _read_limited(file, max_upload_bytes())
    if not data:
        raise HTTPException(422, "The audio file is empty")
    try:
        transcript = await asyncio.to_thread(transcribe, data)
    except TranscriptionError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    return transcript.to_dict()
