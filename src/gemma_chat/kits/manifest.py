"""What a kit is: its manifest (`kit.json`), its slots and its files, parsed and checked.

Kept apart from the library that finds kits (library.py) so that slots.py, which fills a
kit's slots, and the library, which checks them on load, can both import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gemma_chat.errors import KitError

SlotKind = Literal["text", "number", "list", "color"]
KIT_GENERATOR = "Gemma Chat kit: "  # <meta name="generator" content="Gemma Chat kit: NAME">
THEME_FILE = "theme.css"
BLANK = "blank"
COLOR_SLOTS = frozenset({"accent", "background"})


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    kind: SlotKind
    about: str = ""
    max: float | None = None  # text: characters; list: characters per item; number: value
    min: float | None = None  # number: value
    integer: bool = False  # number
    max_items: int = 12  # list
    min_items: int = 1  # list

    def limits(self) -> str:
        """The limit as the model and the UI are told it."""
        if self.kind == "text":
            return f"text, at most {int(self.max or 0)} characters"
        if self.kind == "number":
            whole = "a whole number" if self.integer else "a number"
            return f"{whole} from {_num(self.min)} to {_num(self.max)}"
        if self.kind == "list":
            return (
                f"{self.min_items} to {self.max_items} lines, each at most "
                f"{int(self.max or 0)} characters"
            )
        return "a colour name or #hex"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "about": self.about}
        if self.kind in ("text", "list"):
            data["max_chars"] = int(self.max or 0)
        if self.kind == "list":
            data |= {"min_items": self.min_items, "max_items": self.max_items}
        if self.kind == "number":
            data |= {"min": self.min, "max": self.max, "integer": self.integer}
        return data


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class Preset:
    """Slot values a request's words call for: 'flip a coin' makes the random picker a
    coin (Heads, Tails). Values the request states itself still win."""

    when: tuple[str, ...]  # any of these words in the request
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KitManifest:
    name: str
    title: str
    summary: str
    keywords: tuple[str, ...]
    main: str
    files: tuple[str, ...]
    slots: tuple[Slot, ...]
    presets: tuple[Preset, ...] = ()

    def slot(self, name: str) -> Slot | None:
        wanted = name.strip().lower().replace("-", "_").replace(" ", "_")
        return next((s for s in self.slots if s.name == wanted), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "keywords": list(self.keywords),
            "main": self.main,
            "files": list(self.files),
            "slots": [s.to_dict() for s in self.slots],
        }


@dataclass(frozen=True, slots=True)
class Kit:
    """A validated kit with its files' text (theme.css included)."""

    manifest: KitManifest
    files: Mapping[str, str] = field(default_factory=dict)  # read-only: kits are cached

    @property
    def name(self) -> str:
        return self.manifest.name


def _parse_slot(kit: str, raw: object) -> Slot:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise KitError(f"Kit {kit!r} is damaged: a slot has no name.")
    name, kind = raw["name"], raw.get("kind")
    if kind not in ("text", "number", "list", "color"):
        raise KitError(f"Kit {kit!r} is damaged: slot {name!r} has unknown kind {kind!r}.")
    if kind == "color" and name not in COLOR_SLOTS:
        raise KitError(f"Kit {kit!r} is damaged: colour slot {name!r} is not accent/background.")
    if kind in ("text", "list", "number") and not isinstance(raw.get("max"), int | float):
        raise KitError(f"Kit {kit!r} is damaged: slot {name!r} has no 'max'.")
    if kind == "number" and not isinstance(raw.get("min"), int | float):
        raise KitError(f"Kit {kit!r} is damaged: slot {name!r} has no 'min'.")
    return Slot(
        name=name,
        kind=kind,
        about=str(raw.get("about", "")),
        max=raw.get("max"),
        min=raw.get("min"),
        integer=bool(raw.get("integer", False)),
        max_items=int(raw.get("max_items", 12)),
        min_items=int(raw.get("min_items", 1)),
    )


def parse_manifest(folder: str, text: str) -> KitManifest:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise KitError(f"Kit {folder!r} is damaged: kit.json is not valid JSON ({exc}).") from exc
    if not isinstance(raw, dict):
        raise KitError(f"Kit {folder!r} is damaged: kit.json is not an object.")
    for key in ("name", "title", "summary", "main"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise KitError(f"Kit {folder!r} is damaged: kit.json has no {key!r}.")
    if raw["name"] != folder:
        raise KitError(f"Kit {folder!r} is damaged: kit.json names it {raw['name']!r}.")
    files = raw.get("files")
    if not isinstance(files, list) or raw["main"] not in files:
        raise KitError(f"Kit {folder!r} is damaged: 'files' must list the main page.")
    slots = tuple(_parse_slot(folder, s) for s in raw.get("slots", []))
    presets = []
    for preset in raw.get("presets", []):
        when, values = preset.get("when"), preset.get("values")
        if not isinstance(when, list) or not when or not isinstance(values, dict):
            raise KitError(f"Kit {folder!r} is damaged: a preset needs 'when' and 'values'.")
        presets.append(Preset(tuple(str(w).lower() for w in when), values))
    if not any(s.name == "title" and s.kind == "text" for s in slots):
        raise KitError(f"Kit {folder!r} is damaged: it has no 'title' text slot.")
    return KitManifest(
        name=folder,
        title=raw["title"].strip(),
        summary=raw["summary"].strip(),
        keywords=tuple(str(k).lower() for k in raw.get("keywords", [])),
        main=raw["main"],
        files=tuple(str(f) for f in files),
        slots=slots,
        presets=tuple(presets),
    )
