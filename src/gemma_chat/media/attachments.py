"""Uploaded files: stored under `<root>/<id>/<safe name>`, described in the `attachments`
table, uploaded first (unlinked) and linked to the user message that sends them."""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import IO, Any

from gemma_chat.config import env_mb
from gemma_chat.errors import CorruptMedia, MediaError, TooLarge
from gemma_chat.media.kinds import Kind, inspect
from gemma_chat.media.limits import MB
from gemma_chat.store.attachments import AttachmentRow, AttachmentRows
from gemma_chat.store.database import Database
from gemma_chat.store.repository import new_id, now_iso
from gemma_chat.util.units import format_bytes

DEFAULT_MAX_UPLOAD_MB = 100
_CHUNK = 1024 * 1024
_PART = ".upload.part"
_ID = re.compile(r"^a_[0-9a-f]{16}$")


def max_upload_bytes() -> int:
    """The upload limit: `GEMMA_CHAT_MAX_UPLOAD_MB` (may be fractional), default 100 MB."""
    return max(1, int(env_mb("GEMMA_CHAT_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB) * MB))


NOT_SENT = "not_sent"  # meta key: why the model that answered did not get the file


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    kind: Kind
    mime: str
    name: str  # the name as uploaded (cleaned for display)
    size: int
    path: Path  # the stored file
    meta: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    conversation_id: str | None = None
    created_at: str = ""

    @property
    def url(self) -> str:
        return f"/api/attachments/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "mime": self.mime,
            "name": self.name,
            "size": self.size,
            "url": self.url,
            "meta": dict(self.meta),
            "message_id": self.message_id,
            "created_at": self.created_at,
        }


def display_name(filename: str | None) -> str:
    """The last path part of an uploaded name, without control characters, ≤ 200 chars."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if len(name) > 200:
        _, dot, ext = name.rpartition(".")
        name = name[: 200 - len(ext) - 1] + "." + ext if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def safe_filename(filename: str | None) -> str:
    """A name safe on every file system: letters, digits, `._-`; no leading dot."""
    name = unicodedata.normalize("NFKD", display_name(filename))
    name = name.encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-") or "file"
    if len(name) > 100:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 100 - len(ext) - 1] + "." + ext if dot and len(ext) <= 10 else name[:100]
    return name


class AttachmentStore:
    """Uploads on disk, one folder each; their rows live in store/attachments.py."""

    def __init__(self, db: Database, root: Path, max_bytes: int | None = None) -> None:
        self.rows = AttachmentRows(db)
        self.root = Path(root)
        self.max_bytes = max_bytes  # None: read GEMMA_CHAT_MAX_UPLOAD_MB at each upload

    # ---- writing --------------------------------------------------------------------

    def save(
        self,
        upload: IO[bytes] | bytes,
        filename: str | None,
        max_bytes: int | None = None,
    ) -> Attachment:
        """Store an upload (a binary stream or bytes). Raises TooLarge, UnsupportedMedia or
        CorruptMedia (nothing is kept then)."""
        limit = max_bytes or self.max_bytes or max_upload_bytes()
        name = display_name(filename)
        attachment_id = new_id("a")
        folder = self._folder(attachment_id)
        folder.mkdir(parents=True, exist_ok=False)
        part = folder / _PART
        try:
            size = _copy_limited(upload, part, limit, name)
            kind, mime, meta = inspect(part, name)
            target = folder / safe_filename(name)
            self._check_inside(target)
            part.replace(target)
            created = now_iso()
            relative = target.relative_to(self.root).as_posix()
            self.rows.insert(
                AttachmentRow(attachment_id, kind, mime, name, size, relative, meta,
                              created_at=created)
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Attachment(attachment_id, kind, mime, name, size, target, meta, None, None, created)

    def link(self, ids: Iterable[str], message_id: str) -> list[Attachment]:
        """Attach uploads to a message (in the order given; duplicates count once).
        Raises AttachmentLinkError for an unknown id or one linked to another message,
        NotFound for an unknown message. All or nothing."""
        wanted = list(dict.fromkeys(ids))
        self.rows.link(wanted, message_id)
        return [self.get(a) for a in wanted]

    def mark_not_sent(self, attachment_id: str, reason: str | None) -> None:
        """Record on an attachment that its message's reply was written without it, and
        why (`meta.not_sent`, e.g. "SmolLM2 can't see images"); None clears the mark (a
        retry by a model that took it)."""
        self.rows.set_meta(attachment_id, NOT_SENT, reason)

    def delete(self, attachment_id: str) -> None:
        self.rows.delete(attachment_id)
        if _ID.match(attachment_id):
            shutil.rmtree(self._folder(attachment_id), ignore_errors=True)

    def delete_unlinked(self, older_than_s: float) -> int:
        """Remove uploads never sent (or whose message was deleted) older than this, and
        stray folders of interrupted uploads; returns how many attachments went."""
        cutoff = (
            (datetime.now(UTC) - timedelta(seconds=older_than_s))
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )
        unsent = self.rows.unsent_before(cutoff)
        for attachment_id in unsent:
            self.delete(attachment_id)
        if self.root.is_dir():
            known = self.rows.ids()
            limit = time.time() - older_than_s
            for folder in self.root.iterdir():
                if folder.is_dir() and _ID.match(folder.name) and folder.name not in known:
                    try:
                        if folder.stat().st_mtime < limit:
                            shutil.rmtree(folder, ignore_errors=True)
                    except OSError:
                        pass
        return len(unsent)

    # ---- reading --------------------------------------------------------------------

    def get(self, attachment_id: str) -> Attachment:
        return self._from_row(self.rows.get(attachment_id))

    def for_message(self, message_id: str) -> list[Attachment]:
        return self.for_messages([message_id])[message_id]

    def for_messages(self, message_ids: Iterable[str]) -> dict[str, list[Attachment]]:
        """Every id maps to its attachments (an empty list when none), upload order."""
        found = self.rows.for_messages(message_ids)
        return {m: [self._from_row(row) for row in rows] for m, rows in found.items()}

    # ---- helpers --------------------------------------------------------------------

    def _folder(self, attachment_id: str) -> Path:
        folder = self.root / attachment_id
        self._check_inside(folder)
        return folder

    def _check_inside(self, path: Path) -> None:
        root = self.root.resolve()
        resolved = path.resolve()
        if resolved == root or root not in resolved.parents:
            raise MediaError("Invalid attachment path")

    def _from_row(self, row: AttachmentRow) -> Attachment:
        path = self.root / row.path
        self._check_inside(path)
        return Attachment(
            id=row.id,
            kind=row.kind,  # type: ignore[arg-type]  # written from a Kind by save()
            mime=row.mime,
            name=row.name,
            size=row.size,
            path=path,
            meta=row.meta,
            message_id=row.message_id,
            conversation_id=row.conversation_id,
            created_at=row.created_at,
        )


def _copy_limited(upload: IO[bytes] | bytes, target: Path, limit: int, name: str) -> int:
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
        if len(data) > limit:
            raise TooLarge(_too_large(name, limit))
        target.write_bytes(data)
        return len(data)
    size = 0
    with open(target, "wb") as out:
        while chunk := upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(_too_large(name, limit))
            out.write(chunk)
    if size == 0:
        raise CorruptMedia(f"{name} is empty")
    return size


def _too_large(name: str, limit: int) -> str:
    return f"{name} is larger than the upload limit of {format_bytes(limit)}"
