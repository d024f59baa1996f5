"""Logging for the command line: one `--log-level` for every command, set up once.

The user sees short messages on the console; the log (stderr) carries the tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

LOG_LEVEL_ENV = "GEMMA_CHAT_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "warning"
# Libraries that log every socket read at DEBUG: they drown ours, so they stay at INFO.
_CHATTY = ("httpcore", "hpack", "multipart", "PIL", "markdown_it", "asyncio")
_HANDLER_NAME = "gemma-chat"


def default_level() -> str:
    """$GEMMA_CHAT_LOG_LEVEL when it names a level, else warning."""
    value = os.environ.get(LOG_LEVEL_ENV, "").strip().lower()
    return value if value in LEVELS else DEFAULT_LEVEL


def add_log_level(parser: argparse.ArgumentParser) -> None:
    """`--log-level` on the main parser and on every sub-command, at any depth.

    Sub-commands default to SUPPRESS so `gemma-chat --log-level debug chat` is not undone
    by the sub-command's own default; `gemma-chat chat --log-level debug` works as well.
    """
    _add(parser, default_level())
    for action in parser._actions:  # argparse keeps sub-commands only here
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                _add_tree(sub)


def _add_tree(parser: argparse.ArgumentParser) -> None:
    _add(parser, argparse.SUPPRESS)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                _add_tree(sub)


def _add(parser: argparse.ArgumentParser, default: str) -> None:
    if any("--log-level" in action.option_strings for action in parser._actions):
        return  # shared through parents=[...]
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=default,
        type=str.lower,
        help=f"how much to log on stderr (default: ${LOG_LEVEL_ENV} or {DEFAULT_LEVEL})",
    )


def configure_logging(level: str) -> None:
    """A stderr handler with a concise format on the root logger; safe to call twice."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        root.addHandler(handler)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
