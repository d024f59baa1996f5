"""Models: the catalogue and what is installed, switching, memory fit, engines, downloads."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from gemma_chat.config import save_model
from gemma_chat.errors import RuntimeFailure
from gemma_chat.models import catalogue
from gemma_chat.models.engines import probe_engines
from gemma_chat.models.fit import plan, plan_for_gguf
from gemma_chat.models.hardware import Hardware
from gemma_chat.models.installed import parse_ref, remove
from gemma_chat.models.library import describe_spec, list_models, recommended
from gemma_chat.models.ollama_pull import is_ollama_spec
from gemma_chat.server.spec_policy import Policy
from gemma_chat.server.sse import event_stream
from gemma_chat.server.state import get_state
from gemma_chat.workbench import AppState

router = APIRouter(prefix="/api/models", tags=["models"])
State = Annotated[AppState, Depends(get_state)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class LoadModel(BaseModel):
    model: str = Field(max_length=4096)
    # The user agreed to send messages to the model server on another machine it names.
    confirm_host: bool = False
    _check = field_validator("model")(_not_blank)


def _specs_in_use(state: AppState) -> list[str]:
    items, _ = state.store.list_conversations(limit=200)
    return [c.model for c in items]


async def _models(state: AppState, hardware: Hardware | None = None) -> list[dict[str, Any]]:
    if hardware is None:
        hardware = await asyncio.to_thread(state.hardware.get)
    return await asyncio.to_thread(
        list_models,
        state.runtimes,
        state.settings.data_dir,
        state.settings.model,
        hardware,
        _specs_in_use(state),
    )


@router.get("")
async def models(state: State) -> dict[str, Any]:
    hardware = await asyncio.to_thread(state.hardware.get)  # one reading for both
    listed = await _models(state, hardware)
    best = await asyncio.to_thread(recommended, listed, hardware)
    pulling = state.pulls.running()
    for model in listed:
        model["pull"] = pulling.get(model["spec"])
    return {
        "active": state.settings.model,
        "resident": state.runtimes.resident_specs(),
        "recommended": best,
        "models": listed,
    }


@router.post("/load")
async def load_model(body: LoadModel, state: State, policy: Policy) -> dict[str, Any]:
    """Switch: load the model, free idle ones, make it the default for new chats.

    On failure (RuntimeFailure → 422) the previous model is still loaded and the default
    is unchanged. A replay: spec is refused (403); a server on another machine not yet
    confirmed is a 409 that names it, and nothing is sent to it.
    """
    await policy.check(body.model, body.confirm_host)
    await state.runtimes.switch(body.model)
    state.settings.model = body.model
    await asyncio.to_thread(save_model, state.settings.data_dir, body.model)  # next start too
    state.load_error = None
    for model in await _models(state):
        if model["spec"] == body.model:
            return model
    return describe_spec(state.runtimes, body.model)  # pragma: no cover - always listed


@router.get("/engines")
async def engines() -> dict[str, Any]:
    found = await probe_engines()
    return {"engines": [_engine_json(e) for e in found]}


def _engine_json(engine: Any) -> dict[str, Any]:
    data = engine.as_dict()
    prefix = engine.spec or ""
    models = []
    for name in engine.models:
        if prefix.startswith("ollama:"):
            spec = f"ollama:{name}"
        elif prefix.startswith("openai:"):
            spec = f"{prefix.partition('#')[0]}#{name}"
        else:
            spec = prefix
        models.append({"spec": spec, "name": name})
    data.update(running=engine.available, note=engine.detail, models=models)
    return data


@router.get("/fit")
async def fit(
    state: State,
    policy: Policy,
    model: Annotated[str, Query(min_length=1, max_length=4096)],
    quant: Annotated[str | None, Query(max_length=32)] = None,
    context: Annotated[int | None, Query(ge=256, le=10_000_000)] = None,
    kv: Annotated[Literal["f16", "q8_0", "q4_0"], Query()] = "f16",
) -> dict[str, Any]:
    policy.refuse_replay(model)  # its path would be read as a GGUF file
    hardware = await asyncio.to_thread(state.hardware.get)
    entry = catalogue.find(model)

    def run() -> dict[str, Any]:
        if entry is not None:
            report = plan(entry, quant=quant, context=context, kv_type=kv, hardware=hardware)
        else:
            path = state.runtimes.get(model).model_file
            if path is None:
                raise HTTPException(
                    404, f"{model} runs in another engine; its memory is that engine's to plan"
                )
            report = plan_for_gguf(path, context=context, kv_type=kv, hardware=hardware)
        data = report.as_dict()
        data["hardware"] = hardware.as_dict()
        return data

    try:
        return await asyncio.to_thread(run)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0]) if exc.args else str(exc)) from exc
    except (ValueError, OSError) as exc:
        raise HTTPException(422, str(exc)) from exc


class PullModel(BaseModel):
    model: str = Field(max_length=1024)
    quant: str | None = Field(default=None, max_length=64)
    confirm_host: bool = False  # an Ollama on another machine: the user agreed to use it
    _check = field_validator("model")(_not_blank)


class CancelPull(BaseModel):
    model: str = Field(max_length=1024)
    quant: str | None = Field(default=None, max_length=64)


@router.post(
    "/pull",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Progress events"}},
)
async def pull_model(body: PullModel, state: State, policy: Policy) -> StreamingResponse:
    """Download a model; the stream reports progress, then `done` or `error`.

    The download goes on if the browser goes away; a second request joins it. Pulling into
    an Ollama on another machine contacts that machine, so it needs the same confirmation
    as sending it messages.
    """
    try:
        if is_ollama_spec(body.model):
            await policy.check(body.model, body.confirm_host)
            state.runtimes.get(body.model)  # a malformed spec is a 422 now
        else:
            parse_ref(body.model, quant=body.quant)  # an unknown id is a 422 now
    except RuntimeFailure as exc:
        raise HTTPException(422, str(exc)) from exc
    job = state.pulls.start(body.model, body.quant)
    return event_stream(job.events())


@router.post("/pull/cancel")
async def cancel_pull(body: CancelPull, state: State) -> dict[str, bool]:
    return {"cancelled": state.pulls.cancel(body.model, body.quant)}


@router.delete("/{model_id:path}")
async def remove_model(model_id: str, state: State) -> dict[str, Any]:
    """Delete a download's files; a model a reply is using now cannot go (409)."""
    spec = model_id.strip()
    for loaded in [s for s in state.runtimes.resident_specs() if _same_model(s, spec)]:
        if state.runtimes.in_use(loaded):
            raise HTTPException(409, f"{spec} is answering in a conversation; stop it first.")
        await state.runtimes.unload(loaded)
    removal = await asyncio.to_thread(remove, spec, state.settings.data_dir)
    return {
        "freed_bytes": removal.freed_bytes,
        "removed": [r.spec for r in removal.removed],
    }


def _same_model(loaded: str, spec: str) -> bool:
    return loaded == spec or loaded.startswith(f"{spec}:")
