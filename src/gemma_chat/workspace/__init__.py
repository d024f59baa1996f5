"""Build-mode workspace: a confined project folder per conversation, and its versions."""

from gemma_chat.workspace.files import (
    DeleteResult,
    EditMatchError,
    EditResult,
    FileInfo,
    RenameResult,
    Workspace,
    WorkspaceConflictError,
    WorkspaceLimitError,
    WorkspaceNotFoundError,
    WriteResult,
)
from gemma_chat.workspace.paths import WorkspaceError, WorkspacePathError, normalize, resolve_in
from gemma_chat.workspace.versions import FileDiff, Version, VersionError, Versions

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
    "normalize",
    "resolve_in",
]
