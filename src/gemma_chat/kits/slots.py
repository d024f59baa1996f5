"""Reading and changing a kit's slots in its files (see kits/library.py for where each lives).

Everything here is a pure function from file texts to file texts, so a change is checked
in full before anything is written, and a value over its limit changes nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from gemma_chat.errors import KitError
from gemma_chat.kits.colors import ColorError, palette, parse_color
from gemma_chat.kits.manifest import KIT_GENERATOR, THEME_FILE, Kit, KitManifest, Slot

_DATA_BLOCK = re.compile(
    r'(<script type="application/json" id="kit-data">)(.*?)(</script>)', re.DOTALL
)
_COLORS_BLOCK = re.compile(r"(/\* kit:colors \*/\n)(.*?)(/\* end kit:colors \*/)", re.DOTALL)
_GENERATOR = re.compile(
    r'<meta name="generator" content="' + re.escape(KIT_GENERATOR) + r'([\w-]+)"'
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
COLOR_TOKENS = {"accent": "--accent", "background": "--bg"}


class SlotError(ValueError):
    """A value a slot cannot take, or a slot the files no longer have."""


def _text_pattern(name: str) -> re.Pattern[str]:
    """An element whose whole text is the slot (no child elements, by kit rule)."""
    return re.compile(
        r'(<(?P<tag>[a-zA-Z][\w-]*)\b[^>]*?\sdata-slot="' + re.escape(name) + r'"[^>]*>)'
        r"(?P<inner>[^<]*)(</(?P=tag)>)"
    )


def _attr_tag_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        r'<[a-zA-Z][\w-]*\b[^>]*?\sdata-slot-(?P<attr>[\w-]+)="' + re.escape(name) + r'"[^>]*>'
    )


def kit_name_of(files: Mapping[str, str], main: str = "index.html") -> str | None:
    """The kit a project started from, from the generator tag its main page carries."""
    match = _GENERATOR.search(files.get(main, ""))
    return match.group(1) if match else None


def _html_files(manifest: KitManifest, files: Mapping[str, str]) -> list[str]:
    return [p for p in manifest.files if p.endswith(".html") and p in files]


def _data(manifest: KitManifest, files: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    for path in _html_files(manifest, files):
        match = _DATA_BLOCK.search(files[path])
        if match:
            try:
                data = json.loads(match.group(2))
            except ValueError as exc:
                raise SlotError(f"The kit data in {path} is not valid JSON any more.") from exc
            if isinstance(data, dict):
                return path, data
    raise SlotError("The project's pages no longer have their kit data block.")


def read_values(manifest: KitManifest, files: Mapping[str, str]) -> dict[str, Any]:
    """Each slot's current value; a slot the files lost is left out."""
    values: dict[str, Any] = {}
    data: dict[str, Any] | None = None
    for slot in manifest.slots:
        if slot.kind == "text":
            found = _read_text(slot, manifest, files)
            if found is not None:
                values[slot.name] = found
        elif slot.kind == "color":
            values[slot.name] = _read_colors(files).get(slot.name, "")
        else:
            if data is None:
                try:
                    data = _data(manifest, files)[1]
                except SlotError:
                    data = {}
            if slot.name in data:
                values[slot.name] = data[slot.name]
    return values


def _read_text(slot: Slot, manifest: KitManifest, files: Mapping[str, str]) -> str | None:
    for path in _html_files(manifest, files):
        match = _text_pattern(slot.name).search(files[path])
        if match:
            return html.unescape(match.group("inner")).strip()
        tag = _attr_tag_pattern(slot.name).search(files[path])
        if tag:
            attr = re.search(r"\s" + re.escape(tag.group("attr")) + r'="([^"]*)"', tag.group(0))
            if attr:
                return html.unescape(attr.group(1))
    return None


