"""The one file of a multipart upload, for every route that takes one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile


@asynccontextmanager
async def uploaded_file(request: Request) -> AsyncIterator[UploadFile]:
    """The multipart field `file` (422 with what to send otherwise). The form, and the
    temporary file it spooled, is closed when the block ends."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "Send the file as multipart/form-data in the field 'file'")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "file: a file in the multipart field 'file' is required")
        yield upload
    finally:
        await form.close()
