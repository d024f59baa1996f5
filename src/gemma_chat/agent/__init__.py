"""Build-mode agent: the action protocol parser (tools, loop and prompts join it later)."""

from gemma_chat.agent.protocol import (
    ActionEnd,
    ActionParam,
    ActionParamEnd,
    ActionStart,
    ActionStreamParser,
    Event,
    TextEvent,
)

__all__ = [
    "ActionEnd",
    "ActionParam",
    "ActionParamEnd",
    "ActionStart",
    "ActionStreamParser",
    "Event",
    "TextEvent",
]
