"""Models whose chat template has no system role (Gemma 2 and 3, Gemma 3n).

We never hand-write a template per model. The engine applies the model's own template;
only when that template refuses a system message do we fold the system prompt into the
first user turn, which is what Google's own Gemma templates do when they accept one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gemma_chat.runtimes.base import ChatMessage

_REFUSAL = re.compile(r"system.{0,20}(role|message|prompt).{0,40}(not|unsupported|n't)", re.I)
_REFUSAL_ALT = re.compile(r"(not|un)\s*supported.{0,40}system", re.I)


def has_system_prompt(messages: list[ChatMessage]) -> bool:
    return any(m.role == "system" for m in messages)


def rejects_system_role(error: str) -> bool:
    """Whether a template or server error says the system role is not supported."""
    return bool(_REFUSAL.search(error) or _REFUSAL_ALT.search(error))


def fold_system_prompt(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The system text moves to the start of the first user message."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    for index, message in enumerate(rest):
        if message.role == "user":
            rest[index] = replace(message, content=f"{system}\n\n{message.content}")
            return rest
    return [ChatMessage("user", system), *rest]
