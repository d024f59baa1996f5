"""Where each Build conversation keeps its files: `<data_dir>/workspaces/<conversation id>`.

`gemma-chat build --out DIR` keeps its project in DIR: the entry for its conversation is
then a link to DIR, so the web app shows the same project and a later build in DIR
continues the same conversation.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from gemma_chat.errors import WorkspaceError
from gemma_chat.private import private_dir
from gemma_chat.workspace.files import Workspace
from gemma_chat.workspace.versions import Versions

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Projects:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._elsewhere: dict[str, Path] = {}  # where links are not possible (this run only)

    def path(self, conversation_id: str) -> Path:
        if not _SAFE_ID.match(conversation_id):
            raise WorkspaceError(f"Not a valid conversation id: {conversation_id!r}")
        return self._elsewhere.get(conversation_id) or self.root / conversation_id

    def open(self, conversation_id: str) -> tuple[Workspace, Versions]:
        folder = self.path(conversation_id)
        # A project in the data dir is private; one linked to the user's own folder is not.
        own = folder.is_symlink() or conversation_id in self._elsewhere
        if not own:
            private_dir(self.root)
        return Workspace(folder, private=not own), Versions(folder)

    def exists(self, conversation_id: str) -> bool:
        return self.path(conversation_id).is_dir()

    def link(self, conversation_id: str, folder: Path) -> None:
        """Keep this conversation's project in `folder` (made if needed) instead."""
        entry = self.path(conversation_id)
        folder.mkdir(parents=True, exist_ok=True)
        if entry.is_symlink() and entry.resolve() == folder.resolve():
            return
        if entry.exists() or entry.is_symlink():
            raise WorkspaceError(f"Conversation {conversation_id} already has a project folder.")
        private_dir(self.root)
        try:
            entry.symlink_to(folder.resolve(), target_is_directory=True)
        except OSError:  # e.g. Windows without the right to make links
            self._elsewhere[conversation_id] = folder.resolve()

    def linked_to(self, folder: Path) -> str | None:
        """The conversation whose project lives in `folder`, if one does."""
        target = folder.resolve()
        for conversation_id, path in self._elsewhere.items():
            if path == target:
                return conversation_id
        if not self.root.is_dir():
            return None
        for entry in os.scandir(self.root):
            if entry.is_symlink() and Path(entry.path).resolve() == target:
                return entry.name
        return None

    def delete(self, conversation_id: str) -> None:
        path = self.path(conversation_id)
        if path.is_symlink() or conversation_id in self._elsewhere:
            # A project kept in the user's own folder stays there; only the link goes.
            self._elsewhere.pop(conversation_id, None)
            if path.is_symlink():
                path.unlink()
            return
        shutil.rmtree(path, ignore_errors=True)
