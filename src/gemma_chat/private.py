"""The data directory is private to the user: conversations, uploads and projects are
nobody else's business on a shared machine.

On POSIX the folder is 0700 (an existing one is tightened) and what the app makes inside
it is 0600 / 0700: the CLI sets a 0077 umask for its whole process (SQLite's -wal/-shm,
git's own files and downloads included), and the files that matter most are also created
with explicit modes, so an app embedded in another process stays private too. Windows
keeps its per-user profile ACLs; nothing special is done there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077
POSIX = os.name == "posix"


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) and leave it 0700 if it is ours."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if POSIX and path.stat().st_uid == os.getuid():
        with contextlib.suppress(OSError):
            os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> None:
    """Tighten an existing file of ours to 0600 (no-op if missing or not ours)."""
    if not POSIX:
        return
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.getuid():
            os.chmod(path, PRIVATE_FILE)


def private_umask() -> None:
    """Everything this process creates from now on is the user's alone (POSIX)."""
    if POSIX:
        os.umask(PRIVATE_UMASK)
