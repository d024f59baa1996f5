"""Uploads (`POST /api/attachments`) and serving them back (`GET /api/attachments/{id}`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from gemma_chat.errors import CorruptMedia, MediaError, NotFound, TooLarge, UnsupportedMedia
from gemma_chat.media.attachments import AttachmentStore, max_upload_bytes
from gemma_chat.server.uploads import uploaded_file
from gemma_chat.util.units import format_bytes

router = APIRouter(prefix="/api/attachments", tags=["attachments"])
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file


def get_attachments(request: Request) -> AttachmentStore:
    return request.app.state.gemma.attachments


Attachments = Annotated[AttachmentStore, Depends(get_attachments)]


@router.post("", status_code=201)
async def upload(request: Request, store: Attachments) -> JSONResponse:
    limit = store.max_bytes or max_upload_bytes()
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + _MULTIPART_SLACK:
        raise HTTPException(413, f"The file is larger than the upload limit of "
                                 f"{format_bytes(limit)}")  # fmt: skip
    async with uploaded_file(request) as file:
        try:
            attachment = await run_in_threadpool(store.save, file.file, file.filename, limit)
        except TooLarge as exc:
            raise HTTPException(413, str(exc)) from exc
        except UnsupportedMedia as exc:
            raise HTTPException(415, str(exc)) from exc
        except (CorruptMedia, MediaError) as exc:
            raise HTTPException(422, str(exc)) from exc
    return JSONResponse(attachment.to_dict(), status_code=201)


@router.get("/{attachment_id}")
def download(attachment_id: str, store: Attachments) -> FileResponse:
    try:
        attachment = store.get(attachment_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    if not attachment.path.is_file():
        raise HTTPException(404, f"The file of attachment {attachment_id} is missing")
    return FileResponse(
        attachment.path,
        media_type=attachment.mime,
        filename=attachment.name,
        content_disposition_type="inline",
        headers={
            "X-Content-Type-Options": "nosniff",
            # Opened on its own (a PDF, a text file), an upload runs with no script and no
            # access to the app's origin: model users' files are untrusted content too.
            "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )
