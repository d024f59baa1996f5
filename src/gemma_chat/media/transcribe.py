"""Local speech to text, for models without audio input.

`transcribe()` decodes any audio PyAV reads (wav, mp3, ogg, webm/opus from a browser's
MediaRecorder, m4a, the audio track of a video) to 16 kHz mono 16-bit PCM and runs one
of two engines, chosen once per process:

* faster-whisper, when the package is importable and `GEMMA_CHAT_WHISPER_MODEL` names a
  local model directory or a size already in the Hugging Face cache (never downloaded
  here: a request must not start a multi-hundred-MB download);
* pocketsphinx otherwise, with the US English model its PyPI package ships.

The work is blocking (CPU bound): async callers run it with `asyncio.to_thread`. The engine
is loaded once and shared; a lock serialises its use.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import av

from gemma_chat.media import limits

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
_BYTES_PER_SECOND = SAMPLE_RATE * 2  # mono, s16
DEFAULT_MAX_SECONDS = 600.0
DECODE_BUDGET_S = 120.0  # wall clock for decoding one file
MAX_SECONDS_ENV = "GEMMA_CHAT_MAX_TRANSCRIBE_S"
WHISPER_MODEL_ENV = "GEMMA_CHAT_WHISPER_MODEL"

Engine = Literal["faster-whisper", "pocketsphinx"]


class TranscriptionError(Exception):
    """Audio that cannot be transcribed; `status` is the HTTP answer that fits (422)."""

    status = 422


class NotAudio(TranscriptionError):
    """A readable file with no audio track (an image, a silent video): 415."""

    status = 415


class AudioTooLong(TranscriptionError):
    """Audio longer than the limit (`GEMMA_CHAT_MAX_TRANSCRIBE_S`, default 10 min): 413."""

    status = 413


@dataclass(frozen=True)
class Transcript:
    text: str
    engine: Engine
    duration_s: float

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "engine": self.engine, "duration_s": self.duration_s}


def max_seconds() -> float:
    raw = os.environ.get(MAX_SECONDS_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_SECONDS
    except ValueError:
        value = DEFAULT_MAX_SECONDS
    return value if value > 0 else DEFAULT_MAX_SECONDS


# --- decoding -------------------------------------------------------------------------


def decode_pcm(
    source: str | os.PathLike[str] | bytes,
    limit_s: float | None = None,
    budget_s: float = DECODE_BUDGET_S,
) -> bytes:
    """The first audio track of `source` (a path or the file's bytes) as 16 kHz mono s16le.

    Raises `TranscriptionError` for data PyAV cannot read or that takes over `budget_s`
    to decode, `NotAudio` when there is no audio track and `AudioTooLong` when the
    container says it is longer than `limit_s`, or as soon as the decoded audio passes it.
    """
    limit_s = max_seconds() if limit_s is None else limit_s
    limit_bytes = int(limit_s * _BYTES_PER_SECOND)
    if isinstance(source, bytes | bytearray | memoryview):
        if not source:
            raise TranscriptionError("The audio file is empty")
        target: str | io.BytesIO = io.BytesIO(bytes(source))
    else:
        target = os.fspath(source)
        if not Path(target).is_file():
            raise TranscriptionError(f"No such audio file: {target}")
    pcm = bytearray()
    deadline = limits.Deadline(budget_s)
    try:
        with av.open(target, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise NotAudio("The file has no audio track")
            stream = container.streams.audio[0]
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > limit_s:
                # The container says so: refused before a single frame is decoded.
                raise AudioTooLong(
                    f"The audio is {declared / 60:.1f} minutes long; the limit is "
                    f"{limit_s / 60:g} minutes"
                )
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
                if len(pcm) > limit_bytes:
                    raise AudioTooLong(
                        f"The audio is longer than the {limit_s / 60:g}-minute limit"
                    )
                if deadline.expired:
                    raise TranscriptionError(
                        f"Decoding the audio took over {deadline.seconds:g} s; it was stopped"
                    )
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    except TranscriptionError:
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        # Garbage, a truncated file, an unknown container: PyAV says why.
        raise TranscriptionError(f"Could not decode the audio: {exc}") from exc
    if len(pcm) > limit_bytes:
        raise AudioTooLong(f"The audio is longer than the {limit_s / 60:g}-minute limit")
    return bytes(pcm)


def _declared_seconds(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


# --- engines --------------------------------------------------------------------------


class _Recogniser(Protocol):
    name: Engine

    def recognise(self, pcm: bytes) -> str: ...


class _PocketSphinx:
    name: Engine = "pocketsphinx"

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(loglevel="FATAL", samprate=SAMPLE_RATE)
        self._lock = threading.Lock()

    def recognise(self, pcm: bytes) -> str:
        from pocketsphinx import Segmenter

        # Voice-activity segmentation: one short utterance per stretch of speech keeps
        # long recordings fast and bounded, and silence gives no words at all.
        words: list[str] = []
        with self._lock:
            for segment in Segmenter(sample_rate=SAMPLE_RATE).segment(io.BytesIO(pcm)):
                self._decoder.start_utt()
                self._decoder.process_raw(segment.pcm, full_utt=True)
                self._decoder.end_utt()
                hyp = self._decoder.hyp()
                if hyp is not None and hyp.hypstr.strip():
                    words.append(hyp.hypstr.strip())
        return " ".join(words)


class _FasterWhisper:
    name: Engine = "faster-whisper"

    def __init__(self, model: str) -> None:
        from faster_whisper import WhisperModel  # type: ignore[import-not-found]

        self._model = WhisperModel(model, device="auto", local_files_only=True)
        self._lock = threading.Lock()

    def recognise(self, pcm: bytes) -> str:
        import numpy as np

        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        with self._lock:
            segments, _info = self._model.transcribe(audio, vad_filter=True)
            return " ".join(s.text.strip() for s in segments if s.text.strip())


_engine: _Recogniser | None = None
_engine_lock = threading.Lock()


def _load_engine() -> _Recogniser:
    model = os.environ.get(WHISPER_MODEL_ENV, "").strip()
    if model:
        try:
            engine: _Recogniser = _FasterWhisper(model)
            log.info("speech to text: faster-whisper, model %s", model)
            return engine
        except ImportError:
            log.warning("%s is set but faster-whisper is not installed", WHISPER_MODEL_ENV)
        except Exception as exc:  # not in the cache, a broken directory, no backend
            log.warning("faster-whisper model %r not usable locally (%s)", model, exc)
    log.info("speech to text: pocketsphinx (English)")
    return _PocketSphinx()


def engine() -> _Recogniser:
    """The engine this process uses, loaded on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _load_engine()
        return _engine


def reset_engine() -> None:
    """Forget the loaded engine (tests; a changed `GEMMA_CHAT_WHISPER_MODEL`)."""
    global _engine
    with _engine_lock:
        _engine = None


def transcribe(
    source: str | os.PathLike[str] | bytes, *, limit_s: float | None = None
) -> Transcript:
    """Speech to text for an audio file (path or bytes). Blocking; see the module doc."""
    limit = max_seconds() if limit_s is None else limit_s
    with limits.prep_gate.hold(int(limit * _BYTES_PER_SECOND) * 2):
        pcm = decode_pcm(source, limit)
    duration = round(len(pcm) / _BYTES_PER_SECOND, 3)
    recogniser = engine()
    started = time.perf_counter()
    text = recogniser.recognise(pcm) if pcm else ""
    log.debug(
        "transcribed %.1f s of audio in %.2f s (%s)",
        duration,
        time.perf_counter() - started,
        recogniser.name,
    )
    return Transcript(text=text, engine=recogniser.name, duration_s=duration)
