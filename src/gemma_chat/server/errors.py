"""Map domain errors to HTTP answers with a message a person can read."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gemma_chat.errors import (
    AttachmentLinkError,
    CannotContinue,
    KitError,
    NotFound,
    RuntimeFailure,
    TurnBusy,
)
from gemma_chat.store.database import DatabaseError
from gemma_chat.store.health import is_damage

log = logging.getLogger(__name__)


def _db_path(request: Request) -> str:
    state = getattr(request.app.state, "gemma", None)
    return str(state.settings.db_path) if state is not None else "the database"


def database_detail(request: Request, exc: DatabaseError) -> tuple[int, str]:
    """503 and what to do, for a database error at run time."""
    path = _db_path(request)
    if is_damage(exc):
        return 503, (
            f"The database {path} is damaged ({exc}). Quit Gemma Chat, then run "
            "`gemma-chat repair` (moves it aside and starts afresh) or "
            "`gemma-chat repair --restore-backup`."
        )
    return 503, f"The database {path} could not be used just now ({exc}); try again."


def _describe(error: dict) -> str:
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return f"Malformed JSON body: {reason}"
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    message = error.get("msg", "invalid value").removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# A 422 never echoes the request: pydantic's `input` (the offending value, which can be
# the whole body) is dropped, and of `ctx` only the limits a person needs are kept.
_SAFE_CTX = {"max_length", "min_length", "ge", "gt", "le", "lt", "multiple_of", "expected"}
_MAX_ERRORS = 20
_MAX_TEXT = 200


def _short(value: object) -> object:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    return value


def _without_input(error: dict) -> dict:
    safe: dict = {
        "type": error.get("type", ""),
        "loc": [_short(p) for p in error.get("loc", ())][:10],
        "msg": _short(str(error.get("msg", ""))),
    }
    ctx = error.get("ctx") or {}
    kept = {k: _short(str(v)) for k, v in ctx.items() if k in _SAFE_CTX}
    if error.get("type") == "json_invalid" and "error" in ctx:
        kept["error"] = _short(str(ctx["error"]))  # the parser's reason, e.g. "Expecting value"
    if kept:
        safe["ctx"] = kept
    return safe


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_without_input(e) for e in exc.errors()[:_MAX_ERRORS]]
        detail = "; ".join(_describe(e) for e in errors) or "Invalid request"
        return JSONResponse(
            {"detail": detail, "errors": json.loads(json.dumps(errors, default=str))},
            status_code=422,
        )

    @app.exception_handler(DatabaseError)
    async def database_error(request: Request, exc: DatabaseError) -> JSONResponse:
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        status, detail = database_detail(request, exc)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, so the server log gets the traceback.
        return JSONResponse(
            {"detail": f"Unexpected server error ({type(exc).__name__}); see the server log."},
            status_code=500,
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

    @app.exception_handler(CannotContinue)
    async def cannot_continue(_: Request, exc: CannotContinue) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(KitError)
    async def bad_kit(_: Request, exc: KitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RuntimeFailure)
    async def runtime_failure(_: Request, exc: RuntimeFailure) -> JSONResponse:
        # An unknown spec, an unreachable engine, a model that will not load or fit:
        # the request cannot be done as asked, and the message says why.
        return JSONResponse({"detail": str(exc)}, status_code=422)
