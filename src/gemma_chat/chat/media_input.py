"""Attachments as model input: prepared for the model's modalities, with local fallbacks.

Each turn re-sends the conversation, so preparation (resizing, resampling, frame
extraction, speech to text) is cached per attachment and modality set: the second turn
costs nothing, and identical bytes keep the engine's prefix cache valid.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from gemma_chat.chat.history import MessageMedia
from gemma_chat.errors import TranscriptionError
from gemma_chat.media.attachments import Attachment, AttachmentStore
from gemma_chat.media.prepare import Prepared, prepare
from gemma_chat.media.transcribe import transcribe
from gemma_chat.runtimes.base import MediaPart
from gemma_chat.store.repository import Message

CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class HistoryMedia:
    by_message: dict[str, MessageMedia]
    notes: list[str]  # about the newest message's attachments, for the user


class MediaInput:
    def __init__(self, store: AttachmentStore) -> None:
        self.store = store
        self._prepared: OrderedDict[tuple[str, tuple[str, ...]], Prepared] = OrderedDict()
        self._transcripts: OrderedDict[str, str] = OrderedDict()

    async def for_history(
        self, history: list[Message], modalities: tuple[str, ...], newest_id: str | None
    ) -> HistoryMedia:
        ids = [m.id for m in history if m.role == "user"]
        attached = self.store.for_messages(ids)
        by_message: dict[str, MessageMedia] = {}
        notes: list[str] = []
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
                    notes.extend(prepared.notes)
                    if prepared.needs_transcript:
                        notes.append(
                            f"This model doesn't take audio, so {attachment.name} was "
                            "transcribed on this computer and sent as text."
                        )
            by_message[message_id] = MessageMedia(tuple(media), "\n\n".join(texts))
        return HistoryMedia(by_message, notes)

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
