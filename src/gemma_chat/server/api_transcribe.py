"""`POST /api/transcribe`: local speech to text for models without audio input."""

from __future__ import annotations

import asyncio
import tempfile
from typing import IO, Any

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


async def _spool_limited(file: UploadFile, target: IO[bytes], limit: int) -> int:
    """Copy the upload to a file on disk (not memory: a 100 MB upload read into bytes,
    then wrapped for the decoder, held 200 MB per request)."""
    size = 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                413, f"The file is larger than the {limit / (1024 * 1024):g} MB upload limit"
            )
        target.write(chunk)
    target.flush()
    return size


@router.post("/transcribe")
async def transcribe_audio(file: UploadFile) -> dict[str, Any]:
    if not _may_be_audio(file.content_type):
        raise HTTPException(415, f"Not an audio file ({file.content_type})")
    with tempfile.NamedTemporaryFile(prefix="gemma-transcribe-", suffix=".audio") as spool:
        if not await _spool_limited(file, spool, max_upload_bytes()):
            raise HTTPException(422, "The audio file is empty")
        try:
            transcript = await asyncio.to_thread(transcribe, spool.name)
        except TranscriptionError as exc:
            raise HTTPException(exc.status, str(exc)) from exc
    return transcript.to_dict()
