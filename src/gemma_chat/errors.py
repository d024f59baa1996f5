"""Every error that crosses a layer, in one module that imports nothing.

Each layer raises these and the front ends catch them (the server maps them to HTTP
answers, the terminal prints them), so neither needs to import the layer that raised
one. Messages are written for the user: short, and saying what to do. Errors private
to one module stay in that module.
"""

from __future__ import annotations

# --- engines (runtimes/) --------------------------------------------------------------------


class RuntimeFailure(Exception):
    """A runtime could not do what was asked; the message is meant for the user."""


class ModelLoadError(RuntimeFailure):
    """The model file is missing, unreadable or not a model."""


class UnknownModelSpec(RuntimeFailure):
    """The model spec names no runtime we know."""


# --- the model library (models/) ------------------------------------------------------------


class ModelError(RuntimeFailure):
    """Base of model management failures; the message is meant for the user."""


class ModelNotInstalled(ModelError, ModelLoadError):
    """The model is known but its files are not (or no longer) on disk."""


class UnknownModel(ModelError, UnknownModelSpec):
    """The spec is neither a catalogue id, an HF repo nor a local GGUF."""


class ManifestError(ModelError, ValueError):
    """installed.json exists but cannot be read."""


class DownloadError(ModelError):
    """A pull failed; the message says why and what to do."""


class DownloadCancelled(DownloadError):
    """The caller set the cancel event; the partial file stays for the next pull."""


class InsufficientDiskSpace(DownloadError):
    """The disk has less room than the files still to download."""


class ChecksumMismatch(DownloadError):
    """A downloaded file's hash differs from the one the hub published."""


# --- uploads (media/) -----------------------------------------------------------------------


class MediaError(Exception):
    """The upload cannot be used; the message is meant for the user."""


class UnsupportedMedia(MediaError):
    """Not a type we accept (HTTP 415)."""


class CorruptMedia(MediaError):
    """A type we accept, but damaged, truncated or empty (HTTP 422)."""


class TooLarge(MediaError):
    """Over the upload size limit (HTTP 413)."""


class AttachmentLinkError(ValueError):
    """An id given with a message is unknown or already belongs to another message."""


class CannotContinue(ValueError):
    """Continue was asked for, but the conversation has no reply that can go on."""


class TranscriptionError(Exception):
    """Audio that cannot be transcribed; `status` is the HTTP answer that fits (422)."""

    status = 422


class NotAudio(TranscriptionError):
    """A readable file with no audio track (an image, a silent video): 415."""

    status = 415


class AudioTooLong(TranscriptionError):
    """Audio longer than the limit (`GEMMA_CHAT_MAX_TRANSCRIBE_S`, default 10 min): 413."""

    status = 413


class NoWords(TranscriptionError):
    """Sound (noise, music, mumbling) in which the model found no words: 422."""

    def __init__(self) -> None:
        super().__init__("Sorry, couldn't make out any words in the recording")


class ModelUnavailable(TranscriptionError):
    """The speech model is missing or damaged: 503 (speech only; chat keeps working)."""

    status = 503


# --- project files (workspace/, kits/) ------------------------------------------------------


class WorkspaceError(Exception):
    """Base of every workspace error; the message is written for the model and the user."""


class WorkspacePathError(WorkspaceError, ValueError):
    """A path that may not be used in the workspace."""


class WorkspaceLimitError(WorkspaceError):
    """A write would pass the per-file, total-size or file-count limit."""


class WorkspaceNotFoundError(WorkspaceError, LookupError):
    """The path names no file or folder."""


class WorkspaceConflictError(WorkspaceError):
    """The path is in a state the operation cannot work with (folder vs file, already exists)."""


class StaleFileError(WorkspaceConflictError):
    """A hand edit was made to an older copy of the file: it changed on disk since."""


class EditMatchError(WorkspaceError):
    """`old_string` matched zero or several places; the message helps the model retry."""


class VersionError(WorkspaceError):
    """A version operation failed; for git failures the message carries git's stderr."""


class KitError(Exception):
    """A kit that does not exist or is damaged; the message is for the model and the user."""


# --- conversations (store/, chat/) ----------------------------------------------------------


class NotFound(LookupError):
    """No conversation, message or attachment has that id."""


class TurnBusy(Exception):
    """A turn is already running in this conversation."""
