"""Health and model information."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gemma_chat import __version__
from gemma_chat.models import catalogue
from gemma_chat.runtimes.base import RuntimeFailure
from gemma_chat.server.state import AppState, get_state

router = APIRouter(prefix="/api", tags=["system"])
State = Annotated[AppState, Depends(get_state)]


def describe_model(state: AppState, spec: str) -> dict[str, Any]:
    try:
        runtime = state.runtimes.get(spec)
    except RuntimeFailure as exc:
        return {"spec": spec, "name": spec, "loaded": False, "error": str(exc)}
    caps = runtime.capabilities
    loaded = getattr(runtime, "loaded", True)
    return {
        "spec": spec,
        "name": runtime.name,
        "loaded": loaded,
        "error": state.load_error if spec == state.settings.model else None,
        "context_length": caps.context_length,
        "modalities": list(caps.modalities),
        "grammar": caps.grammar,
        "thinking": caps.thinking or _catalogue_thinks(spec),
    }


@router.get("/health")
async def health(state: State) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "features": ["chat", "build"],
        "model": describe_model(state, state.settings.model),
    }


def _catalogue_thinks(spec: str) -> bool:
    entry = catalogue.find(spec)
    return bool(entry and entry.thinking)
