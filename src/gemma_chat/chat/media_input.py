"""Attachments as model input: prepared for the model's modalities, with local fallbacks.

Each turn re-sends the conversation, so preparation (resizing, resampling, frame
extraction, speech to text) is cached per attachment and modality set: the second turn
costs nothing, and identical bytes keep the engine's prefix cache valid.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gemma_chat.chat.history import MessageMedia
from gemma_chat.errors import TranscriptionError
from gemma_chat.media.attachments import NOT_SENT, Attachment, AttachmentStore
from gemma_chat.media.prepare import MODEL, Prepared, prepare
from gemma_chat.media.transcribe import transcribe
from gemma_chat.runtimes.base import MediaPart
from gemma_chat.store.repository import Message

CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class Note:
    """For the user, about one of the newest message's attachments: a `notice` event."""

    message: str
    attachment_id: str | None = None
    not_sent: str | None = None  # the file was left out, and why ("X can't see images")

    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message}
        if self.attachment_id and self.not_sent:
            data["attachment"] = {"id": self.attachment_id, "not_sent": self.not_sent}
        return data


@dataclass(frozen=True, slots=True)
class HistoryMedia:
    by_message: dict[str, MessageMedia]
    notes: list[Note]  # about the newest message's attachments, for the user


def short_model_name(name: str) -> str:
    """A runtime's name without its trailing "(…)": "SmolLM2 135M Instruct (embedded)"
    is "SmolLM2 135M Instruct"."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name).strip() or name.strip() or "This model"


class MediaInput:
    def __init__(self, store: AttachmentStore) -> None:
        self.store = store
        self._prepared: OrderedDict[tuple[str, tuple[str, ...]], Prepared] = OrderedDict()
        self._transcripts: OrderedDict[str, str] = OrderedDict()

    async def for_history(
        self,
        history: list[Message],
        modalities: tuple[str, ...],
        newest_id: str | None,
        model: str = "This model",
    ) -> HistoryMedia:
        """Each user message's attachments as the model takes them. The newest message's
        attachments that the model does not get are marked so (`meta.not_sent`, kept for
        the page to show after a reload), and those it does get lose an old mark."""
        ids = [m.id for m in history if m.role == "user"]
        attached = self.store.for_messages(ids)
        by_message: dict[str, MessageMedia] = {}
        notes: list[Note] = []
        for message_id, attachments in attached.items():
            if not attachments:
                continue
            media: list[MediaPart] = []
            texts: list[str] = []
            for attachment in attachments:
                prepared = await self._prepare(attachment, modalities)
                media.extend(prepared.media)
                if prepared.text:
                    texts.append(prepared.text)
                if prepared.needs_transcript:
                    texts.append(await self._transcript(attachment))
                if message_id == newest_id:
                    notes.extend(self._notes(attachment, prepared, model))
                    if prepared.needs_transcript:
                        notes.append(
                            Note(
                                f"This model doesn't take audio, so {attachment.name} was "
                                "transcribed on this computer and sent as text."
                            )
                        )
            by_message[message_id] = MessageMedia(tuple(media), "\n\n".join(texts))
        return HistoryMedia(by_message, notes)

    def _notes(self, attachment: Attachment, prepared: Prepared, model: str) -> list[Note]:
        """The notices for one of the newest message's attachments; records whether the
        model was given it."""
        reason = prepared.left_out.replace(MODEL, short_model_name(model)) or None
        if reason != attachment.meta.get(NOT_SENT):
            self.store.mark_not_sent(attachment.id, reason)
        notes = [Note(text) for text in prepared.notes]
        if reason:
            first = notes[0].message if notes else f"{attachment.name} was not sent."
            notes[:1] = [Note(first, attachment.id, reason)]
        return notes

    async def _prepare(self, attachment: Attachment, modalities: tuple[str, ...]) -> Prepared:
        key = (attachment.id, tuple(sorted(modalities)))
        cached = self._prepared.get(key)
        if cached is None:
            cached = await asyncio.to_thread(prepare, attachment, attachment.path, modalities)
            self._prepared[key] = cached
            while len(self._prepared) > CACHE_SIZE:
                self._prepared.popitem(last=False)
        self._prepared.move_to_end(key)
        return cached

    async def _transcript(self, attachment: Attachment) -> str:
        text = self._transcripts.get(attachment.id)
        if text is None:
            try:
                result = await asyncio.to_thread(transcribe, attachment.path)
                spoken = result.text.strip() or "(no speech recognised)"
                text = f"[{attachment.name}, transcribed locally]: {spoken}"
            except TranscriptionError as exc:
                text = f"[{attachment.name}: could not be transcribed ({exc})]"
            self._transcripts[attachment.id] = text
            while len(self._transcripts) > CACHE_SIZE:
                self._transcripts.popitem(last=False)
        return text
