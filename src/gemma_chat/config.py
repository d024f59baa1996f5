"""Where things live and what the defaults are."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from gemma_chat.util.atomic import atomic_write_text

APP_NAME = "gemma-chat"
HOME_ENV = "GEMMA_CHAT_HOME"
MODEL_ENV = "GEMMA_CHAT_MODEL"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8642
DEFAULT_MODEL = "embedded"
MAX_ROUNDS_ENV = "GEMMA_CHAT_MAX_ROUNDS"
DEFAULT_MAX_ROUNDS = 40
MAX_JSON_ENV = "GEMMA_CHAT_MAX_JSON_MB"
DEFAULT_MAX_JSON_MB = 4.0  # a 500,000-character message, JSON-escaped, fits


def env_mb(name: str, default: float) -> float:
    """A size in MB from the environment (it may be fractional); `default` when the
    variable is unset or not a number. Callers decide what zero or less means."""
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def _env_mb(name: str, default: float) -> float:
    value = env_mb(name, default)
    return value if value > 0 else default


def default_data_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


@dataclass(slots=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    model: str = field(default_factory=lambda: os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_rounds: int = field(
        default_factory=lambda: int(os.environ.get(MAX_ROUNDS_ENV) or DEFAULT_MAX_ROUNDS)
    )  # Build-mode model rounds per user message
    preload: bool = True  # load the default model at start-up so the first reply is quick
    # Largest JSON (non-upload) request body, in MB: refused with 413 while it streams.
    max_json_mb: float = field(default_factory=lambda: _env_mb(MAX_JSON_ENV, DEFAULT_MAX_JSON_MB))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gemma-chat.db"

    @property
    def server_file(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def max_json_bytes(self) -> int:
        return max(1000, int(self.max_json_mb * 1_000_000))  # decimal MB, as format_bytes shows


PREFERENCES_FILE = "preferences.json"


def saved_model(data_dir: Path) -> str | None:
    """The model last picked in the UI, which the next start uses unless told otherwise."""
    try:
        data = json.loads((data_dir / PREFERENCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, str) and model.strip() else None


def save_model(data_dir: Path, spec: str) -> None:
    data = _preferences(data_dir)
    data["model"] = spec
    _save_preferences(data_dir, data)


def saved_speech_model(data_dir: Path) -> str | None:
    """The Whisper model last chosen in the UI (an id of media/whisper_models.py)."""
    model = _preferences(data_dir).get("speech_model")
    return model if isinstance(model, str) and model.strip() else None


def save_speech_model(data_dir: Path, model_id: str) -> None:
    data = _preferences(data_dir)
    data["speech_model"] = model_id
    _save_preferences(data_dir, data)


def confirmed_hosts(data_dir: Path) -> set[str]:
    """Model servers on other machines the user agreed to send messages to (origins)."""
    hosts = _preferences(data_dir).get("confirmed_hosts")
    return {h for h in hosts if isinstance(h, str)} if isinstance(hosts, list) else set()


def save_confirmed_host(data_dir: Path, origin: str) -> None:
    data = _preferences(data_dir)
    data["confirmed_hosts"] = sorted(confirmed_hosts(data_dir) | {origin})
    _save_preferences(data_dir, data)


def _preferences(data_dir: Path) -> dict:
    try:
        data = json.loads((data_dir / PREFERENCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_preferences(data_dir: Path, data: dict) -> None:
    path = data_dir / PREFERENCES_FILE
    atomic_write_text(path, json.dumps(data, indent=2))  # a crash never leaves half a file
