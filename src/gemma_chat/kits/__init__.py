"""Starter kits: working small apps a Build starts from, with slots a build may fill."""

from gemma_chat.errors import KitError
from gemma_chat.kits.library import KitLibrary, default_library, project_files
from gemma_chat.kits.manifest import BLANK, Kit, KitManifest, Slot
from gemma_chat.kits.slots import SlotError, apply_values, kit_name_of, read_values

__all__ = [
    "BLANK",
    "Kit",
    "KitError",
    "KitLibrary",
    "KitManifest",
    "Slot",
    "SlotError",
    "apply_values",
    "default_library",
    "kit_name_of",
    "project_files",
    "read_values",
]
