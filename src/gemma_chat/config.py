"""Where things live and what the defaults are."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "gemma-chat"
HOME_ENV = "GEMMA_CHAT_HOME"
MODEL_ENV = "GEMMA_CHAT_MODEL"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8642
DEFAULT_MODEL = "embedded"
MAX_ROUNDS_ENV = "GEMMA_CHAT_MAX_ROUNDS"
DEFAULT_MAX_ROUNDS = 40


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

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gemma-chat.db"

    @property
    def server_file(self) -> Path:
        return self.data_dir / "server.json"
