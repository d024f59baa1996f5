"""Atomic, durable file writes: readers see the old file or the new one, never half of one,
even after a crash or a power cut.

The data goes to a temp file in the target's folder (a rename is atomic only within one
filesystem), is flushed and fsynced, renamed over the target with os.replace, and then the
folder is fsynced so that the rename itself survives a crash (POSIX; Windows cannot open a
folder, so that step is skipped there). A failure at any point removes the temp file and
leaves the old target as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# The app's private files are 0600 (gemma_chat.private.PRIVATE_FILE; not imported: both live
# in the bottom layer, which has no imports between its modules).
PRIVATE_FILE = 0o600


def atomic_write_bytes(
    path: Path | str,
    data: bytes,
    *,
    mode: int = PRIVATE_FILE,
    durable: bool = True,
    prefix: str | None = None,
    suffix: str = ".tmp",
) -> None:
    """Replace `path` with `data` atomically; the file ends up with `mode` (0600 unless
    told, so a token or a conversation is private from its first byte).

    `durable=False` skips both fsyncs (still temp file + rename, so never torn) for a caller
    that fsyncs many files at once later (workspace batches). `prefix`/`suffix` name the temp
    file, for a caller that hides its own temp files from listings.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=prefix or f".{target.name}.", suffix=suffix
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode != 0o600:  # mkstemp's own mode
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(target.parent)


def atomic_write_text(
    path: Path | str,
    text: str,
    *,
    mode: int = PRIVATE_FILE,
    durable: bool = True,
    encoding: str = "utf-8",
) -> None:
    """`atomic_write_bytes` for text (UTF-8 unless told; newlines are written as given)."""
    atomic_write_bytes(path, text.encode(encoding), mode=mode, durable=durable)


def fsync_dir(directory: Path | str) -> None:
    """Make a rename or a new file in `directory` durable. Best effort: Windows and some
    filesystems cannot open or fsync a folder, and the data itself is already synced."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
