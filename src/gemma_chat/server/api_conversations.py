"""Conversations, messages and the turn event stream."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator, model_validator

from gemma_chat.chat.settings import effective_settings, own_settings
from gemma_chat.errors import TurnBusy
from gemma_chat.server.api_settings import SettingsPatch, check_consistent
from gemma_chat.server.spec_policy import Policy
from gemma_chat.server.sse import batch_stream
from gemma_chat.server.state import get_state
from gemma_chat.store.repository import Conversation, Message, SearchHit
from gemma_chat.workbench import AppState

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
State = Annotated[AppState, Depends(get_state)]
MAX_MESSAGE_CHARS = 500_000
MAX_TITLE_CHARS = 200
MAX_ATTACHMENTS = 20
MAX_QUERY_CHARS = 1000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _not_blank_if_given(value: str | None) -> str | None:
    return None if value is None else _not_blank(value)


class CreateConversation(BaseModel):
    mode: Literal["chat", "build"] = "chat"
    model: str | None = Field(default=None, max_length=4096)
    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    confirm_host: bool = False  # see POST /api/models/load


class UpdateConversation(BaseModel):
    """Rename, change the model, set the thinking switch (null: the model's default), or
    change the conversation's own settings (each null: back to the global default)."""

    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    model: str | None = Field(default=None, max_length=4096)
    thinking: bool | None = None
    settings: SettingsPatch | None = None
    confirm_host: bool = False  # see POST /api/models/load
    _check = field_validator("title", "model")(_not_blank_if_given)


class Rewind(BaseModel):
    message_id: str = Field(max_length=64)


class ChooseBranch(BaseModel):
    """The message whose branch becomes the active one (an alternative's id)."""

    message_id: str = Field(max_length=64)


class Retry(BaseModel):
    kit: str | None = Field(default=None, max_length=64)  # Build mode: as in SendMessage


class SendMessage(BaseModel):
    content: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    attachments: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS
    )
    # Build mode: start an empty project from this starter kit ("blank": none) instead of
    # the one the request's words pick (the "Started from: … ▾" switch).
    kit: str | None = Field(default=None, max_length=64)
    # Branches: the id of a user message this one is a new version of. It takes that
    # message's place as an alternative; the old one and its replies stay as a branch.
    edit: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _something_to_send(self) -> SendMessage:
        if not self.content.strip() and not self.attachments:
            raise ValueError("content: must not be empty")
        return self


def conversation_json(state: AppState, conversation: Conversation) -> dict[str, Any]:
    data = conversation.to_dict()
    data["running"] = state.turns.running(conversation.id) is not None
    return data


def settings_json(state: AppState, conversation: Conversation) -> dict[str, Any]:
    """The conversation's own settings (null: the global default) and, under `effective`,
    what its turns use (null there: the model's own default)."""
    effective = effective_settings(state.store.global_settings(), conversation)
    return {**own_settings(conversation), "effective": effective}


@router.get("")
async def list_conversations(
    state: State,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
) -> dict[str, Any]:
    """Newest first; with `q`, full-text search (see Store.search_conversations): each
    conversation gains `match` {message_id, snippet, title}. `next_offset` is the next
    page's offset, null on the last page (a search may not know its `total`)."""
    if q is None or not q.strip():
        items, total = state.store.list_conversations(limit, offset)
        listed = [conversation_json(state, c) for c in items]
        more = offset + len(items) < total
        return {
            "conversations": listed,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_offset": offset + len(items) if more else None,
        }
    hits, found, order = await asyncio.to_thread(state.store.search_conversations, q, limit, offset)
    more = offset + len(hits) < found if found is not None else len(hits) == limit
    return {
        "conversations": [{**conversation_json(state, h.conversation), **_match(h)} for h in hits],
        "total": found,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(hits) if more and hits else None,
        "q": q,
        "order": order,
    }


def _match(hit: SearchHit) -> dict[str, Any]:
    return {"match": {"message_id": hit.message_id, "snippet": hit.snippet, "title": hit.title}}


@router.post("", status_code=201)
async def create_conversation(
    body: CreateConversation, state: State, policy: Policy
) -> dict[str, Any]:
    model = (body.model or state.settings.model).strip()
    if body.model is not None:
        await policy.check(model, body.confirm_host)
    state.runtimes.get(model)  # rejects an unknown spec now, not at the first message
    conversation = state.store.create_conversation(body.mode, model, body.title)
    return conversation_json(state, conversation)


