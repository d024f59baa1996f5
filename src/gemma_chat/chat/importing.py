"""Import: a Gemma Chat archive or conversation, or another app's export, as new chats.

`POST /api/import` hands the uploaded file here; the format is found from its bytes:

- a Gemma Chat archive (`GET /api/export`: a zip with `manifest.json`), or one
  conversation's JSON (`GET /api/conversations/{id}/export?format=json`);
- ChatGPT's `conversations.json` (or the zip it comes in): a list of conversations, each a
  `mapping` tree of nodes (`parent`, `children`, `message`) and the `current_node` shown
  last; the path from the root to `current_node` is imported, other branches are not;
- Open WebUI's chat export: a list of `{title, chat: {history: {messages, currentId},
  messages}, created_at, updated_at}`; the path to `currentId` is imported.

Nothing is overwritten: every conversation, message and attachment gets a new id. What
cannot be imported (another app's images, a tool call, a file over the limits, a model spec
that needs the user's say-so) is left out and listed in the report with the reason.

An archive is checked before anything is read from it: its size once expanded, how far
each member expands, the number of members and every member's name (no absolute paths,
`..`, backslashes, drive letters or links); one bad name refuses the whole archive.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gemma_chat.chat.exporting import (
    ARCHIVE_FORMAT,
    ATTACHMENTS_DIR,
    CONVERSATION_FORMAT,
    CONVERSATIONS_DIR,
    FORMAT_VERSION,
    MANIFEST,
    WORKSPACES_DIR,
)
from gemma_chat.chat.settings import (
    MAX_CONTEXT,
    MAX_SYSTEM_PROMPT_CHARS,
    MAX_TOP_K,
    MIN_CONTEXT,
    known,
)
from gemma_chat.config import env_mb
from gemma_chat.errors import MediaError, NotFound, WorkspaceError
from gemma_chat.media.attachments import AttachmentStore
from gemma_chat.media.limits import MB
from gemma_chat.store import Store
from gemma_chat.store.repository import (
    PLACEHOLDER_TITLE,
    Conversation,
    Message,
    Mode,
    new_id,
    now_iso,
)
from gemma_chat.util.units import format_bytes
from gemma_chat.workspace.projects import Projects

log = logging.getLogger(__name__)

DEFAULT_MAX_IMPORT_MB = 2000
MAX_JSON_BYTES = 256 * MB  # one JSON document parsed in memory (conversations.json too)
MAX_MEMBERS = 100_000  # zip members
EXPANSION = 4  # an archive may expand to this many times the upload limit
MAX_RATIO = 200  # uncompressed : compressed, for members over RATIO_FLOOR
RATIO_FLOOR = MB
MAX_MESSAGE_CHARS = 500_000  # as POST .../messages accepts
MAX_TITLE_CHARS = 200
MAX_REPORTED = 200  # skipped items listed one by one; the rest are counted
_BATCH = 500  # conversations per store transaction
_ROLES = ("system", "user", "assistant")
_STATUSES = ("complete", "interrupted", "error")
_DRIVE = re.compile(r"^[A-Za-z]:")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def max_import_bytes() -> int:
    """The largest import upload: `GEMMA_CHAT_MAX_IMPORT_MB` (may be fractional), 2000 MB."""
    return max(1, int(env_mb("GEMMA_CHAT_MAX_IMPORT_MB", DEFAULT_MAX_IMPORT_MB) * MB))


class ImportRefused(Exception):
    """The file as a whole cannot be imported; nothing was written. `status`: the HTTP
    status that says why (400 unreadable or unsafe, 413 too large, 422 not a known format)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ImportReport:
    format: str = ""
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    projects: int = 0
    project_files: int = 0
    imported: list[dict[str, str]] = field(default_factory=list)  # new {id, title}
    skipped: list[dict[str, str]] = field(default_factory=list)
    skipped_total: int = 0

    def skip(self, item: str, reason: str) -> None:
        self.skipped_total += 1
        if len(self.skipped) < MAX_REPORTED:
            self.skipped.append({"item": item, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "imported": {
                "conversations": self.conversations,
                "messages": self.messages,
                "attachments": self.attachments,
                "projects": self.projects,
                "project_files": self.project_files,
            },
            "conversations": self.imported[:MAX_REPORTED],
            "skipped": self.skipped,
            "skipped_total": self.skipped_total,
        }


@dataclass
class Draft:
    """A conversation read from a file, before it gets new ids."""

    title: str
    created_at: str
    updated_at: str
    messages: list[Message]  # ids and parent ids as in the file (or made up)
    mode: str = "chat"
    model: str = ""
    thinking: bool | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the conversation's own
    active: str | None = None  # the file's last message on the active branch
    attachments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by message id
    source_id: str = ""  # the id in the file (an archive's workspace folder)
    keep_empty: bool = False  # a Gemma Chat conversation is kept with no messages too


class Importer:
    """Writes what a file holds as new conversations. `keep_model(spec)`: whether an
    imported conversation may keep its model spec (else it gets `default_model`)."""

    def __init__(
        self,
        store: Store,
        attachments: AttachmentStore,
        projects: Projects,
        default_model: str,
        keep_model: Callable[[str], bool] = lambda spec: True,
    ) -> None:
        self.store = store
        self.attachments = attachments
        self.projects = projects
        self.default_model = default_model
        self.keep_model = keep_model

    def run(self, path: Path) -> ImportReport:
        """Import the file at `path`. Raises ImportRefused when nothing can be imported."""
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head in _ZIP_MAGIC:
            return self._zip(path)
        size = path.stat().st_size
        if size == 0:
            raise ImportRefused(400, "The file is empty.")
        if size > MAX_JSON_BYTES:
            raise ImportRefused(
                413, f"A JSON export may be at most {format_bytes(MAX_JSON_BYTES)}."
            )
        data = _parse_json(path.read_bytes(), "The file")
        return self._json(data)

    # ---- formats -------------------------------------------------------------------------

    def _json(self, data: Any) -> ImportReport:
        report = ImportReport()
        items = data if isinstance(data, list) else [data]
        if isinstance(data, dict) and data.get("format") == ARCHIVE_FORMAT:
            raise ImportRefused(
                422, "That is an archive's manifest.json: import the whole .zip instead."
            )
        if isinstance(data, dict) and data.get("format") == CONVERSATION_FORMAT:
            report.format = "gemma-chat-conversation"
            draft = _own_draft(data, report)
            if draft is not None:
                for files in draft.attachments.values():
                    for item in files:
                        report.skip(
                            f"attachment {_name(item)}",
                            "a single conversation's export carries no files; "
                            "export all data to keep attachments",
                        )
                draft.attachments = {}
                self._write([draft], report)
            return report
        if not items or not all(isinstance(i, dict) for i in items):
            raise ImportRefused(422, _UNKNOWN)
        if any("mapping" in i for i in items):
            report.format = "chatgpt"
            drafts = [d for i, c in enumerate(items) if (d := _chatgpt(c, i, report))]
        elif any(isinstance(i.get("chat"), dict) or "history" in i for i in items):
            report.format = "open-webui"
            drafts = [d for i, c in enumerate(items) if (d := _open_webui(c, i, report))]
        else:
            raise ImportRefused(422, _UNKNOWN)
        self._write(drafts, report)
        return report

    def _zip(self, path: Path) -> ImportReport:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportRefused(400, f"The file is not a readable zip archive ({exc}).") from None
        with archive:
            names = _check_archive(archive)
            if MANIFEST in names:
                return self._archive(archive, names)
            if "conversations.json" in names:  # ChatGPT's export zip
                data = _parse_json(
                    _read(archive, names["conversations.json"], MAX_JSON_BYTES),
                    "conversations.json",
                )
                report = self._json(data)
                others = [n for n in names if n != "conversations.json"]
                if others:
                    report.skip(
                        f"{_count(len(others), 'other file')} in the zip",
                        "images, audio and other files of a ChatGPT export are not imported",
                    )
                return report
            raise ImportRefused(
                422, "This zip is neither a Gemma Chat archive (it has no manifest.json) "
                "nor a ChatGPT export (no conversations.json)."
            )  # fmt: skip

    def _archive(self, archive: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo]) -> ImportReport:
        manifest = _parse_json(_read(archive, names[MANIFEST], MAX_JSON_BYTES), MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
            raise ImportRefused(422, "manifest.json does not describe a Gemma Chat archive.")
        version = manifest.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ImportRefused(
                422,
                f"This archive is format version {version!r}; this Gemma Chat reads up to "
                f"{FORMAT_VERSION}. Update Gemma Chat to import it.",
            )
        report = ImportReport(format="gemma-chat-archive")
        drafts: list[Draft] = []
        for name, info in names.items():
            if name.startswith(CONVERSATIONS_DIR) and name.endswith(".json"):
                try:
                    data = _parse_json(_read(archive, info, MAX_JSON_BYTES), name)
                except ImportRefused as exc:
                    report.skip(name, str(exc))
                    continue
                draft = _own_draft(data, report, name)
                if draft is not None:
                    drafts.append(draft)
            elif not name.startswith((ATTACHMENTS_DIR, WORKSPACES_DIR)) and name != MANIFEST:
                report.skip(name, "not part of a Gemma Chat archive")
        written = self._write(drafts, report)
        used: set[str] = set()
        for draft, (conversation_id, ids) in zip(drafts, written, strict=True):
            if not conversation_id:
                continue
            self._attachments(archive, names, draft, ids, report, used)
            if draft.mode == "build":
                self._project(archive, names, draft, conversation_id, report, used)
        for name in names:
            if name.startswith((ATTACHMENTS_DIR, WORKSPACES_DIR)) and name not in used:
                report.skip(name, "no imported conversation refers to it")
        return report

    # ---- writing -------------------------------------------------------------------------

    def _write(self, drafts: list[Draft], report: ImportReport) -> list[tuple[str, dict[str, str]]]:
        """Store the drafts under new ids; for each, (new conversation id or "" when it was
        skipped, {id in the file: new message id})."""
        written: list[tuple[str, dict[str, str]]] = []
        batch: list[tuple[Conversation, list[Message]]] = []
        actives: list[tuple[str, str]] = []
        for draft in drafts:
            label = f"conversation {draft.title!r}"
            if not draft.messages and not draft.keep_empty:
                report.skip(label, "it has no messages with text")
                written.append(("", {}))
                continue
            conversation, messages, ids = self._renamed(draft, report, label)
            batch.append((conversation, messages))
            if draft.active and draft.active in ids:
                actives.append((conversation.id, ids[draft.active]))
            written.append((conversation.id, ids))
            report.conversations += 1
            report.messages += len(messages)
            report.imported.append({"id": conversation.id, "title": conversation.title})
            if len(batch) >= _BATCH:
                self.store.import_history(batch)
                batch = []
        if batch:
            self.store.import_history(batch)
        for conversation_id, message_id in actives:
            with contextlib.suppress(NotFound):  # the id was just written
                self.store.choose_branch(conversation_id, message_id)
        return written

    def _renamed(
        self, draft: Draft, report: ImportReport, label: str
    ) -> tuple[Conversation, list[Message], dict[str, str]]:
        conversation_id = new_id("c")
        model = draft.model or self.default_model
        if draft.model and not self.keep_model(draft.model):
            report.skip(
                f"model {draft.model!r} of {label}",
                f"it needs your confirmation first; the conversation uses {self.default_model}",
            )
            model = self.default_model
        ids = {m.id: new_id("m") for m in draft.messages}
        messages = []
        for m in draft.messages:
            parent = ids.get(m.parent_id) if m.parent_id else None
            messages.append(
                Message(
                    id=ids[m.id],
                    conversation_id=conversation_id,
                    role=m.role,
                    content=m.content,
                    status=m.status,
                    created_at=m.created_at,
                    thinking=m.thinking,
                    error=m.error,
                    stats=m.stats,
                    transcript=m.transcript,
                    actions=m.actions,
                    version=None,  # the project's git history is not imported
                    model=m.model,
                    files=m.files,
                    parent_id=parent,
                )
            )
        mode: Mode = "build" if draft.mode == "build" else "chat"
        conversation = Conversation(
            conversation_id,
            draft.title,
            mode,
            model,
            draft.created_at,
            draft.updated_at,
            draft.thinking,
            dict(draft.settings),
        )
        return conversation, messages, ids

    def _attachments(
        self,
        archive: zipfile.ZipFile,
        names: dict[str, zipfile.ZipInfo],
        draft: Draft,
        ids: dict[str, str],
        report: ImportReport,
        used: set[str],
    ) -> None:
        for old_id, files in draft.attachments.items():
            message_id = ids.get(old_id)
            if message_id is None:
                continue
            saved: list[str] = []
            for item in files:
                label = f"attachment {_name(item)} in {draft.title!r}"
                entry = item.get("file")
                info = names.get(entry) if isinstance(entry, str) else None
                if info is None or not str(entry).startswith(ATTACHMENTS_DIR):
                    report.skip(label, "its file is not in the archive")
                    continue
                used.add(info.filename)
                try:
                    with archive.open(info) as stream:
                        limited: Any = _Limited(stream, info)
                        saved.append(self.attachments.save(limited, _name(item)).id)
                except (MediaError, ImportRefused, zipfile.BadZipFile, OSError) as exc:
                    report.skip(label, str(exc) or type(exc).__name__)
            if saved:
                self.attachments.link(saved, message_id)
                report.attachments += len(saved)

    def _project(
        self,
        archive: zipfile.ZipFile,
        names: dict[str, zipfile.ZipInfo],
        draft: Draft,
        conversation_id: str,
        report: ImportReport,
        used: set[str],
    ) -> None:
        prefix = f"{WORKSPACES_DIR}{draft.source_id}/"
        entries = [i for n, i in names.items() if n.startswith(prefix)] if draft.source_id else []
        if not entries:
            return
        workspace, versions = self.projects.open(conversation_id)
        written = 0
        for info in entries:
            used.add(info.filename)
            rel = info.filename[len(prefix) :]
            label = f"project file {rel!r} of {draft.title!r}"
            try:
                text = _read(archive, info, workspace.max_file_bytes).decode("utf-8")
            except UnicodeDecodeError:
                report.skip(label, "it is not UTF-8 text")
                continue
            except ImportRefused as exc:
                report.skip(label, str(exc))
                continue
            try:
                workspace.write(rel, text)
            except WorkspaceError as exc:
                report.skip(label, str(exc))
                continue
            written += 1
        if written:
            versions.record("Imported from a Gemma Chat archive")
            report.projects += 1
            report.project_files += written


# ---- reading archives -----------------------------------------------------------------------


def _check_archive(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every file member by name, once the archive has passed every check."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ImportRefused(
            413, f"The archive has {len(infos):,} members; at most {MAX_MEMBERS:,}."
        )
    limit = EXPANSION * max_import_bytes()
    total = 0
    names: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        why = _unsafe_name(info.filename)
        if why is None and stat.S_ISLNK(info.external_attr >> 16):
            why = "it is a symbolic link"
        if why is not None:
            shown = info.filename if len(info.filename) <= 120 else info.filename[:117] + "..."
            raise ImportRefused(
                400, f"The archive holds an unsafe entry {shown!r}: {why}. Nothing was imported."
            )
        if info.flag_bits & 0x1:
            raise ImportRefused(
                400, "The archive is encrypted; export it again without a password."
            )
        if info.is_dir():
            continue
        if info.filename in names:
            raise ImportRefused(400, f"The archive holds {info.filename!r} twice.")
        total += info.file_size
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefused(
                413,
                f"The archive entry {info.filename!r} expands more than {MAX_RATIO} times "
                "(a zip bomb?). Nothing was imported.",
            )
        names[info.filename] = info
    if total > limit:
        raise ImportRefused(
            413,
            f"The archive expands to {format_bytes(total)}, over the limit of "
            f"{format_bytes(limit)}. Nothing was imported.",
        )
    return names


def _unsafe_name(name: str) -> str | None:
    if not name:
        return "it has no name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "it contains a control character"
    if "\\" in name:
        return "it contains a backslash"
    if name.startswith("/"):
        return "it is an absolute path"
    if _DRIVE.match(name):
        return "it names a drive"
    if any(part == ".." for part in name.split("/")):
        return "it climbs out of the archive with '..'"
    return None


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ImportRefused(
            413,
            f"{info.filename} is {format_bytes(info.file_size)}; at most {format_bytes(limit)}.",
        )
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportRefused(
            400, f"{info.filename} cannot be read from the archive ({exc})."
        ) from None
    if len(data) > limit:  # pragma: no cover - zipfile stops at the declared size
        raise ImportRefused(413, f"{info.filename} is larger than {format_bytes(limit)}.")
    return data


class _Limited:
    """A member's stream that refuses to give more than the member declared."""

    def __init__(self, stream: IO[bytes], info: zipfile.ZipInfo) -> None:
        self.stream = stream
        self.info = info
        self.left = info.file_size

    def read(self, size: int = -1, /) -> bytes:
        data = self.stream.read(size)
        self.left -= len(data)
        if self.left < 0:  # pragma: no cover - zipfile stops at the declared size
            raise ImportRefused(400, f"{self.info.filename} is longer than the archive says.")
        return data


def _parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused(
            400, f"{what} is neither a zip archive nor JSON text, so it cannot be imported."
        ) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ImportRefused(400, f"{what} is not valid JSON ({exc}).") from None


_UNKNOWN = (
    "This JSON is not a format Gemma Chat can import: expected a Gemma Chat conversation "
    "export, ChatGPT's conversations.json or an Open WebUI chat export."
)


# ---- Gemma Chat's own JSON ------------------------------------------------------------------


def _own_draft(data: Any, report: ImportReport, where: str = "the file") -> Draft | None:
    if not isinstance(data, dict) or data.get("format") != CONVERSATION_FORMAT:
        report.skip(where, "not a Gemma Chat conversation")
        return None
    version = data.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        report.skip(where, f"format version {version!r} is newer than this Gemma Chat reads")
        return None
    conv = data.get("conversation")
    items = data.get("messages")
    if not isinstance(conv, dict) or not isinstance(items, list):
        report.skip(where, "it has no conversation or no message list")
        return None
    title = _title(conv.get("title"))
    messages: list[Message] = []
    attachments: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            report.skip(f"message {index + 1} of {title!r}", "not an object")
            continue
        mid = _text(item.get("id")) or f"m{index}"
        role = item.get("role")
        content = item.get("content")
        if role not in _ROLES or not isinstance(content, str) or mid in seen:
            report.skip(f"message {index + 1} of {title!r}", "no role, no text or a repeated id")
            continue
        seen.add(mid)
        status = item.get("status")
        parent = _text(item.get("parent_id"))
        messages.append(
            Message(
                id=mid,
                conversation_id="",
                role=role,
                content=_cut(content, title, report),
                status=status if status in _STATUSES else "complete",
                created_at=_text(item.get("created_at")) or now_iso(),
                thinking=_text(item.get("thinking")),
                error=_text(item.get("error")) or None,
                stats=_dict(item.get("stats")),
                transcript=_list(item.get("transcript")),
                actions=_list(item.get("actions")),
                model=_text(item.get("model")) or None,
                files=_dict(item.get("files")),
                parent_id=parent if parent in seen else None,
            )
        )
        files = item.get("attachments")
        if isinstance(files, list) and files:
            attachments[mid] = [f for f in files if isinstance(f, dict)]
    active = data.get("active_path")
    last = active[-1] if isinstance(active, list) and active else None
    thinking = conv.get("thinking")
    return Draft(
        title=title,
        created_at=_text(conv.get("created_at")) or now_iso(),
        updated_at=_text(conv.get("updated_at")) or now_iso(),
        messages=messages,
        mode="build" if conv.get("mode") == "build" else "chat",
        model=_text(conv.get("model")).strip(),
        thinking=thinking if isinstance(thinking, bool) else None,
        settings=_settings(conv.get("settings"), title, report),
        active=last if isinstance(last, str) else None,
        attachments=attachments,
        source_id=_text(conv.get("id")),
        keep_empty=True,
    )


# ---- ChatGPT ---------------------------------------------------------------------------------


def _chatgpt(conv: dict[str, Any], index: int, report: ImportReport) -> Draft | None:
    title = _title(conv.get("title"), f"ChatGPT conversation {index + 1}")
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        report.skip(f"conversation {title!r}", "it has no messages (no mapping)")
        return None
    node_id = conv.get("current_node")
    if node_id not in mapping:
        # No current node: the newest leaf is what was shown last.
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        node_id = max(leaves, key=lambda k: _node_time(mapping[k]), default=None)
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            break
        path.append(node)
        node_id = node.get("parent")
    path.reverse()
    created = _epoch(conv.get("create_time")) or now_iso()
    messages: list[Message] = []
    left_out = {"tool": 0, "images": 0}
    for node in path:
        message = node.get("message")
        if not isinstance(message, dict):
            continue
        author = message.get("author")
        role = author.get("role") if isinstance(author, dict) else None
        found = message.get("metadata")
        metadata: dict[str, Any] = found if isinstance(found, dict) else {}
        if metadata.get("is_visually_hidden_from_conversation"):
            continue
        if role == "tool" or message.get("recipient", "all") != "all":
            left_out["tool"] += 1
            continue
        if role not in _ROLES:
            continue
        text, images = _chatgpt_text(message.get("content"))
        left_out["images"] += images
        if text is None:
            left_out["tool"] += 1
            continue
        if not text.strip():
            continue
        slug = metadata.get("model_slug")
        _append(
            messages,
            role,
            _cut(text, title, report),
            _epoch(message.get("create_time")) or created,
            slug if isinstance(slug, str) and role == "assistant" else None,
        )
    if left_out["tool"]:
        report.skip(
            f"{_count(left_out['tool'], 'tool step')} in {title!r}",
            "searches, code runs and other tool calls are not imported",
        )
    if left_out["images"]:
        report.skip(
            f"{_count(left_out['images'], 'image')} in {title!r}",
            "ChatGPT's images are not in conversations.json",
        )
    updated = _epoch(conv.get("update_time")) or created
    return Draft(title, created, updated, messages)


def _node_time(node: Any) -> float:
    message = node.get("message") if isinstance(node, dict) else None
    value = message.get("create_time") if isinstance(message, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def _chatgpt_text(content: Any) -> tuple[str | None, int]:
    """(the text, images left out); None for content that is not text (code, tool output)."""
    if not isinstance(content, dict):
        return None, 0
    kind = content.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = content.get("parts")
        texts: list[str] = []
        images = 0
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                images += 1
                texts.append("[image not imported]")
        return "\n".join(t for t in texts if t), images
    return None, 0


# ---- Open WebUI ------------------------------------------------------------------------------


def _open_webui(item: dict[str, Any], index: int, report: ImportReport) -> Draft | None:
    chat = item.get("chat") if isinstance(item.get("chat"), dict) else item
    assert isinstance(chat, dict)
    title = _title(item.get("title") or chat.get("title"), f"Open WebUI chat {index + 1}")
    found = chat.get("history")
    history: dict[str, Any] = found if isinstance(found, dict) else {}
    by_id = history.get("messages")
    current = history.get("currentId")
    chain: list[dict[str, Any]] = []
    if isinstance(by_id, dict) and current in by_id:
        seen: set[str] = set()
        node: Any = current
        while isinstance(node, str) and node in by_id and node not in seen:
            seen.add(node)
            entry = by_id[node]
            if not isinstance(entry, dict):
                break
            chain.append(entry)
            node = entry.get("parentId")
        chain.reverse()
    elif isinstance(chat.get("messages"), list):
        chain = [m for m in chat["messages"] if isinstance(m, dict)]
    else:
        report.skip(f"chat {title!r}", "it has no messages (no history or message list)")
        return None
    created = _epoch(item.get("created_at") or chat.get("timestamp")) or now_iso()
    messages: list[Message] = []
    files = 0
    for entry in chain:
        role = entry.get("role")
        content = entry.get("content")
        if isinstance(content, list):  # parts, as some versions write them
            content = "\n".join(
                p.get("text", "") if isinstance(p, dict) else str(p) for p in content
            )
        if role not in _ROLES or not isinstance(content, str) or not content.strip():
            continue
        if isinstance(entry.get("files"), list):
            files += len(entry["files"])
        models = entry.get("models")
        model = entry.get("model") or (models[0] if isinstance(models, list) and models else None)
        _append(
            messages,
            role,
            _cut(content, title, report),
            _epoch(entry.get("timestamp")) or created,
            model if isinstance(model, str) and role == "assistant" else None,
        )
    if files:
        report.skip(
            f"{_count(files, 'file')} in {title!r}", "Open WebUI's exports do not carry files"
        )
    updated = _epoch(item.get("updated_at")) or created
    return Draft(title, created, updated, messages)


# ---- helpers ---------------------------------------------------------------------------------


def _append(messages: list[Message], role: str, text: str, created: str, model: str | None) -> None:
    """Add a message; one after another of the same role (a reply in parts) joins it."""
    if messages and messages[-1].role == role and role != "system":
        messages[-1].content = f"{messages[-1].content}\n\n{text}"
        return
    messages.append(
        Message(f"m{len(messages)}", "", role, text, "complete", created, model=model)  # type: ignore[arg-type]
    )


def _epoch(value: Any) -> str | None:
    """An ISO time (as the store writes them) from seconds since the epoch; milliseconds and
    nanoseconds, which some exports use, are told apart by size."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    if seconds > 1e17:
        seconds /= 1e9
    elif seconds > 1e11:
        seconds /= 1e3
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _title(value: Any, fallback: str = PLACEHOLDER_TITLE) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    text = "".join(ch for ch in text if ch.isprintable())
    return (text[:MAX_TITLE_CHARS].strip() or fallback)[:MAX_TITLE_CHARS]


def _cut(text: str, title: str, report: ImportReport) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    report.skip(
        f"the end of a long message in {title!r}",
        f"messages are kept to {MAX_MESSAGE_CHARS:,} characters",
    )
    return text[:MAX_MESSAGE_CHARS]


def _settings(value: Any, title: str, report: ImportReport) -> dict[str, Any]:
    """A conversation's own settings, each checked as PATCH /api/settings checks it; one
    that fails is left out (the global default applies) and reported."""
    if not isinstance(value, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, item in known(value).items():
        if item is None or key == "thinking":  # thinking: the conversation's own column
            continue
        if key == "system_prompt":
            ok = isinstance(item, str) and len(item) <= MAX_SYSTEM_PROMPT_CHARS
        else:
            low, high, kind = _SETTING_RANGES[key]
            number: Any = item
            ok = isinstance(number, kind) and not isinstance(number, bool)
            ok = ok and low <= float(number) <= high
        if ok:
            kept[key] = item
        else:
            report.skip(f"setting {key} of {title!r}", "its value is not one the app accepts")
    return kept


_SETTING_RANGES: dict[str, tuple[float, float, type | tuple[type, ...]]] = {
    "temperature": (0, 2, (int, float)),
    "top_p": (0, 1, (int, float)),
    "top_k": (0, MAX_TOP_K, int),
    "max_tokens": (1, MAX_CONTEXT, int),
    "context_length": (MIN_CONTEXT, MAX_CONTEXT, int),
}


def _count(n: int, one: str) -> str:
    return f"{n:,} {one}" if n == 1 else f"{n:,} {one}s"


def _name(item: dict[str, Any]) -> str:
    name = item.get("name")
    return name if isinstance(name, str) and name.strip() else "file"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> Any:
    return value if isinstance(value, dict) else None


def _list(value: Any) -> Any:
    return value if isinstance(value, list) else None
