"""Map domain errors to HTTP answers with a message a person can read."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gemma_chat.chat.turns import TurnBusy
from gemma_chat.kits.library import KitError
from gemma_chat.media.attachments import AttachmentLinkError
from gemma_chat.runtimes.base import RuntimeFailure
from gemma_chat.store.repository import NotFound


def _describe(error: dict) -> str:
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return f"Malformed JSON body: {reason}"
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    message = error.get("msg", "invalid value").removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        detail = "; ".join(_describe(e) for e in errors) or "Invalid request"
        return JSONResponse(
            {"detail": detail, "errors": json.loads(json.dumps(errors, default=str))},
            status_code=422,
        )

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(TurnBusy)
    async def busy(_: Request, exc: TurnBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(AttachmentLinkError)
    async def bad_attachment(_: Request, exc: AttachmentLinkError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(KitError)
    async def bad_kit(_: Request, exc: KitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RuntimeFailure)
    async def runtime_failure(_: Request, exc: RuntimeFailure) -> JSONResponse:
        # An unknown spec, an unreachable engine, a model that will not load or fit:
        # the request cannot be done as asked, and the message says why.
        return JSONResponse({"detail": str(exc)}, status_code=422)
