"""Build-mode workspace: a confined project folder per conversation, and its versions."""

from gemma_chat.errors import (
    EditMatchError,
    VersionError,
    WorkspaceConflictError,
    WorkspaceError,
    WorkspaceLimitError,
    WorkspaceNotFoundError,
    WorkspacePathError,
)
from gemma_chat.workspace.files import (
    DeleteResult,
    EditResult,
    FileInfo,
    RenameResult,
    Workspace,
    WriteResult,
    file_etag,
)
from gemma_chat.workspace.paths import normalize, resolve_in
from gemma_chat.workspace.versions import FileDiff, Version, Versions

__all__ = [
    "DeleteResult",
    "EditMatchError",
    "EditResult",
    "FileDiff",
    "FileInfo",
    "RenameResult",
    "Version",
    "VersionError",
    "Versions",
    "Workspace",
    "WorkspaceConflictError",
    "WorkspaceError",
    "WorkspaceLimitError",
    "WorkspaceNotFoundError",
    "WorkspacePathError",
    "WriteResult",
    "file_etag",
    "normalize",
    "resolve_in",
]
