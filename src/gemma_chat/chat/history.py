"""Turn stored messages into what the model sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gemma_chat.runtimes.base import ChatMessage, MediaPart
from gemma_chat.store.repository import Message


@dataclass(frozen=True, slots=True)
class MessageMedia:
    """What a user message's attachments add: media parts, and text (documents,
    transcripts, notes for a model that cannot take a kind of media)."""

    media: tuple[MediaPart, ...] = ()
    text: str = ""


def model_messages(
    stored: list[Message],
    system_prompt: str | None = None,
    attachments: Mapping[str, MessageMedia] | None = None,
) -> list[ChatMessage]:
    """Stored messages as model input.

    Failed replies and empty interrupted ones are left out; an interrupted reply with
    text is kept, since the user saw it and may refer to it. Neighbours with the same
    role are merged, because many chat templates (Gemma's among them) insist on
    alternating user and assistant turns.
    """
    attachments = attachments or {}
    messages: list[ChatMessage] = []
    if system_prompt:
        messages.append(ChatMessage("system", system_prompt))
    for message in stored:
        extra = attachments.get(message.id)
        if message.transcript:  # a Build turn: replay exactly what the model saw and wrote
            entries = [ChatMessage(e["role"], e["content"]) for e in message.transcript]  # type: ignore[arg-type]
        elif message.status == "error" or not (message.content.strip() or extra):
            continue
        elif extra is not None:
            text = "\n\n".join(t for t in (extra.text, message.content) if t.strip())
            entries = [ChatMessage(message.role, text, extra.media)]
        else:
            entries = [ChatMessage(message.role, message.content)]
        for entry in entries:
            if messages and messages[-1].role == entry.role:
                previous = messages[-1]
                merged = f"{previous.content}\n\n{entry.content}"
                messages[-1] = ChatMessage(entry.role, merged, previous.media + entry.media)
            else:
                messages.append(entry)
    return messages
