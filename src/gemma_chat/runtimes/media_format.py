"""Small helpers the runtimes share to send `MediaPart`s in each engine's own format.

Media arrives prepared (images resized PNG/JPEG, ≤30 s 16 kHz mono WAV clips, a video as
labelled frames plus its audio); here we only encode it: base64, `data:` URIs, the audio
`format` name OpenAI-style APIs want, and the short label text a model reads before a part
(so it knows which file, or which moment of a video, a frame is).

Only user messages carry media: system and assistant turns are always sent as plain text.
"""

from __future__ import annotations

import base64

from gemma_chat.runtimes.base import ChatMessage, MediaPart

_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}


def b64(data: bytes) -> str:
    """Plain base64 text (no `data:` prefix), as Ollama's `images` and `input_audio` take."""
    return base64.b64encode(data).decode("ascii")


def data_uri(part: MediaPart) -> str:
    """`data:MIME;base64,…`, as `image_url` / `audio_url` content parts take."""
    return f"data:{part.mime};base64,{b64(part.data)}"


def audio_format(part: MediaPart) -> str:
    """The `input_audio.format` name for a part's MIME type ("wav" unless it says mp3)."""
    return _AUDIO_FORMATS.get(part.mime.lower().split(";")[0].strip(), "wav")


def label_text(part: MediaPart) -> str:
    """The short text placed before a part so the model knows what it is, or ""."""
    label = part.label.strip()
    if not label:
        return ""
    return f"[{'Audio' if part.kind == 'audio' else 'Image'}: {label}]"


def media_of(message: ChatMessage) -> tuple[MediaPart, ...]:
    """The media a message carries to the model: a user message's, never another role's."""
    return message.media if message.role == "user" else ()


def has_media(messages: list[ChatMessage]) -> bool:
    return any(media_of(m) for m in messages)


def media_kinds(messages: list[ChatMessage]) -> set[str]:
    return {part.kind for m in messages for part in media_of(m)}