def _read_colors(files: Mapping[str, str]) -> dict[str, str]:
    match = _COLORS_BLOCK.search(files.get(THEME_FILE, ""))
    if not match:
        return {}
    found = re.search(r"/\* chosen: (.*?) \*/", match.group(2))
    if not found:
        return {}
    pairs = (part.split("=", 1) for part in found.group(1).split(";") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def coerce(slot: Slot, value: object) -> Any:
    """The value a slot stores, from model text or JSON; SlotError says the limit."""
    if slot.kind == "text":
        text = _CONTROL.sub("", str(value)).replace("\n", " ").strip()
        if not text:
            raise SlotError(f"{slot.name} cannot be empty.")
        if len(text) > int(slot.max or 0):
            raise SlotError(
                f"{slot.name} is {len(text)} characters; the limit is {int(slot.max or 0)}."
            )
        return text
    if slot.kind == "number":
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            raise SlotError(f"{slot.name} must be {slot.limits()}, not {value!r}.") from None
        if slot.integer and not number.is_integer():
            raise SlotError(f"{slot.name} must be a whole number, not {value!r}.")
        low, high = float(slot.min or 0), float(slot.max or 0)
        if not low <= number <= high:
            raise SlotError(f"{slot.name} must be {slot.limits()}, not {value!r}.")
        return int(number) if slot.integer or number.is_integer() else number
    if slot.kind == "list":
        if isinstance(value, list | tuple):
            items = [str(v) for v in value]
        else:
            items = str(value).split("\n")
        cleaned = [_CONTROL.sub("", _LIST_MARK.sub("", item)).strip() for item in items]
        cleaned = [item for item in cleaned if item]
        if not slot.min_items <= len(cleaned) <= slot.max_items:
            raise SlotError(
                f"{slot.name} needs {slot.min_items} to {slot.max_items} items, not {len(cleaned)}."
            )
        for item in cleaned:
            if len(item) > int(slot.max or 0):
                raise SlotError(
                    f"An item of {slot.name} is {len(item)} characters; the limit is "
                    f"{int(slot.max or 0)}: {item[:40]!r}…"
                )
        return cleaned
    try:
        return parse_color(str(value))
    except ColorError as exc:
        raise SlotError(str(exc)) from None


def apply_values(
    manifest: KitManifest, files: Mapping[str, str], values: Mapping[str, object]
) -> dict[str, str]:
    """The files that change (path -> new text) when `values` are set; nothing is written.

    Raises SlotError for an unknown slot, a value over its limit, or a slot the files
    no longer carry (a larger model may have rewritten them).
    """
    changed = dict(files)
    colors: dict[str, str] = {}
    data_updates: dict[str, Any] = {}
    for name, raw in values.items():
        slot = manifest.slot(name)
        if slot is None:
            names = ", ".join(s.name for s in manifest.slots)
            raise SlotError(f"The {manifest.title} kit has no slot {name!r}. Its slots: {names}.")
        value = coerce(slot, raw)
        if slot.kind == "text":
            _set_text(slot, value, manifest, changed)
        elif slot.kind == "color":
            colors[slot.name] = value
        else:
            data_updates[slot.name] = value
    if data_updates:
        _set_data(manifest, changed, data_updates)
    if colors:
        _set_colors(changed, colors)
    return {path: text for path, text in changed.items() if files.get(path) != text}


def _set_text(slot: Slot, value: str, manifest: KitManifest, files: dict[str, str]) -> None:
    hits = 0
    escaped = html.escape(value, quote=False)
    quoted = html.escape(value, quote=True)
    for path in _html_files(manifest, files):
        text = files[path]
        text, count = _text_pattern(slot.name).subn(
            lambda m: m.group(1) + escaped + m.group(4), text
        )
        hits += count

        def set_attr(match: re.Match[str]) -> str:
            attr = re.escape(match.group("attr"))
            return re.sub(
                r"(\s" + attr + r'=")[^"]*(")',
                lambda a: a.group(1) + quoted + a.group(2),
                match.group(0),
                count=1,
            )

        text, count = _attr_tag_pattern(slot.name).subn(set_attr, text)
        hits += count
        files[path] = text
    if not hits:
        raise SlotError(f"The pages no longer show the {slot.name} slot; edit the files instead.")


def _set_data(manifest: KitManifest, files: dict[str, str], updates: dict[str, Any]) -> None:
    path, data = _data(manifest, files)
    data.update(updates)
    # `<` escaped so no value can close the script element early.
    encoded = json.dumps(data, indent=2, ensure_ascii=False).replace("<", "\\u003c")
    files[path] = _DATA_BLOCK.sub(
        lambda m: m.group(1) + "\n" + encoded + "\n" + m.group(3), files[path], count=1
    )


def _set_colors(files: dict[str, str], updates: dict[str, str]) -> None:
    theme = files.get(THEME_FILE)
    if theme is None or not _COLORS_BLOCK.search(theme):
        raise SlotError("theme.css no longer has its colour block; edit the CSS instead.")
    chosen = {**_read_colors(files), **updates}
    tokens = palette(chosen.get("background") or None, chosen.get("accent") or None)
    record = "; ".join(f"{k}={v}" for k, v in sorted(chosen.items()))
    body = "".join(f"  {name}: {value};\n" for name, value in tokens.items())
    # Three :root classes outrank the theme's light/dark rules, so the choice holds in both.
    block = f"/* chosen: {record} */\n:root:root:root {{\n{body}}}\n"
    files[THEME_FILE] = _COLORS_BLOCK.sub(lambda m: m.group(1) + block + m.group(3), theme)


def check_kit(kit: Kit) -> None:
    """A kit's slots must all be found in its files, and its files name no others."""
    manifest, files = kit.manifest, kit.files
    name = manifest.name
    main = files.get(manifest.main, "")
    if kit_name_of(files, manifest.main) != name:
        raise KitError(f"Kit {name!r} is damaged: {manifest.main} lacks its generator tag.")
    if "/* kit:colors */" not in files.get(THEME_FILE, ""):
        raise KitError("The kits' shared theme.css has no kit:colors block.")
    if "theme.css" not in main:
        raise KitError(f"Kit {name!r} is damaged: {manifest.main} does not link theme.css.")
    declared = {s.name for s in manifest.slots}
    used: set[str] = set()
    for path in _html_files(manifest, files):
        used |= set(re.findall(r'\sdata-slot(?:-[\w-]+)?="([\w-]+)"', files[path]))
    if used - declared:
        raise KitError(f"Kit {name!r} is damaged: undeclared slots {sorted(used - declared)}.")
    values = read_values(manifest, files)
    for slot in manifest.slots:
        if slot.kind != "color" and slot.name not in values:
            raise KitError(f"Kit {name!r} is damaged: slot {slot.name!r} is not in its files.")
        if slot.kind != "color":
            try:
                coerce(slot, values[slot.name])
            except SlotError as exc:
                raise KitError(f"Kit {name!r} is damaged: its default {exc}") from None
    for preset in manifest.presets:
        try:
            apply_values(manifest, files, preset.values)
        except SlotError as exc:
            raise KitError(f"Kit {name!r} is damaged: a preset: {exc}") from None
