"""How a route reaches the app's AppState (gemma_chat/workbench.py)."""

from __future__ import annotations

from fastapi import Request

from gemma_chat.workbench import AppState


def get_state(request: Request) -> AppState:
    """The FastAPI dependency every route uses; the lifespan in server/app.py sets it."""
    state: AppState = request.app.state.gemma
    return state