@router.get("/{conversation_id}", response_model=dict[str, Any])
async def get_conversation(conversation_id: str, state: State) -> Response:
    """One conversation with all its messages. The messages' JSON comes from the store as
    text (a user message gains its attachments): thousands of messages as Python objects
    through FastAPI's response validation took several times longer."""
    return _with_messages(state, conversation_id)


def _with_messages(state: AppState, conversation_id: str, **extra: Any) -> Response:
    """The conversation with the messages of its active branch, each with `alternatives`
    {index (1-based), count, ids}: where it stands among the messages at its fork."""
    conversation = state.store.get_conversation(conversation_id)
    data = conversation_json(state, conversation)
    data["settings"] = settings_json(state, conversation)
    data.update(extra)
    tree = state.store.branches(conversation_id)
    stored = {mid: (role, text) for mid, role, text in state.store.messages_json(conversation_id)}
    messages = [(mid, *stored[mid]) for mid in tree.path() if mid in stored]
    found = state.attachments.for_messages([mid for mid, role, _ in messages if role == "user"])
    items = []
    for mid, role, text in messages:
        alternatives = json.dumps(tree.alternatives(mid))
        text = f'{text[:-1]},"alternatives":{alternatives}}}'
        if role == "user":
            files = json.dumps([a.to_dict() for a in found.get(mid, [])], ensure_ascii=False)
            text = f'{text[:-1]},"attachments":{files}}}'
        items.append(text)
    head = json.dumps(data, ensure_ascii=False)[:-1]
    body = f'{head}, "messages": [{",".join(items)}]}}'
    return Response(body.encode(), media_type="application/json")


async def _restore_files(state: AppState, conversation_id: str, path: list[Message]) -> str | None:
    """Build mode: make the files what the last version on `path` recorded (the first
    version when none did), as a new version; its id, or None when nothing changed."""
    if not state.projects.exists(conversation_id):
        return None
    _, versions = state.projects.open(conversation_id)
    history = await asyncio.to_thread(versions.list)
    recorded = [m.version for m in path if m.version]
    target = recorded[-1] if recorded else (history[0].id if history else None)
    if target is None:
        return None
    current = history[-1].id
    if current == target or not await asyncio.to_thread(versions.diff, current, target, False):
        return None  # the files are that version's already
    restored = (await asyncio.to_thread(versions.restore, target)).id
    state.preview.reload(conversation_id)
    return restored


def _not_running(state: AppState, conversation_id: str) -> None:
    state.store.get_conversation(conversation_id)
    if state.turns.running(conversation_id):
        raise TurnBusy("A reply is still being generated in this conversation; stop it first.")


@router.patch("/{conversation_id}")
async def update_conversation(
    conversation_id: str, body: UpdateConversation, state: State, policy: Policy
) -> dict[str, Any]:
    state.store.get_conversation(conversation_id)
    model = body.model.strip() if body.model is not None else None
    if model is not None:
        if state.turns.running(conversation_id):
            raise TurnBusy("A reply is still being generated in this conversation; stop it first.")
        await policy.check(model, body.confirm_host)
        state.runtimes.get(model)  # an unknown spec is a 422 here, not a failed turn later
    changes: dict[str, Any] = {"title": body.title, "model": model}
    if "thinking" in body.model_fields_set:
        changes["thinking"] = body.thinking
    if body.settings is not None:
        own = body.settings.changes()
        if "thinking" in own:  # the conversation's thinking switch, as above
            changes["thinking"] = own.pop("thinking")
        current = state.store.get_conversation(conversation_id)
        current.settings = {**current.settings, **own}
        check_consistent(effective_settings(state.store.global_settings(), current))
        changes["settings"] = own
    conversation = state.store.update_conversation(conversation_id, **changes)
    data = conversation_json(state, conversation)
    data["settings"] = settings_json(state, conversation)
    return data


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: str, state: State) -> Response:
    state.store.get_conversation(conversation_id)
    turn = state.turns.running(conversation_id)
    if turn is not None:
        state.turns.stop(conversation_id)
        if turn.task is not None:
            await turn.task
    state.store.delete_conversation(conversation_id)
    await asyncio.to_thread(state.projects.delete, conversation_id)  # thousands of files
    return Response(status_code=204)


