"""Request body limits enforced while the body streams, with or without Content-Length.

Without this, a chunked upload was spooled to disk in full (1 GiB) before the upload
limit applied, and a JSON body of any size was read into memory. Uploads
(`/api/attachments`, `/api/transcribe`) may be as large as the upload limit plus the
multipart framing, and an import (`/api/import`) as large as the import limit
(`GEMMA_CHAT_MAX_IMPORT_MB`); every other request body is JSON and gets a few MB
(`GEMMA_CHAT_MAX_JSON_MB`, `Settings.max_json_mb`).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemma_chat.chat.importing import max_import_bytes
from gemma_chat.media.attachments import max_upload_bytes
from gemma_chat.server.asgi_json import send_error
from gemma_chat.util.units import format_bytes

UPLOAD_PATHS = ("/api/attachments", "/api/transcribe")
IMPORT_PATH = "/api/import"  # an archive of all data: GEMMA_CHAT_MAX_IMPORT_MB
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes its limit. An HTTPException, so that
    FastAPI's body parsing (which turns other errors into a 400) lets it through."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodyLimit:
    """Pure ASGI middleware: a declared Content-Length over the limit is answered 413 at
    once, unread; a body without one is counted as it arrives and refused with 413 the
    moment it passes the limit, so nothing beyond it is read, spooled or parsed."""

    def __init__(
        self,
        app: ASGIApp,
        json_limit: int,
        upload_limit: Callable[[], int] = max_upload_bytes,
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def limit_for(self, path: str) -> tuple[int, str]:
        """(bytes allowed, how to say it) for a request to `path`."""
        if path.rstrip("/") == IMPORT_PATH:
            limit = max_import_bytes()
            return limit + MULTIPART_SLACK, f"the import limit of {format_bytes(limit)}"
        if path.rstrip("/") in UPLOAD_PATHS:
            limit = self.upload_limit()
            return limit + MULTIPART_SLACK, f"the upload limit of {format_bytes(limit)}"
        return self.json_limit, f"the {format_bytes(self.json_limit)} limit for request bodies"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, said = self.limit_for(scope.get("path", ""))
        detail = f"The request body is larger than {said}"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await send_error(send, 413, detail, close=True)
            return

        received = 0
        started = False
        over = False

        async def counted_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(detail)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if over:
                    # Close after the answer: otherwise the server reads (and drops) the
                    # rest of the body to keep the connection alive.
                    headers = [h for h in message.get("headers", ()) if h[0] != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Reached here only if nothing inside turned it into a response.
            if not started:
                await send_error(send, 413, detail, close=True)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
