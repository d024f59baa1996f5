"""What the `start_from` and `set_slot` actions do to a workspace.

Both check everything before they write, so an unknown kit, a damaged kit, a value over
its limit or a slot the files lost leaves the project exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gemma_chat.errors import KitError, WorkspaceError
from gemma_chat.kits.library import KitLibrary, default_library, project_files
from gemma_chat.kits.manifest import BLANK, Kit
from gemma_chat.kits.slots import SlotError, apply_values, kit_name_of, read_values
from gemma_chat.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Started:
    kit: Kit | None  # None: a blank start
    written: list[str] = field(default_factory=list)

    @property
    def main(self) -> str | None:
        return self.kit.manifest.main if self.kit else None

    @property
    def message(self) -> str:
        if self.kit is None:
            return "Starting from a blank project."
        slots = ", ".join(s.name for s in self.kit.manifest.slots)
        return (
            f"Started from the {self.kit.manifest.title} kit: {', '.join(self.written)}. "
            f"It already works. Slots you can set with set_slot: {slots}."
        )


@dataclass(frozen=True, slots=True)
class SlotChange:
    written: list[str]
    message: str


def start_from(ws: Workspace, name: str, library: KitLibrary | None = None) -> Started:
    library = library or default_library()
    if name.strip().lower() == BLANK:
        return Started(None)
    existing = ws.list()
    if existing:
        raise KitError(
            f"start_from only works in an empty project; this one has {len(existing)} "
            "file(s). Change the files with edit_file or write_file instead."
        )
    kit = library.load(name)  # raises KitError, naming the problem
    return Started(kit, write_files(ws, project_files(kit)))


def write_files(ws: Workspace, files: Mapping[str, str]) -> list[str]:
    """Write several files, all or nothing: a failure puts back what was there before."""
    before: dict[str, str | None] = {}
    written: list[str] = []
    try:
        for path, text in files.items():
            before[path] = ws.read(path) if ws.exists(path) else None
            result = ws.write(path, text)
            if not result.unchanged:
                written.append(result.path)
    except WorkspaceError:
        for path, old in before.items():
            try:
                if old is None:
                    if ws.exists(path):
                        ws.delete(path)
                else:
                    ws.write(path, old)
            except WorkspaceError:
                continue
        raise
    return written


def project_kit(ws: Workspace, library: KitLibrary | None = None) -> Kit | None:
    """The kit this project started from (its main page says so), if it still exists."""
    library = library or default_library()
    main = "index.html"
    if not ws.exists(main):
        return None
    name = kit_name_of({main: ws.read(main)}, main)
    if name is None:
        return None
    return library.load(name)


def current_files(ws: Workspace, kit: Kit) -> dict[str, str]:
    return {path: ws.read(path) for path in kit.files if ws.exists(path)}


def current_values(ws: Workspace, kit: Kit) -> dict[str, object]:
    return read_values(kit.manifest, current_files(ws, kit))


def set_slots(
    ws: Workspace, values: Mapping[str, object], library: KitLibrary | None = None
) -> SlotChange:
    kit = project_kit(ws, library)
    if kit is None:
        raise SlotError(
            "This project did not start from a kit, so it has no slots. Edit the files instead."
        )
    files = current_files(ws, kit)
    changed = apply_values(kit.manifest, files, values)  # checks every value first
    names = ", ".join(values)
    if not changed:
        return SlotChange([], f"No changes: {names} already had that value.")
    written = write_files(ws, changed)
    return SlotChange(written, f"Set {names}: updated {', '.join(written)}.")


def set_slot(ws: Workspace, slot: str, value: str, library: KitLibrary | None = None) -> SlotChange:
    return set_slots(ws, {slot.strip(): value}, library)
