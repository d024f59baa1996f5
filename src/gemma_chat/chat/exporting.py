"""Export: one conversation as Markdown or JSON, or everything as one zip archive.

The archive (`GET /api/export`) holds, under fixed names that `chat/importing.py` reads
back:

    manifest.json                        format, version, counts, what is left out
    conversations/<conversation id>.json one conversation: `conversation_json` below
    attachments/<attachment id>/<name>   every file a message sent
    workspaces/<conversation id>/<path>  Build projects' files (not their git history)

A project's git history is not exported: an imported `.git` folder could carry hooks or
config that run commands, so an import starts each project afresh at one version.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from gemma_chat import __version__
from gemma_chat.media.attachments import Attachment, AttachmentStore, safe_filename
from gemma_chat.store import Store
from gemma_chat.store.repository import Conversation, Message, now_iso
from gemma_chat.util.units import format_bytes
from gemma_chat.workspace.projects import Projects

ARCHIVE_FORMAT = "gemma-chat-archive"
CONVERSATION_FORMAT = "gemma-chat-conversation"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONVERSATIONS_DIR = "conversations/"
ATTACHMENTS_DIR = "attachments/"
WORKSPACES_DIR = "workspaces/"
PROJECT_HISTORY = "files only: git history is not included; an import records one version"
_PAGE = 500
_ZIP_EPOCH = 315_532_800  # 1980-01-01, the earliest time a zip entry can hold


def attachment_entry(attachment: Attachment) -> str:
    """Where an attachment's bytes live in the archive."""
    return f"{ATTACHMENTS_DIR}{attachment.id}/{safe_filename(attachment.name)}"


def conversation_json(
    store: Store, attachments: AttachmentStore, conversation_id: str, *, in_archive: bool = False
) -> dict[str, Any]:
    """One conversation with every message on every branch (`parent_id` links them;
    `active_path` is the branch the app shows), each user message with its attachments'
    metadata (`file`: the entry holding the bytes, in an archive only)."""
    conversation = store.get_conversation(conversation_id)
    messages = store.list_messages(conversation_id)
    active = [m.id for m in store.active_path(conversation_id)]
    found = attachments.for_messages([m.id for m in messages if m.role == "user"])
    items = []
    for message in messages:
        item = message.to_dict()
        item["transcript"] = message.transcript
        if message.role == "user":
            files = []
            for attachment in found.get(message.id, []):
                data = attachment.to_dict()
                data.pop("url", None)
                data.pop("message_id", None)
                if in_archive:
                    data["file"] = attachment_entry(attachment)
                files.append(data)
            item["attachments"] = files
        items.append(item)
    return {
        "format": CONVERSATION_FORMAT,
        "version": FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": now_iso(),
        "conversation": {**conversation.to_dict(), "settings": conversation.settings},
        "active_path": active,
        "messages": items,
    }


def conversation_markdown(store: Store, attachments: AttachmentStore, conversation_id: str) -> str:
    """The conversation as a person reads it: the active branch, oldest first."""
    conversation = store.get_conversation(conversation_id)
    path = store.active_path(conversation_id)
    found = attachments.for_messages([m.id for m in path if m.role == "user"])
    lines = [f"# {_one_line(conversation.title)}", ""]
    lines.append(
        f"*Exported from Gemma Chat {__version__}: {conversation.mode} mode, model"
        f" `{conversation.model}`, started {_when(conversation.created_at)},"
        f" last active {_when(conversation.updated_at)}.*"
    )
    for message in path:
        lines += ["", *_message_markdown(message, found.get(message.id, []))]
    return "\n".join(lines).rstrip() + "\n"


def _message_markdown(message: Message, files: list[Attachment]) -> list[str]:
    who = {"user": "You", "assistant": "Assistant", "system": "System"}[message.role]
    if message.role == "assistant" and message.model:
        who += f" ({message.model})"
    lines = [f"## {who}", "", f"<sub>{_when(message.created_at)}</sub>", ""]
    if message.thinking.strip():
        lines += ["<details><summary>Thinking</summary>", "", message.thinking.strip(), ""]
        lines += ["</details>", ""]
    if message.content.strip():
        lines += [message.content.rstrip(), ""]
    if files:
        lines.append("Attachments:")
        lines += [f"- {_one_line(f.name)} ({f.mime}, {format_bytes(f.size)})" for f in files]
        lines.append("")
    if message.files:
        changed = [f"{what} {', '.join(paths)}" for what, paths in message.files.items() if paths]
        if changed:
            lines += [f"*Files: {'; '.join(changed)}*", ""]
    if message.status == "interrupted":
        lines += ["*(stopped before the reply was finished)*", ""]
    elif message.status == "error":
        lines += [f"*(error: {_one_line(message.error or 'the reply failed')})*", ""]
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _when(iso: str) -> str:
    """'2026-11-30 21:02 UTC' from a stored ISO time (as stored if it does not parse)."""
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", iso)
    return f"{match.group(1)} {match.group(2)} UTC" if match else iso


