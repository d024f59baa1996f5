"""The Whisper models speech to text can use: the bundled tiny.en, and larger or
multilingual CTranslate2 conversions downloaded from the hub with the model downloader.

Sizes are model.bin as published (approx.: they only inform the user; downloads verify
against the hub itself). Speed notes are for a 5-second request on 2 CPU cores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from gemma_chat.errors import ModelUnavailable
from gemma_chat.media import transcribe
from gemma_chat.models.download import pull_files
from gemma_chat.models.installed import models_dir, repo_dir
from gemma_chat.models.progress import ProgressCallback

REQUIRED = ("config.json", "model.bin", "tokenizer.json")
OPTIONAL = ("vocabulary.txt", "vocabulary.json", "preprocessor_config.json")


@dataclass(frozen=True, slots=True)
class WhisperEntry:
    id: str
    repo: str | None  # None: bundled with the app (no download)
    size_bytes: int
    multilingual: bool
    speed: str

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "repo": self.repo,
            "size_bytes": self.size_bytes,
            "multilingual": self.multilingual,
            "speed": self.speed,
            "builtin": self.repo is None,
        }


CATALOGUE: tuple[WhisperEntry, ...] = (
    WhisperEntry("whisper-tiny.en", None, 75_000_000, False, "fastest: about 0.5 s"),
    WhisperEntry(
        "whisper-base.en", "Systran/faster-whisper-base.en", 145_000_000, False, "about 1 s"
    ),
    WhisperEntry("whisper-base", "Systran/faster-whisper-base", 145_000_000, True, "about 1 s"),
    WhisperEntry(
        "distil-whisper-small.en",
        "Systran/faster-distil-whisper-small.en",
        332_000_000,
        False,
        "about 1.5 s",
    ),
    WhisperEntry(
        "whisper-small.en", "Systran/faster-whisper-small.en", 484_000_000, False, "about 3 s"
    ),
    WhisperEntry("whisper-small", "Systran/faster-whisper-small", 484_000_000, True, "about 3 s"),
)


def find(model_id: str) -> WhisperEntry:
    for entry in CATALOGUE:
        if entry.id == model_id:
            return entry
    known = ", ".join(e.id for e in CATALOGUE)
    raise KeyError(f"No Whisper model {model_id!r}; choose one of: {known}")


def installed_dir(entry: WhisperEntry, data_dir: Path | None = None) -> Path | None:
    """The folder holding a complete copy of `entry`, or None (not downloaded)."""
    if entry.repo is None:
        return transcribe.bundled_model_dir()
    snapshots = repo_dir(models_dir(data_dir), entry.repo) / "snapshots"
    complete = [s for s in sorted(snapshots.glob("*")) if all((s / f).is_file() for f in REQUIRED)]
    return complete[-1] if complete else None


def pull(
    model_id: str,
    data_dir: Path | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
) -> Path:
    """Download a catalogue Whisper model (resumable, verified, with progress); its folder."""
    entry = find(model_id)
    if entry.repo is None:
        folder = transcribe.bundled_model_dir()
        if folder is None:
            raise ModelUnavailable(f"{entry.id} is bundled but not installed")
        return folder
    return pull_files(
        entry.id,
        entry.repo,
        REQUIRED,
        data_dir,
        optional=OPTIONAL,
        on_progress=on_progress,
        cancel=cancel,
        endpoint=endpoint,
    )


def use(model_id: str, data_dir: Path | None = None) -> Path:
    """Make speech to text use a downloaded model from the next request on."""
    entry = find(model_id)
    folder = installed_dir(entry, data_dir)
    if folder is None:
        raise ModelUnavailable(f"{entry.id} is not downloaded yet")
    transcribe.select_model(None if entry.repo is None else str(folder))
    return folder
