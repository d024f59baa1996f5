"""Starter kits: small, working apps that a Build starts from (`kits/data/<name>/`).

A kit is a folder of plain files (`index.html`, `style.css`, `app.js`) and a manifest,
`kit.json`, that names it, says what it is for, and lists its slots: the texts, numbers,
lists and colours a build may change. Every project also gets the shared `theme.css`
(`kits/data/_theme/`), so all kits share one design system and one colour mechanism.

Where a slot's value lives (the files are the only record of it, so restoring a version
restores the values too):
- `text`: the text of every element carrying `data-slot="NAME"`, or the attribute ATTR
  of every element carrying `data-slot-ATTR="NAME"`;
- `number`, `list`: key NAME of the JSON in `<script type="application/json" id="kit-data">`,
  which `app.js` reads;
- `color`: `accent` or `background`, in the `kit:colors` block at the end of `theme.css`.

Kits are validated when loaded, so a damaged folder is a clear `KitError`, never a broken
project.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType

from gemma_chat.errors import KitError
from gemma_chat.kits.manifest import (
    THEME_FILE,
    Kit,
    KitManifest,
    parse_manifest,
)
from gemma_chat.kits.slots import apply_values, check_kit


def _root() -> Traversable:
    return resources.files("gemma_chat.kits") / "data"


class KitLibrary:
    """The kits in a folder (the package's own by default)."""

    def __init__(self, root: Traversable | None = None) -> None:
        self.root = root if root is not None else _root()
        # Kits are read once: the matcher ranks every manifest on each request, and a
        # build loads its kit for start_from and again for its defaults.
        self._manifests: dict[str, KitManifest] = {}
        self._kits: dict[str, Kit] = {}
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        if self._names is None:
            self._names = sorted(
                entry.name
                for entry in self.root.iterdir()
                if entry.is_dir() and not entry.name.startswith(("_", "."))
            )
        return list(self._names)

    def manifests(self) -> list[KitManifest]:
        """Every kit whose manifest reads; a damaged one is left out (and fails on load)."""
        found = []
        for name in self.names():
            try:
                found.append(self.manifest(name))
            except KitError:
                continue
        return found

    def manifest(self, name: str) -> KitManifest:
        folder = self._folder(name)
        name = folder.name
        if name in self._manifests:
            return self._manifests[name]
        try:
            text = (folder / "kit.json").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KitError(f"Kit {name!r} is damaged: kit.json cannot be read.") from exc
        self._manifests[name] = parse_manifest(name, text)
        return self._manifests[name]

    def load(self, name: str) -> Kit:
        """The kit with its files, checked: every slot found in them, every file present."""
        manifest = self.manifest(name)
        folder = self._folder(name)
        name = folder.name
        if name in self._kits:
            return self._kits[name]
        files: dict[str, str] = {}
        for path in manifest.files:
            try:
                files[path] = (folder / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise KitError(f"Kit {name!r} is damaged: {path} is missing.") from exc
        try:
            files[THEME_FILE] = (self.root / "_theme" / THEME_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KitError("The kits' shared theme.css is missing.") from exc
        kit = Kit(manifest, MappingProxyType(files))
        check_kit(kit)
        self._kits[name] = kit
        return kit

    def _folder(self, name: str) -> Traversable:
        key = name.strip().lower()
        if key not in self.names():
            known = ", ".join(self.names())
            raise KitError(f"There is no kit called {name.strip()!r}. Kits: {known}, or blank.")
        return self.root / key


@cache
def default_library() -> KitLibrary:
    return KitLibrary()


def project_files(kit: Kit, values: dict[str, object] | None = None) -> dict[str, str]:
    """The files a project starting from `kit` gets, with `values` set in its slots."""
    files = dict(kit.files)
    if values:
        files.update(apply_values(kit.manifest, files, values))
    return files
