"""Where each Build conversation keeps its files: `<data_dir>/workspaces/<conversation id>`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gemma_chat.workspace.files import Workspace
from gemma_chat.workspace.paths import WorkspaceError
from gemma_chat.workspace.versions import Versions

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Projects:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, conversation_id: str) -> Path:
        if not _SAFE_ID.match(conversation_id):
            raise WorkspaceError(f"Not a valid conversation id: {conversation_id!r}")
        return self.root / conversation_id

    def open(self, conversation_id: str) -> tuple[Workspace, Versions]:
        folder = self.path(conversation_id)
        return Workspace(folder), Versions(folder)

    def exists(self, conversation_id: str) -> bool:
        return self.path(conversation_id).is_dir()

    def delete(self, conversation_id: str) -> None:
        shutil.rmtree(self.path(conversation_id), ignore_errors=True)
