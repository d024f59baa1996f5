"""Start-up checks of the data dir and database, and `gemma-chat repair`.

A damaged database must not end start-up in a traceback: `check_start` runs before the
server (or `chat`, `build`) opens it and prints what is wrong, which file, and the ways
out. It also takes the rolling backup (store/backup.py) once a day.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from gemma_chat.config import Settings
from gemma_chat.private import private_dir, private_file, private_umask

log = logging.getLogger(__name__)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `repair` to the CLI's sub-parsers; the parsed args carry `handler=run`."""
    parser = subparsers.add_parser(
        "repair",
        help="move a damaged database aside, or restore the newest backup",
        description="Without options: if the database cannot be read, move it aside (kept "
        "as gemma-chat.db.damaged-TIME) so the next start begins with a new one. With "
        "--restore-backup: put the newest good backup in its place (the current file is "
        "kept aside the same way).",
    )
    parser.add_argument(
        "--restore-backup",
        action="store_true",
        help="restore the newest automatic backup (taken daily at start-up)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the data dir to repair (default: $GEMMA_CHAT_HOME or the OS data dir)",
    )
    parser.set_defaults(handler=run)
    return parser


def _backups_dir(settings: Settings) -> Path:
    from gemma_chat.store.backup import BACKUP_DIR

    return settings.data_dir / BACKUP_DIR


def _with_dir(command: str, data_dir_flag: Path | None) -> str:
    return f"{command} --data-dir {data_dir_flag}" if data_dir_flag else command


def unusable_message(settings: Settings, reason: str, data_dir_flag: Path | None) -> str:
    """What is wrong, with which file, and the ways out (a few lines, no traceback)."""
    from gemma_chat.store.backup import list_backups, taken_at

    repair = _with_dir("gemma-chat repair", data_dir_flag)
    restore = _with_dir("gemma-chat repair --restore-backup", data_dir_flag)
    backups = list_backups(_backups_dir(settings))
    lines = [
        f"[red]error:[/] cannot use the database {settings.db_path}: {reason}",
        "Nothing has been changed. Ways out:",
        f"  [bold]{repair}[/]  moves it aside (kept as {settings.db_path.name}.damaged-TIME) "
        "so the next start begins with an empty database",
    ]
    if backups:
        when = taken_at(backups[0]).astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append(f"  [bold]{restore}[/]  puts back the newest backup (taken {when})")
    else:
        lines.append(f"  (there is no backup to restore in {_backups_dir(settings)})")
    return "\n".join(lines)


def check_start(
    settings: Settings, data_dir_flag: Path | None = None, umask: bool = True
) -> int | None:
    """Run before the app opens its data: None to go on, or the exit code after a message.

    `umask`: make all this process creates private (not for `build`, whose --out folder
    is the user's own and keeps normal modes; its data-dir files get explicit modes)."""
    from rich.console import Console

    from gemma_chat.store.backup import BackupError, backup_if_due
    from gemma_chat.store.health import DatabaseUnusable, check_database

    console = Console(stderr=True, highlight=False)
    if umask:
        private_umask()
    try:
        private_dir(settings.data_dir)
    except OSError as exc:
        console.print(f"[red]error:[/] cannot use the data dir {settings.data_dir}: {exc}")
        return 1
    db = settings.db_path.name
    for name in (db, f"{db}-wal", f"{db}-shm", "preferences.json", "server.json"):
        private_file(settings.data_dir / name)  # made before the data dir was private
    try:
        check_database(settings.db_path)
    except DatabaseUnusable as exc:
        reason = exc.reason
        if exc.newer:
            reason += " (or move it aside to start afresh)"
        console.print(unusable_message(settings, reason, data_dir_flag), soft_wrap=True)
        return 2
    try:
        backup_if_due(settings.db_path, _backups_dir(settings))
    except (BackupError, OSError) as exc:  # a missed backup must not stop the app
        console.print(f"[yellow]warning:[/] no backup today: {exc}")
    return None


def run(args: argparse.Namespace) -> int:
    """`gemma-chat repair [--restore-backup]`."""
    from rich.console import Console

    from gemma_chat.server.instance import running_instance
    from gemma_chat.store.backup import (
        BackupError,
        list_backups,
        move_aside,
        restore_latest,
        taken_at,
    )
    from gemma_chat.store.health import DatabaseUnusable, check_database

    console = Console(stderr=True, highlight=False)
    settings = Settings()
    if args.data_dir:
        settings.data_dir = args.data_dir.expanduser().resolve()
    private_umask()
    db_path = settings.db_path
    if running_instance(settings.server_file):
        console.print(
            f"[red]error:[/] Gemma Chat is running with {db_path}; quit it first, then repair."
        )
        return 1
    if args.restore_backup:
        try:
            backup, aside = restore_latest(db_path, _backups_dir(settings))
        except (BackupError, OSError) as exc:
            console.print(f"[red]error:[/] cannot restore: {exc}")
            return 1
        when = taken_at(backup).astimezone().strftime("%Y-%m-%d %H:%M")
        console.print(f"Restored the backup taken {when} to {db_path}.", soft_wrap=True)
        if aside:
            console.print(f"The database it replaces is kept as {aside}.", soft_wrap=True)
        return 0
    if not db_path.exists():
        console.print(f"There is no database at {db_path} yet; nothing to repair.")
        return 0
    try:
        check_database(db_path)
    except DatabaseUnusable as exc:
        aside = move_aside(db_path)
        console.print(f"{db_path} could not be used ({exc.reason}).", soft_wrap=True)
        console.print(
            f"Moved it aside to {aside} (nothing deleted); the next start begins with an "
            "empty database.",
            soft_wrap=True,
        )
        if list_backups(_backups_dir(settings)):
            restore = _with_dir("gemma-chat repair --restore-backup", args.data_dir)
            console.print(f"To go back to the newest backup instead: {restore}", soft_wrap=True)
        return 0
    console.print(f"{db_path} is fine; nothing to repair.", soft_wrap=True)
    return 0