@router.post(
    "/{conversation_id}/messages",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Turn events"}},
)
async def send_message(conversation_id: str, body: SendMessage, state: State) -> StreamingResponse:
    if body.edit is not None:
        _not_running(state, conversation_id)
        edited = state.store.get_message(conversation_id, body.edit)
        if edited.role != "user":
            raise HTTPException(404, f"No user message with id {body.edit!r} here")
        # Build mode: the new branch starts from the files the edited message saw.
        above = state.store.path_to(conversation_id, edited.parent_id) if edited.parent_id else []
        await _restore_files(state, conversation_id, above)
    turn = state.turns.start(
        conversation_id, body.content, body.attachments, kit=body.kit, edit=body.edit
    )
    return batch_stream(turn.batches())  # a client going away does not stop the turn


@router.post(
    "/{conversation_id}/messages/{message_id}/retry",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Turn events"}},
)
async def retry(
    conversation_id: str, message_id: str, state: State, body: Retry | None = None
) -> StreamingResponse:
    """Another reply to a user message (or to the one a reply answers), kept beside the
    replies it has as an alternative. Build mode: the files first go back to what that
    message saw."""
    _not_running(state, conversation_id)
    message = state.store.get_message(conversation_id, message_id)
    if message.role == "assistant" and message.parent_id:
        message = state.store.get_message(conversation_id, message.parent_id)
    if message.role != "user":
        raise HTTPException(404, f"No user message with id {message_id!r} here")
    await _restore_files(state, conversation_id, state.store.path_to(conversation_id, message.id))
    kit = body.kit if body else None
    turn = state.turns.start(conversation_id, "", kit=kit, retry=message.id)
    return batch_stream(turn.batches())


@router.post("/{conversation_id}/branches", response_model=dict[str, Any])
async def choose_branch(conversation_id: str, body: ChooseBranch, state: State) -> Response:
    """Show another alternative: the branch through `message_id` becomes the active one.
    Build mode: the files become what that branch's last version recorded (a new version,
    like a restore). Answers the conversation as GET does, with `version`: the restored
    version's id (null: the files did not change)."""
    _not_running(state, conversation_id)
    state.store.choose_branch(conversation_id, body.message_id)
    path = state.store.active_path(conversation_id)
    version = await _restore_files(state, conversation_id, path)
    return _with_messages(state, conversation_id, version=version)


@router.post(
    "/{conversation_id}/continue",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Turn events"}},
)
async def continue_reply(conversation_id: str, state: State) -> StreamingResponse:
    """Continue the last reply where it stopped (at the length limit): the new text is
    appended to the same message. 422 when the last message is no reply to continue."""
    turn = state.turns.continue_reply(conversation_id)
    return batch_stream(turn.batches())


@router.get(
    "/{conversation_id}/turn/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Turn events"}},
)
async def join_turn(
    conversation_id: str,
    state: State,
    after: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    turn: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    """Join the reply being written here (a page reloaded mid-reply, a second tab): the
    running turn's events from the first on, or after the first `after` of them, then
    live ones until it ends. 404 when no reply is being written (it may just have ended:
    the stored conversation has it), or when `turn` names another turn than the one
    running."""
    state.store.get_conversation(conversation_id)
    running = state.turns.running(conversation_id)
    if running is None or (turn is not None and running.id != turn):
        raise HTTPException(404, "No reply is being generated in this conversation.")
    return batch_stream(running.batches(after=after))  # a client going away stops nothing


@router.post("/{conversation_id}/stop")
async def stop_turn(conversation_id: str, state: State) -> dict[str, bool]:
    state.store.get_conversation(conversation_id)
    return {"stopped": state.turns.stop(conversation_id)}


@router.post("/{conversation_id}/rewind")
async def rewind(conversation_id: str, body: Rewind, state: State) -> dict[str, Any]:
    """Drop a user message and all after it; in Build mode the files go back too.

    Regenerate is a rewind to the last user message and sending it again; editing an
    earlier message is a rewind to it and sending the new text.
    """
    _not_running(state, conversation_id)
    messages = state.store.active_path(conversation_id)
    index = next((i for i, m in enumerate(messages) if m.id == body.message_id), None)
    if index is None or messages[index].role != "user":
        raise HTTPException(404, f"No user message with id {body.message_id!r} here")
    restored = await _restore_files(state, conversation_id, messages[:index])
    removed = state.store.delete_messages_from(conversation_id, body.message_id)
    return {"removed": removed, "version": restored}
