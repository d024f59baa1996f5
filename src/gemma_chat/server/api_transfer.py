"""Export and import: one conversation as Markdown or JSON, all data as one zip, and
importing that zip, a conversation's JSON, ChatGPT's or Open WebUI's export (see
chat/exporting.py and chat/importing.py for the formats)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from gemma_chat.chat.exporting import (
    archive_filename,
    conversation_json,
    conversation_markdown,
    download_filename,
    remove_quietly,
    write_archive,
)
from gemma_chat.chat.importing import Importer, ImportRefused, max_import_bytes
from gemma_chat.config import confirmed_hosts
from gemma_chat.errors import RuntimeFailure
from gemma_chat.server.spec_policy import Policy, remote_host
from gemma_chat.server.state import get_state
from gemma_chat.server.uploads import uploaded_file
from gemma_chat.util.units import format_bytes
from gemma_chat.workbench import AppState

router = APIRouter(tags=["export and import"])
State = Annotated[AppState, Depends(get_state)]
IMPORT_PATH = "/api/import"
log = logging.getLogger(__name__)


@router.get("/api/conversations/{conversation_id}/export")
async def export_conversation(
    conversation_id: str,
    state: State,
    format: Annotated[Literal["md", "json"], Query()] = "md",
) -> Response:
    """The conversation as a download: Markdown (the active branch, as read) or JSON
    (every message on every branch, with attachments' metadata)."""
    conversation = state.store.get_conversation(conversation_id)  # 404 when unknown
    if format == "json":
        data = await asyncio.to_thread(
            conversation_json, state.store, state.attachments, conversation_id
        )
        body = json.dumps(data, ensure_ascii=False, indent=1).encode()
        media = "application/json"
    else:
        text = await asyncio.to_thread(
            conversation_markdown, state.store, state.attachments, conversation_id
        )
        body = text.encode()
        media = "text/markdown; charset=utf-8"
    disposition = download_filename(conversation.title, format)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


def _scratch(state: AppState) -> Path:
    """A private folder in the data dir for archives being written or read."""
    folder = state.settings.data_dir / "tmp"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@router.get("/api/export")
async def export_all(state: State) -> FileResponse:
    """Everything as one zip: a manifest, every conversation as JSON, attachment files and
    Build projects' files (not their git history)."""
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=_scratch(state))
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            await asyncio.to_thread(
                write_archive, out, state.store, state.attachments, state.projects
            )
    except BaseException:
        remove_quietly(path)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        headers={"Content-Disposition": archive_filename(), "Cache-Control": "no-store"},
        background=BackgroundTask(remove_quietly, path),
    )


def _copy(source: IO[bytes], fd: int) -> int:
    """Copy the spooled upload into the open file `fd` (closed after); returns its size."""
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
        return out.tell()


@router.post(IMPORT_PATH, status_code=201)
async def import_file(request: Request, state: State, policy: Policy) -> JSONResponse:
    """Import an upload (multipart field `file`) as new conversations; never overwrites."""
    limit = max_import_bytes()
    async with uploaded_file(request) as upload:
        fd, name = tempfile.mkstemp(prefix="import-", dir=_scratch(state))
        path = Path(name)
        try:
            size = await asyncio.to_thread(_copy, upload.file, fd)
            if size > limit:  # the body limit lets the multipart framing through too
                raise HTTPException(
                    413, f"The file is larger than the import limit of {format_bytes(limit)}"
                )
            known = await asyncio.to_thread(confirmed_hosts, state.settings.data_dir)

            def keep_model(spec: str) -> bool:
                """A spec an imported chat may keep: what the API would take without asking."""
                if spec.startswith("replay:") and spec != policy.started_with:
                    return policy.allow_replay
                try:
                    remote = remote_host(spec)
                except RuntimeFailure:  # not a valid server URL
                    return False
                return remote is None or remote.origin in known or spec == policy.started_with

            importer = Importer(
                state.store,
                state.attachments,
                state.projects,
                state.settings.model,
                keep_model,
            )
            try:
                report = await asyncio.to_thread(importer.run, path)
            except ImportRefused as exc:
                raise HTTPException(exc.status, str(exc)) from None
        finally:
            remove_quietly(path)
    log.info("imported %s: %s", report.format, report.as_dict()["imported"])
    return JSONResponse(report.as_dict(), status_code=201)
