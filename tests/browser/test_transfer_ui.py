"""Export and import in the browser: the header's Export menu (Markdown, JSON) by mouse and
keyboard, "Export all data" and "Import…" in the sidebar, the result toast; at 1440×900
and 390×844, light and dark. Screenshots go to /tmp/shots/D/ for a person to look at."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import authed
from tests.chromium import sign_in, watch_errors

SHOTS = Path("/tmp/shots/D")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
TITLE = "Trip to Lisbon ✓"


@pytest.fixture
def open_page(browser: Browser) -> Iterator:  # type: ignore[type-arg]
    made: list = []

    def make(size: dict, scheme: str = "light") -> Page:  # type: ignore[type-arg]
        context = browser.new_context(color_scheme=scheme, accept_downloads=True, **size)
        page = context.new_page()
        page.set_default_timeout(15_000)
        made.append((context, watch_errors(page)))
        return page

    yield make
    for context, errors in made:
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let the pop-in animations finish
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def conversation_with_a_reply(server) -> dict:  # type: ignore[no-untyped-def]
    conv = authed.post(f"{server.url}/api/conversations", json={"title": TITLE}).json()
    url = f"{server.url}/api/conversations/{conv['id']}/messages"
    with authed.stream("POST", url, json={"content": "Three things to see?"}, timeout=30) as r:
        for _ in r.iter_lines():
            pass
    return conv


def test_export_menu_by_keyboard_and_mouse(start_server, replay_file, open_page) -> None:
    server = start_server(replay_file("Belém, Alfama and the LX Factory."))
    conv = conversation_with_a_reply(server)
    page = open_page(DESKTOP)
    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    expect(page.locator('[data-role="assistant"]').last).to_contain_text("Belém")
    button = page.get_by_test_id("export-button")
    menu = page.get_by_test_id("export-menu")
    expect(button).to_be_visible()
    expect(menu).to_be_hidden()

    # Keyboard: Enter opens the menu on its first item, arrows move, Escape goes back.
    button.focus()
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(page.get_by_test_id("export-md")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("export-json")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("export-md")).to_be_focused()
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == f"{TITLE}.md"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith(f"# {TITLE}\n") and "Belém, Alfama" in text
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"Exported “{TITLE}” as Markdown")
    expect(toast).to_have_attribute("data-kind", "info")

    # Mouse: JSON.
    button.click()
    with page.expect_download() as info:
        page.get_by_test_id("export-json").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert data["conversation"]["title"] == TITLE
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]

    # A click elsewhere closes the menu; a new chat has nothing to export.
    button.click()
    expect(menu).to_be_visible()
    page.locator("#thread-scroll").click(position={"x": 5, "y": 5})
    expect(menu).to_be_hidden()
    page.get_by_test_id("new-chat").click()
    expect(button).to_be_hidden()


def test_import_and_export_all_from_the_sidebar(start_server, replay_file, open_page) -> None:
    server = start_server(replay_file("Hi."))
    conversation_with_a_reply(server)
    page = open_page(DESKTOP)
    sign_in(page, server)
    page.goto(server.url)
    expect(page.get_by_test_id("import-button")).to_be_visible()

    # Export all data: the browser downloads the archive.
    with page.expect_download() as info:
        page.get_by_test_id("export-all").click()
    download = info.value
    assert download.suggested_filename.startswith("gemma-chat-export-")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as zf:
        assert json.loads(zf.read("manifest.json"))["counts"]["conversations"] == 1

    # Import a ChatGPT export: the toast reports it, the list has it, it opens.
    page.get_by_test_id("import-input").set_input_files(
        str(FIXTURES / "chatgpt_conversations.json")
    )
    toast = page.locator("#toast")
    expect(toast).to_contain_text("Imported 2 conversations (6 messages).")
    expect(toast).to_contain_text(
        "Skipped 3 items: 2 tool steps in 'Sourdough starter help' (searches, code runs and"
        " other tool calls are not imported), and 2 more."
    )
    expect(toast).to_have_attribute("data-kind", "info")
    listed = page.get_by_test_id("conversation-list")
    expect(listed).to_contain_text("Sourdough starter help")
    expect(listed).to_contain_text("What is in this photo?")
    expect(page.locator("#conv-heading")).to_have_text("Sourdough starter help")
    expect(page.locator('[data-role="assistant"]').first).to_contain_text("acetone")

    # A file that is no export: the server's reason, as an error.
    page.get_by_test_id("import-input").set_input_files(
        files=[{"name": "notes.json", "mimeType": "application/json", "buffer": b'{"a": 1}'}]
    )
    expect(toast).to_contain_text("Couldn't import notes.json: This JSON is not a format")
    expect(toast).to_have_attribute("data-kind", "error")

    # Keyboard: Import… and Export all data are reached by Tab, with a visible focus ring.
    page.get_by_test_id("export-all").focus()
    page.keyboard.press("Shift+Tab")
    importer = page.get_by_test_id("import-button")
    expect(importer).to_be_focused()
    ring = importer.evaluate(
        "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth"
    )
    assert ring.startswith("solid") and not ring.endswith(" 0px"), ring
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("export-all")).to_be_focused()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_transfer_ui_at_both_sizes_and_themes(
    start_server, replay_file, open_page, size: str, scheme: str
) -> None:
    server = start_server(replay_file("Belém, Alfama and the LX Factory."))
    conv = conversation_with_a_reply(server)
    page = open_page(PHONE if size == "phone" else DESKTOP, scheme)
    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    theme = page.evaluate("document.documentElement.dataset.theme")
    assert theme == scheme
    button = page.get_by_test_id("export-button")
    expect(button).to_be_visible()
    box = button.bounding_box()
    width = 390 if size == "phone" else 1440
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    button.click()
    menu = page.get_by_test_id("export-menu")
    expect(menu).to_be_visible()
    menu_box = menu.bounding_box()
    assert menu_box and menu_box["x"] >= 0 and menu_box["x"] + menu_box["width"] <= width
    shot(page, f"export-menu-{size}-{scheme}")
    page.keyboard.press("Escape")

    if size == "phone":
        page.locator("#sidebar-toggle").click()
    importer = page.get_by_test_id("import-button")
    expect(importer).to_be_visible()
    page.get_by_test_id("import-input").set_input_files(str(FIXTURES / "open_webui_chats.json"))
    expect(page.locator("#toast")).to_contain_text("Imported 2 conversations")
    backdrop = page.locator("#backdrop")
    if size == "phone" and backdrop.is_visible():
        backdrop.click(position={"x": 370, "y": 400})  # the sidebar covers the left side
        expect(backdrop).to_be_hidden()
    for name in ("import-button", "export-all"):
        data_box = page.get_by_test_id(name).bounding_box()
        assert data_box is None or data_box["x"] + data_box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"import-toast-{size}-{scheme}")
    if size == "phone":
        page.locator("#sidebar-toggle").click()
        expect(importer).to_be_visible()
        shot(page, f"sidebar-data-{size}-{scheme}")
