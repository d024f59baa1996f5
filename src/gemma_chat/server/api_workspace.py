"""Build-mode workspace: files, versions, restore and export (docs/design.md#http-api)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from gemma_chat.errors import (
    StaleFileError,
    VersionError,
    WorkspaceConflictError,
    WorkspaceError,
    WorkspaceLimitError,
    WorkspaceNotFoundError,
)
from gemma_chat.server.state import get_state
from gemma_chat.workbench import AppState
from gemma_chat.workspace import Version, Versions, Workspace, file_etag

router = APIRouter(prefix="/api/conversations/{conversation_id}", tags=["workspace"])
State = Annotated[AppState, Depends(get_state)]


def _project(state: AppState, conversation_id: str) -> tuple[Workspace, Versions]:
    state.store.get_conversation(conversation_id)  # 404 for an unknown conversation
    return state.projects.open(conversation_id)


def _version_json(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "index": version.index,
        "message": version.message,
        "turn_id": version.turn_id,
        "created_at": version.created_at,
        "files_changed": version.files_changed,
    }


@router.get("/files")
async def list_files(conversation_id: str, state: State) -> dict[str, Any]:
    workspace, _ = _project(state, conversation_id)
    files = await asyncio.to_thread(workspace.list)
    return {
        "files": [{"path": f.path, "size": f.size} for f in files],
        "workspace_path": str(workspace.root),
    }


@router.get("/files/{path:path}", response_class=PlainTextResponse)
async def read_file(conversation_id: str, path: str, state: State) -> PlainTextResponse:
    workspace, _ = _project(state, conversation_id)
    try:
        text = await asyncio.to_thread(workspace.read, path)
    except WorkspaceNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except WorkspaceError as exc:
        raise HTTPException(400, str(exc)) from None
    # The ETag names this copy: a hand edit sends it back, so a file changed since is not
    # overwritten (PUT below answers 409).
    return PlainTextResponse(
        text,
        headers={"Cache-Control": "no-store", "ETag": f'"{file_etag(text.encode("utf-8"))}"'},
    )


class FileEdit(BaseModel):
    text: str
    # The ETag of the copy the edit was made to (GET's ETag header, quotes optional);
    # null: the file is new and must not exist yet.
    etag: str | None = Field(max_length=200)


@router.put("/files/{path:path}")
async def save_file(
    conversation_id: str, path: str, body: FileEdit, state: State
) -> dict[str, Any]:
    """The user's own edit of one file: written, shown in the preview, recorded as a version."""
    workspace, versions = _project(state, conversation_id)
    if state.turns.running(conversation_id):
        raise HTTPException(
            409, "The model is working on this project; wait for its reply to end, then save."
        )
    etag = body.etag.removeprefix("W/").strip('"') if body.etag is not None else None
    try:
        written, version = await asyncio.to_thread(
            versions.save_by_hand, workspace, path, body.text, etag
        )
    except StaleFileError as exc:
        raise HTTPException(409, str(exc)) from None
    except WorkspaceLimitError as exc:
        raise HTTPException(413, str(exc)) from None
    except WorkspaceConflictError as exc:
        raise HTTPException(409, str(exc)) from None
    except WorkspaceNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except WorkspaceError as exc:  # a path outside the project, text that is not UTF-8
        raise HTTPException(400, str(exc)) from None
    if version is not None:
        state.preview.file_done(conversation_id, written.path)  # the live preview updates
    return {
        "path": written.path,
        "size": written.size,
        "status": written.status,
        "etag": f'"{file_etag(body.text.encode("utf-8"))}"',
        "version": _version_json(version) if version is not None else None,
    }


@router.get("/versions")
async def list_versions(conversation_id: str, state: State) -> dict[str, Any]:
    _, versions = _project(state, conversation_id)
    if not state.projects.exists(conversation_id):
        return {"versions": []}
    return {"versions": [_version_json(v) for v in await asyncio.to_thread(versions.list)]}


@router.get("/versions/diff")
async def diff_versions(
    conversation_id: str,
    state: State,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> dict[str, Any]:
    _, versions = _project(state, conversation_id)
    try:
        diffs = await asyncio.to_thread(versions.diff, from_, to)
    except VersionError as exc:
        raise HTTPException(404, str(exc)) from None
    return {
        "files": [
            {"path": d.path, "status": d.status, "diff": d.diff, "old_path": d.old_path}
            for d in diffs
        ]
    }


@router.post("/versions/{version_id}/restore")
async def restore_version(conversation_id: str, version_id: str, state: State) -> dict[str, Any]:
    _, versions = _project(state, conversation_id)
    if state.turns.running(conversation_id):
        raise HTTPException(409, "A turn is running in this conversation; stop it first.")
    try:
        version = await asyncio.to_thread(versions.restore, version_id)
    except VersionError as exc:
        raise HTTPException(404, str(exc)) from None
    state.preview.reload(conversation_id)
    return _version_json(version)


@router.get("/preview")
async def preview_url(conversation_id: str, request: Request, state: State) -> dict[str, str]:
    """Where the project's live preview is served: an origin of its own, per project (a
    port of its own on the host name the app was reached at, so the app's cookie comes along).

    The origin this (token-checked) request reached the app at is the one that may frame the
    preview's pages and that they report their errors to."""
    state.store.get_conversation(conversation_id)
    state.preview.trust_app(f"{request.url.scheme}://{request.url.netloc}")
    host = request.url.hostname
    return {
        "url": state.preview.url_for(conversation_id, host=host),
        "origin": state.preview.origin_for(conversation_id, host=host),
    }


@router.get("/export.zip")
async def export_zip(conversation_id: str, state: State) -> Response:
    conversation = state.store.get_conversation(conversation_id)
    workspace, _ = state.projects.open(conversation_id)
    data = await asyncio.to_thread(workspace.zip_bytes)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in conversation.title)[:60]
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name.strip("-") or "project"}.zip"'
        },
    )
