"""Build the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from gemma_chat import __version__
from gemma_chat.config import Settings
from gemma_chat.server import (
    api_attachments,
    api_conversations,
    api_models,
    api_settings,
    api_speech,
    api_system,
    api_transcribe,
    api_transfer,
    api_workspace,
    spec_policy,
)
from gemma_chat.server.auth import TokenGate, new_token
from gemma_chat.server.errors import install_error_handlers
from gemma_chat.server.guards import BrowserGuards, preview_frames
from gemma_chat.server.limits import BodyLimit
from gemma_chat.workbench import AppState

WILDCARD_HOSTS = ("0.0.0.0", "::", "")
UI_DIR = Path(__file__).resolve().parent.parent / "ui"


def create_app(
    settings: Settings,
    on_shutdown: Callable[[], None] | None = None,
    token: str | None = None,
) -> FastAPI:
    """`token` is this start's API secret (server/auth.py); None makes a fresh one."""
    token = token or new_token()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.open(settings, token=token)
        app.state.gemma = state
        api_speech.restore_choice(settings.data_dir)  # the Whisper model chosen last time
        await state.preview.start()  # a port per project: separate origins for project code
        await state.tidy()
        if settings.preload:
            state.start_preload()
        try:
            yield
        finally:
            # Runs inside uvicorn's serve(), before it re-raises a caught SIGTERM/SIGINT.
            if on_shutdown:
                on_shutdown()
            await state.close()

    app = FastAPI(
        title="Gemma Chat",
        version=__version__,
        description="Local-first AI workbench. See docs/design.md (contracts) and docs/api.md.",
        lifespan=lifespan,
    )
    app.state.token = token
    install_error_handlers(app)
    spec_policy.install(app, settings)  # replay: and other machines' model servers
    # Every route but /api/health and /static needs the token (cookie or Bearer).
    app.add_middleware(TokenGate, token=token)
    # Body sizes counted as they stream (uploads: the upload limit; JSON: max_json_mb).
    app.add_middleware(BodyLimit, json_limit=settings.max_json_bytes)
    if settings.host not in WILDCARD_HOSTS:
        # Guards against DNS rebinding: a web page whose domain resolves to 127.0.0.1
        # must not be able to read the API with its own Host header.
        allowed = {"127.0.0.1", "localhost", "::1", "[::1]", settings.host}
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=sorted(allowed))
    app.include_router(api_system.router)
    app.include_router(api_models.router)
    app.include_router(api_attachments.router)
    app.include_router(api_transcribe.router)
    app.include_router(api_speech.router)
    app.include_router(api_conversations.router)
    app.include_router(api_settings.router)
    app.include_router(api_workspace.router)
    app.include_router(api_transfer.router)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(UI_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=UI_DIR, check_dir=False), name="static")
    # Added last, so outermost: a cross-site write gets its 403 before the token check
    # (it may carry the cookie), and every answer, 401s included, gets the CSP headers.
    app.add_middleware(BrowserGuards, frame_sources=lambda: preview_frames(app))
    return app
