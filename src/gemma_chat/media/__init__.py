"""Attachments: what a file is, where it is kept, and how a model gets it."""

from gemma_chat.errors import (
    AttachmentLinkError,
    CorruptMedia,
    MediaError,
    TooLarge,
    UnsupportedMedia,
)
from gemma_chat.media.attachments import Attachment, AttachmentStore, max_upload_bytes
from gemma_chat.media.kinds import classify
from gemma_chat.media.prepare import Prepared, prepare

__all__ = [
    "Attachment",
    "AttachmentLinkError",
    "AttachmentStore",
    "CorruptMedia",
    "MediaError",
    "Prepared",
    "TooLarge",
    "UnsupportedMedia",
    "classify",
    "max_upload_bytes",
    "prepare",
]
