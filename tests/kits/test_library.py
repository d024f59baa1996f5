"""Every starter kit: a valid manifest, its slots found in its files, and bad kits refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gemma_chat.errors import KitError
from gemma_chat.kits import (
    KitLibrary,
    SlotError,
    apply_values,
    default_library,
    project_files,
    read_values,
)
from gemma_chat.kits.actions import set_slot, start_from
from gemma_chat.kits.manifest import THEME_FILE
from gemma_chat.kits.slots import coerce
from gemma_chat.workspace import Workspace

KITS = default_library().names()
# What people ask for first (the list); each must have a kit.
WANTED = {
    "counter", "todo", "stopwatch", "timer", "calculator", "converter", "tip-splitter", "quiz",
    "random-picker", "dice", "notes", "theme-switcher", "landing", "gallery", "form",
    "habit-tracker", "memory-game", "guessing-game", "drawing",
}  # fmt: skip


def test_the_library_covers_what_people_ask_for_first() -> None:
    assert len(KITS) >= 16
    assert set(KITS) >= WANTED


@pytest.mark.parametrize("name", KITS)
def test_kit_is_complete_and_its_defaults_fit_its_slots(name: str) -> None:
    kit = default_library().load(name)  # checks every slot is in the files
    manifest = kit.manifest
    assert manifest.main == "index.html" and THEME_FILE in kit.files
    slots = {s.name: s.kind for s in manifest.slots}
    assert slots["title"] == "text"
    assert slots["accent"] == "color" and slots["background"] == "color"
    assert len(manifest.keywords) >= 8, "the matcher needs words to find this kit"
    html = kit.files["index.html"]
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "viewport" in html and 'class="skip-link"' in html
    assert 'rel="icon" href="data:' in html, "an inline icon, or the browser asks for favicon.ico"
    for path, text in kit.files.items():
        # An SVG namespace names a URL but loads nothing; any other URL would.
        offline = re.sub(r"https?://www\.w3\.org/[\w/]*", "", text)
        for needle in ("http://", "https://", "//cdn", "@import url(", "fetch("):
            assert needle not in offline, f"{name}/{path} reaches the network: {needle}"
    values = read_values(manifest, kit.files)
    assert values["title"], "the title slot must hold the kit's title"


@pytest.mark.parametrize("name", KITS)
def test_every_slot_can_be_set_and_read_back(name: str) -> None:
    kit = default_library().load(name)
    values: dict[str, object] = {}
    for slot in kit.manifest.slots:
        if slot.kind == "text":
            values[slot.name] = "Ab <&> “x”"[: int(slot.max or 1)]
        elif slot.kind == "number":
            values[slot.name] = slot.max
        elif slot.kind == "list":
            values[slot.name] = [f"item {i}"[: int(slot.max or 1)] for i in range(slot.min_items)]
        else:
            values[slot.name] = "teal"
    files = project_files(kit, values)
    back = read_values(kit.manifest, files)
    for slot in kit.manifest.slots:
        if slot.kind == "color":
            assert back[slot.name] == "#0d9488"
        elif slot.kind == "number":
            assert float(back[slot.name]) == float(slot.max or 0)
        else:
            assert back[slot.name] == coerce(slot, values[slot.name])


def test_values_over_their_limits_change_nothing() -> None:
    kit = default_library().load("counter")
    for bad in ({"title": "x" * 41}, {"step": 0}, {"step": "many"}, {"accent": "blurple"}):
        with pytest.raises(SlotError):
            apply_values(kit.manifest, kit.files, bad)
    with pytest.raises(SlotError, match="no slot"):
        apply_values(kit.manifest, kit.files, {"nope": "x"})


def test_a_value_cannot_break_out_of_its_element_or_the_data_block() -> None:
    kit = default_library().load("random-picker")
    files = project_files(kit, {"title": "</title><script>alert(1)</script>"[:40]})
    assert "<script>alert" not in files["index.html"]
    list_slot = next(s for s in kit.manifest.slots if s.kind == "list")
    files = project_files(kit, {list_slot.name: ["</script><b>x", "two"]})
    assert "</script><b>" not in files["index.html"]
    assert read_values(kit.manifest, files)[list_slot.name][0] == "</script><b>x"


def _copy_library(tmp_path: Path) -> Path:
    root = tmp_path / "kits"
    shutil.copytree(default_library().root, root)  # type: ignore[arg-type]
    return root


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "kit.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "app.js").unlink(), "app.js is missing"),
        (
            lambda d: (d / "index.html").write_text(
                (d / "index.html").read_text().replace('data-slot="subtitle"', 'data-slot="x"')
            ),
            "undeclared slots",
        ),
        (
            lambda d: (d / "index.html").write_text(
                (d / "index.html").read_text().replace('"step": 1', '"stride": 1')
            ),
            "slot 'step' is not in its files",
        ),
        (
            lambda d: (d / "kit.json").write_text(
                (d / "kit.json")
                .read_text()
                .replace(
                    '"slots": [', '"presets": [{"when": ["x"], "values": {"step": 0}}], "slots": ['
                )
            ),
            "a preset: step must be",
        ),
    ],
)
def test_a_damaged_kit_is_a_clear_error_and_the_project_stays_empty(
    tmp_path: Path, damage, message: str
) -> None:
    root = _copy_library(tmp_path)
    damage(root / "counter")
    library = KitLibrary(root)
    with pytest.raises(KitError, match=message):
        library.load("counter")
    ws = Workspace(tmp_path / "project")
    with pytest.raises(KitError):
        start_from(ws, "counter", library)
    assert ws.list() == []


def test_start_from_needs_an_empty_project_and_a_real_kit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "project")
    with pytest.raises(KitError, match="no kit called 'spaceship'"):
        start_from(ws, "spaceship")
    started = start_from(ws, "Counter")
    assert started.kit is not None and sorted(started.written) == sorted(
        ["index.html", "style.css", "app.js", THEME_FILE]
    )
    before = {f.path: ws.read(f.path) for f in ws.list()}
    with pytest.raises(KitError, match="only works in an empty project"):
        start_from(ws, "todo")
    with pytest.raises(SlotError, match="limit is 40"):
        set_slot(ws, "title", "x" * 41)
    assert {f.path: ws.read(f.path) for f in ws.list()} == before


def test_set_slot_says_when_nothing_changed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "project")
    start_from(ws, "counter")
    assert set_slot(ws, "title", "Sheep").written == ["index.html"]
    again = set_slot(ws, "title", "Sheep")
    assert again.written == [] and again.message.startswith("No changes")


def test_a_project_not_started_from_a_kit_has_no_slots(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "project")
    ws.write("index.html", "<h1>Mine</h1>")
    with pytest.raises(SlotError, match="did not start from a kit"):
        set_slot(ws, "title", "x")
