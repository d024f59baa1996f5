"""Local speech to text: `POST /api/transcribe` for a recording, and the WebSocket
`/api/transcribe/live` for dictation, with partial text while the user speaks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from typing import IO, Any

from fastapi import APIRouter, HTTPException, UploadFile, WebSocket, WebSocketDisconnect

from gemma_chat.errors import TranscriptionError
from gemma_chat.media.attachments import max_upload_bytes
from gemma_chat.media.transcribe import (
    SAMPLE_RATE,
    SILENCE_RMS,
    engine,
    max_seconds,
    recognise,
    transcribe,
)
from gemma_chat.util.units import format_bytes

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
                413, f"The file is larger than the {format_bytes(limit)} upload limit"
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


# --- live dictation -------------------------------------------------------------------

PARTIAL_EVERY_S = 0.8  # a partial about every second (plus the time to transcribe)
MIN_PARTIAL_S = 0.5  # less audio than this gives nothing worth showing
PAUSE_S = 0.4  # this much quiet after speech: the speaker has (probably) finished
_BYTES_PER_S = SAMPLE_RATE * 2


def _is_voice(chunk: bytes) -> bool:
    """Louder than the engine's silence floor (the same test it uses for "no words")."""
    import numpy as np

    samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype=np.int16)
    if samples.size == 0:
        return False
    level = float(np.sqrt(np.mean((samples.astype(np.float32) / 32768.0) ** 2)))
    return level >= SILENCE_RMS


class _LiveSession:
    """One dictation: the growing recording, a partial in flight at most, one final.

    Partials are quick (greedy). When the speaker pauses, the next round decodes at final
    quality instead and keeps the result as `settled`: a release during that pause (the
    usual case: people stop talking, then let go) answers with it at once rather than
    decoding the whole recording again after the release.
    """

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.pcm = bytearray()
        self.limit_s = max_seconds()
        self.partial: asyncio.Task[None] | None = None
        self.next_partial_at: float | None = None
        self.voice_end = 0  # bytes of the recording up to the end of the last loud chunk
        self.settled: tuple[int, str] | None = None  # (voice_end it covers, final text)
        self.finished = False
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, str]) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message))

    async def fail(self, message: str, code: int = 1000) -> None:
        self.finished = True
        await self.send({"type": "error", "message": message})
        await self.ws.close(code)

    async def audio(self, chunk: bytes) -> bool:
        """Add PCM; start a partial when one is due and none is running. False: stop."""
        loop = asyncio.get_running_loop()
        self.pcm += chunk
        if _is_voice(chunk):
            self.voice_end = len(self.pcm)
        if len(self.pcm) > self.limit_s * SAMPLE_RATE * 2:
            await self.fail(
                f"The recording is longer than the {self.limit_s / 60:g}-minute limit "
                f"({self.limit_s:g} s); it was stopped",
                1009,
            )
            return False
        if self.next_partial_at is None:
            self.next_partial_at = loop.time()  # the first once MIN_PARTIAL_S has arrived
        running = self.partial is not None and not self.partial.done()
        if (
            not running  # skip a round while the previous one still runs
            and loop.time() >= self.next_partial_at
            and len(self.pcm) >= MIN_PARTIAL_S * _BYTES_PER_S
        ):
            paused = self.voice_end > 0 and len(self.pcm) - self.voice_end >= PAUSE_S * _BYTES_PER_S
            settle = paused and (self.settled is None or self.settled[0] != self.voice_end)
            if settle or not paused or self.settled is None:
                self.next_partial_at = loop.time() + PARTIAL_EVERY_S
                self.partial = asyncio.create_task(
                    self._partial(self._snapshot(), settle=settle, voice_end=self.voice_end)
                )
        return True

    def _snapshot(self) -> bytes:
        return bytes(self.pcm[: len(self.pcm) // 2 * 2])

    async def _partial(self, pcm: bytes, settle: bool = False, voice_end: int = 0) -> None:
        try:
            result = await asyncio.to_thread(recognise, pcm, quick=not settle)
        except TranscriptionError as exc:
            if exc.status == 503 and not self.finished:  # no model: say so once, stop
                await self.fail(str(exc))
            return  # noise so far: the final answers for the whole recording
        if settle:
            self.settled = (voice_end, result.text)
        if result.text and not self.finished:
            await self.send({"type": "partial", "text": result.text})

    async def end(self) -> None:
        """The user let go: the final text for the whole recording, then close."""
        if self.partial is not None and not self.partial.done():
            await asyncio.wait([self.partial])  # its thread holds the model; let it finish
        if self.finished:
            return
        if self.settled is not None and self.settled[0] == self.voice_end and self.settled[1]:
            text = self.settled[1]  # nothing was said since the pause it decoded
        else:
            try:
                text = (await asyncio.to_thread(recognise, self._snapshot())).text
            except TranscriptionError as exc:
                await self.fail(str(exc))
                return
        self.finished = True
        await self.send({"type": "final", "text": text})
        await self.ws.close(1000)

    async def cancel(self) -> None:
        self.finished = True
        if self.partial is not None:
            self.partial.cancel()


@router.websocket("/transcribe/live")
async def transcribe_live(ws: WebSocket) -> None:
    """Binary frames of 16 kHz mono s16le PCM, then `{"type": "end"}` (or `"cancel"`).

    Answers `partial` frames while audio arrives and one `final` (or `error`) after `end`.
    The token gate and the Origin check (server/guards.py) ran before this handshake.
    """
    await ws.accept()
    session = _LiveSession(ws)
    # Load the model while the user starts speaking, not when the first partial is due.
    warm_up = asyncio.create_task(asyncio.to_thread(_warm_up))
    try:
        while not session.finished:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                await session.cancel()
                return
            if message.get("bytes") is not None:
                if not await session.audio(message["bytes"]):
                    return
                continue
            kind = _control(message.get("text"))
            if kind == "end":
                await session.end()
            elif kind == "cancel":
                await session.cancel()
                await ws.close(1000)
            else:
                await session.fail(
                    'Expected binary PCM frames, then {"type": "end"} or {"type": "cancel"}',
                    1003,
                )
    except WebSocketDisconnect:
        await session.cancel()
    finally:
        await asyncio.wait([warm_up])


def _warm_up() -> None:
    with contextlib.suppress(TranscriptionError):  # the first partial or final reports it
        engine()


def _control(text: str | None) -> str | None:
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    return value.get("type") if isinstance(value, dict) else None
