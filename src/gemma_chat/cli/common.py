"""What several commands share: their settings from the arguments, and the start-up check."""

from __future__ import annotations

import argparse
import os

from gemma_chat.cli.repair import check_start as check_data_dir
from gemma_chat.config import MODEL_ENV, Settings, saved_model


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    settings = Settings(**extra)  # type: ignore[arg-type]
    if args.data_dir:
        settings.data_dir = args.data_dir.expanduser().resolve()
    if args.model:
        settings.model = args.model
    elif not os.environ.get(MODEL_ENV):
        settings.model = _remembered_model(settings) or settings.model
    return settings


def _remembered_model(settings: Settings) -> str | None:
    """The model picked last time, if it can still be used (its files may be gone)."""
    from gemma_chat.errors import RuntimeFailure
    from gemma_chat.models.registry import create_runtime

    spec = saved_model(settings.data_dir)
    if not spec:
        return None
    try:
        create_runtime(spec, settings.data_dir)
    except RuntimeFailure:
        return None
    return spec


def check_start(settings: Settings, args: argparse.Namespace) -> int | None:
    """Private data dir, a usable database (else a short message), the daily backup."""
    return check_data_dir(settings, args.data_dir, umask=args.command != "build")
