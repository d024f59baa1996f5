"""Turn stored messages into what the model sees."""

from __future__ import annotations

from gemma_chat.runtimes.base import ChatMessage
from gemma_chat.store.repository import Message


def model_messages(stored: list[Message], system_prompt: str | None = None) -> list[ChatMessage]:
    """Stored messages as model input.

    Failed replies and empty interrupted ones are left out; an interrupted reply with
    text is kept, since the user saw it and may refer to it. Neighbours with the same
    role are merged, because many chat templates (Gemma's among them) insist on
    alternating user and assistant turns.
    """
    messages: list[ChatMessage] = []
    if system_prompt:
        messages.append(ChatMessage("system", system_prompt))
    for message in stored:
        if message.status == "error" or not message.content.strip():
            continue
        if messages and messages[-1].role == message.role:
            merged = f"{messages[-1].content}\n\n{message.content}"
            messages[-1] = ChatMessage(message.role, merged)
        else:
            messages.append(ChatMessage(message.role, message.content))
    return messages
