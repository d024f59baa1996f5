"""Turn events: every name a turn publishes and the JSON each one carries.

One place for the names, so the server, the agent and every client agree on them: the web
UI mirrors them in ui/events.js, the terminal front ends list what they handle and what
they ignore, and tests/test_events.py checks all of them against docs/api.md. Emit sites
pass a `TurnEvent` and a plain dict literal of the payload shape below, so the wire format
(SSE `event: NAME` + `data: JSON`) is the same as a string name would give.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict


class TurnEvent(StrEnum):
    """A turn event's name, as sent on the wire (a StrEnum: equal to, and formats as, it)."""

    TURN_START = "turn.start"
    TEXT = "text"
    THINKING = "thinking"
    STATS = "stats"
    CONTEXT = "context"
    NOTICE = "notice"
    ERROR = "error"
    TURN_END = "turn.end"
    # Build mode
    ACTION_START = "action.start"
    ACTION_PARAM = "action.param"
    FILE_START = "file.start"
    FILE_DELTA = "file.delta"
    ACTION_END = "action.end"
    PREVIEW = "preview"
    VERSION = "version"


BUILD_EVENTS = frozenset(
    {
        TurnEvent.ACTION_START,
        TurnEvent.ACTION_PARAM,
        TurnEvent.FILE_START,
        TurnEvent.FILE_DELTA,
        TurnEvent.ACTION_END,
        TurnEvent.PREVIEW,
        TurnEvent.VERSION,
    }
)
"""Only a Build-mode turn sends these; a chat turn never does."""


# --- payloads (docs/api.md "Turn events" and "Build mode") ------------------------------


class TurnStartData(TypedDict):
    turn_id: str
    user_message: dict[str, Any]  # the stored user message, with its attachments
    assistant_message_id: str
    assistant_message: dict[str, Any]  # the reply as the turn starts (Continue: its text)


class TextData(TypedDict):
    text: str  # a piece to append (answer, reasoning)


class StatsData(TypedDict):
    ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float | None
    cached_tokens: int


class ContextData(TypedDict):
    trimmed: int
    tokens: int
    limit: int


class MessageData(TypedDict):
    message: str  # error


class LeftOutData(TypedDict):
    id: str  # an attachment of the user's message
    not_sent: str  # why the model did not get it, e.g. "SmolLM2 can't see images"


class NoticeData(TypedDict):
    message: str
    attachment: NotRequired[LeftOutData]  # the note is about a file the model did not get


class TurnEndData(TypedDict):
    reason: Literal["stop", "length", "cancelled", "error", "max_rounds"]
    message: dict[str, Any]  # the stored assistant message


class ActionStartData(TypedDict):
    id: str
    name: str


class ActionParamData(TypedDict):
    id: str
    name: str
    text: str


class PathData(TypedDict):
    path: str  # file.start, preview


class FileDeltaData(TypedDict):
    path: str
    text: str


class ActionEndData(TypedDict):
    id: str
    name: str
    ok: bool
    result: str
    path: str | None
    label: NotRequired[str | None]
    kit: NotRequired[dict[str, Any]]  # start_from: {name, title, alternatives}
    changed: list[str]


class VersionData(TypedDict):
    id: str
    index: int
    title: str
    added: NotRequired[list[str]]  # the turn's own version lists its files
    changed: NotRequired[list[str]]
    removed: NotRequired[list[str]]


PAYLOADS: dict[TurnEvent, type] = {
    TurnEvent.TURN_START: TurnStartData,
    TurnEvent.TEXT: TextData,
    TurnEvent.THINKING: TextData,
    TurnEvent.STATS: StatsData,
    TurnEvent.CONTEXT: ContextData,
    TurnEvent.NOTICE: NoticeData,
    TurnEvent.ERROR: MessageData,
    TurnEvent.TURN_END: TurnEndData,
    TurnEvent.ACTION_START: ActionStartData,
    TurnEvent.ACTION_PARAM: ActionParamData,
    TurnEvent.FILE_START: PathData,
    TurnEvent.FILE_DELTA: FileDeltaData,
    TurnEvent.ACTION_END: ActionEndData,
    TurnEvent.PREVIEW: PathData,
    TurnEvent.VERSION: VersionData,
}
"""Each event's JSON shape; tests/test_events.py checks that every event has one."""
