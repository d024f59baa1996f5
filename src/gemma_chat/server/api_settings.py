"""Generation settings: the global defaults (`/api/settings`), and the request body both
it and `PATCH /api/conversations/{id}` take (chat/settings.py has the rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from gemma_chat.chat.settings import (
    MAX_CONTEXT,
    MAX_SYSTEM_PROMPT_CHARS,
    MAX_TOP_K,
    MIN_CONTEXT,
    check_reply_length,
    global_settings,
)
from gemma_chat.server.state import get_state
from gemma_chat.workbench import AppState

router = APIRouter(prefix="/api/settings", tags=["settings"])
State = Annotated[AppState, Depends(get_state)]


class SettingsPatch(BaseModel):
    """Any subset of the settings; null sets one back to its default (for a conversation:
    the global one; globally: the built-in one, the model's own)."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: str | None = Field(default=None, max_length=MAX_SYSTEM_PROMPT_CHARS)
    temperature: float | None = Field(default=None, ge=0, le=2, strict=True)
    top_p: float | None = Field(default=None, ge=0, le=1, strict=True)
    top_k: int | None = Field(default=None, ge=0, le=MAX_TOP_K, strict=True)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_CONTEXT, strict=True)
    context_length: int | None = Field(default=None, ge=MIN_CONTEXT, le=MAX_CONTEXT, strict=True)
    thinking: bool | None = Field(default=None, strict=True)

    def changes(self) -> dict[str, Any]:
        """The keys the request gave, with their values (None: back to the default)."""
        return {key: getattr(self, key) for key in self.model_fields_set}


def check_consistent(settings: dict[str, Any]) -> None:
    """422 when the settings a turn would use contradict each other."""
    problem = check_reply_length(settings)
    if problem:
        raise HTTPException(422, problem)


@router.get("")
async def get_settings(state: State) -> dict[str, Any]:
    return global_settings(state.store.global_settings())


@router.patch("")
async def update_settings(body: SettingsPatch, state: State) -> dict[str, Any]:
    changes = body.changes()
    check_consistent(global_settings({**state.store.global_settings(), **changes}))
    return global_settings(state.store.update_global_settings(changes))