def download_filename(title: str, extension: str) -> str:
    """A Content-Disposition value: `attachment`, an ASCII `filename` any client can use
    and the title itself (RFC 5987 `filename*`), both free of quotes, slashes, controls."""
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFC", title) if unicodedata.category(ch)[0] != "C"
    )
    cleaned = re.sub(r'[\\/:*?"<>|]+', " ", cleaned)
    cleaned = " ".join(cleaned.split()).strip(" .")[:80].strip(" .") or "conversation"
    stem = safe_filename(cleaned)  # ASCII letters, digits and ._- only
    ascii_name = f"{stem if stem != 'file' or cleaned == 'file' else 'conversation'}.{extension}"
    full = quote(f"{cleaned}.{extension}", safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{full}"


@dataclass
class ArchiveCounts:
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    projects: int = 0
    project_files: int = 0
    missing: int = 0  # attachment files gone from disk (their metadata is still written)

    def as_dict(self) -> dict[str, int]:
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "attachments": self.attachments,
            "projects": self.projects,
            "project_files": self.project_files,
            "missing_attachment_files": self.missing,
        }


def _all_conversations(store: Store) -> Iterator[Conversation]:
    offset = 0
    while True:
        page, total = store.list_conversations(_PAGE, offset)
        yield from page
        offset += len(page)
        if not page or offset >= total:
            return


def write_archive(
    out: IO[bytes], store: Store, attachments: AttachmentStore, projects: Projects
) -> ArchiveCounts:
    """Write every conversation, attachment file and project file into `out` as a zip."""
    counts = ArchiveCounts()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for conversation in list(_all_conversations(store)):
            data = conversation_json(store, attachments, conversation.id, in_archive=True)
            archive.writestr(
                _info(f"{CONVERSATIONS_DIR}{conversation.id}.json"),
                json.dumps(data, ensure_ascii=False, indent=1),
            )
            counts.conversations += 1
            counts.messages += len(data["messages"])
            user_ids = [m["id"] for m in data["messages"] if m["role"] == "user"]
            for files in attachments.for_messages(user_ids).values():
                for attachment in files:
                    if attachment.path.is_file():
                        archive.write(attachment.path, attachment_entry(attachment))
                        counts.attachments += 1
                    else:
                        counts.missing += 1
            if conversation.mode == "build" and projects.exists(conversation.id):
                workspace, _ = projects.open(conversation.id)
                listed = workspace.list()
                if listed:
                    counts.projects += 1
                for info in listed:
                    try:
                        blob = workspace.resolve(info.path).read_bytes()
                    except OSError:
                        continue  # removed while exporting
                    entry = f"{WORKSPACES_DIR}{conversation.id}/{info.path}"
                    archive.writestr(_info(entry, info.mtime), blob)
                    counts.project_files += 1
        manifest = {
            "format": ARCHIVE_FORMAT,
            "version": FORMAT_VERSION,
            "app_version": __version__,
            "exported_at": now_iso(),
            "counts": counts.as_dict(),
            "project_history": PROJECT_HISTORY,
            "layout": {
                "conversations": "conversations/<conversation id>.json",
                "attachments": "attachments/<attachment id>/<file name>",
                "workspaces": "workspaces/<conversation id>/<path in the project>",
            },
        }
        archive.writestr(_info(MANIFEST), json.dumps(manifest, indent=1))
    return counts


def _info(name: str, mtime: float | None = None) -> zipfile.ZipInfo:
    stamp = time.time() if mtime is None else mtime
    info = zipfile.ZipInfo(name, time.gmtime(max(stamp, _ZIP_EPOCH))[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def archive_filename() -> str:
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return f'attachment; filename="gemma-chat-export-{day}.zip"'


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
