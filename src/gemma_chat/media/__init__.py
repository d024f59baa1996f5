"""Attachments: what a file is, where it is kept, and how a model gets it."""

from gemma_chat.media.attachments import (
    Attachment,
    AttachmentLinkError,
    AttachmentStore,
    max_upload_bytes,
)
from gemma_chat.media.kinds import CorruptMedia, MediaError, TooLarge, UnsupportedMedia, classify
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
