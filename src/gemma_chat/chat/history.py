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
        if message.transcript:  # a Build turn: replay exactly what the model saw and wrote
            entries = [ChatMessage(e["role"], e["content"]) for e in message.transcript]  # type: ignore[arg-type]
        elif message.status == "error" or not message.content.strip():
            continue
        else:
            entries = [ChatMessage(message.role, message.content)]
        for entry in entries:
            if messages and messages[-1].role == entry.role:
                merged = f"{messages[-1].content}\n\n{entry.content}"
                messages[-1] = ChatMessage(entry.role, merged)
            else:
                messages.append(entry)
    return messages
