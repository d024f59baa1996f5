"""Health and model information."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from gemma_chat import __version__
from gemma_chat.errors import RuntimeFailure
from gemma_chat.models import catalogue
from gemma_chat.server.auth import SIGNED_IN
from gemma_chat.server.state import get_state
from gemma_chat.workbench import AppState

router = APIRouter(prefix="/api", tags=["system"])
State = Annotated[AppState, Depends(get_state)]


def describe_model(state: AppState, spec: str) -> dict[str, Any]:
    try:
        runtime = state.runtimes.get(spec)
    except RuntimeFailure as exc:
        return {"spec": spec, "name": spec, "loaded": False, "error": str(exc)}
    caps = runtime.capabilities
    return {
        "spec": spec,
        "name": runtime.name,
        "loaded": state.runtimes.is_loaded(spec),  # as /api/models says
        "error": state.load_error if spec == state.settings.model else None,
        "context_length": caps.context_length,
        "modalities": list(caps.modalities),
        "grammar": caps.grammar,
        "thinking": caps.thinking or _catalogue_thinks(spec),
    }


@router.get("/health")
async def health(state: State, request: Request) -> dict[str, Any]:
    """Anyone may ask whether the app runs (`gemma-chat open` does, before it has the
    token in hand); which model it runs, and its errors (file paths, server URLs), are
    only for those with the token."""
    answer: dict[str, Any] = {"status": "ok", "version": __version__}
    if getattr(request.state, SIGNED_IN, False):
        answer["features"] = ["chat", "build"]
        answer["model"] = describe_model(state, state.settings.model)
    return answer


def _catalogue_thinks(spec: str) -> bool:
    entry = catalogue.find(spec)
    return bool(entry and entry.thinking)
