"""Keyboard use in a real browser: the command palette (Ctrl/Cmd+K), the skip link, a
visible focus ring on every control Tab reaches (both themes), one format for shortcut
labels (Ctrl on Linux, ⌘ on a Mac), and no shortcuts button on a touch screen."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from gemma_chat.store import Database, Store
from gemma_chat.store.repository import Conversation, Message
from tests import authed
from tests.chromium import watch_errors

SHOTS = "/tmp/shots/keyboard"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def seed(db_path) -> None:  # type: ignore[no-untyped-def]
    """Three chats; only a message (not a title) of the third says 'albatross'."""
    now = datetime.now(UTC)
    items = []
    for n, (cid, title, text) in enumerate(
        [
            ("c_paris", "Paris trip plan", "What should I see in Paris?"),
            ("c_rust", "Rust borrow checker", "Why does the borrow checker complain?"),
            ("c_sea", "Sea birds", "The albatross glides for hours."),
        ]
    ):
        at = iso(now - timedelta(minutes=n + 1))
        msgs = [Message(f"m_{cid}", cid, "user", text, "complete", at)]
        items.append((Conversation(cid, title, "chat", "embedded", at, at), msgs))
    store = Store(Database(db_path))
    store.import_history(items)
    store.db.close()


def open_app(start_server, replay_file, page: Page):  # type: ignore[no-untyped-def]
    server = start_server(replay_file("Fine."))
    seed(server.settings.db_path)
    page.goto(server.open_url)
    expect(page.get_by_test_id("conversation-list").get_by_text("Sea birds")).to_be_visible()
    expect(page.get_by_test_id("model-pill")).to_have_attribute("data-state", "ready")
    return server


def palette_options(page: Page):
    return page.get_by_test_id("palette").get_by_role("option")


def test_palette_opens_filters_and_opens_a_conversation(
    start_server, replay_file, page: Page
) -> None:
    open_app(start_server, replay_file, page)
    page.get_by_test_id("composer-input").focus()
    page.keyboard.press("Control+K")
    palette = page.get_by_test_id("palette")
    expect(palette).to_be_visible()
    box = page.get_by_role("combobox")
    expect(box).to_be_focused()
    listbox = page.get_by_role("listbox")
    expect(box).to_have_attribute("aria-controls", listbox.get_attribute("id") or "?")
    expect(box).to_have_attribute("aria-expanded", "true")
    # With nothing typed: actions and recent chats.
    expect(palette_options(page).filter(has_text="New chat")).to_have_count(1)
    expect(palette_options(page).filter(has_text="Sea birds")).to_have_count(1)

    # Fuzzy-ish: "rbc" finds "Rust borrow checker" by its word starts, not Paris.
    box.fill("rbc")
    expect(palette_options(page).first).to_contain_text("Rust borrow checker")
    expect(palette_options(page).filter(has_text="Paris trip plan")).to_have_count(0)
    # The first option is the active one, announced through aria-activedescendant.
    first_id = palette_options(page).first.get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id or "?")
    expect(palette_options(page).first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(palette).to_be_hidden()
    expect(page).to_have_url(re.compile(r"#/c/c_rust$"))
    expect(page.locator("#conv-heading")).to_have_text("Rust borrow checker")

    # Full-text search through the server: the word is only in a message.
    page.keyboard.press("Control+K")
    box.fill("albatross")
    hit = palette_options(page).filter(has_text="Sea birds")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_text("albatross")  # the snippet, marked as text
    # Arrow keys move the active option; Enter opens it.
    for _ in range(palette_options(page).count()):
        if hit.get_attribute("aria-selected") == "true":
            break
        page.keyboard.press("ArrowDown")
    expect(hit).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/c_sea$"))

    # The mouse works too: hovering makes an option active, a click runs it.
    page.keyboard.press("Control+K")
    box.fill("paris")
    option = palette_options(page).filter(has_text="Paris trip plan")
    option.hover()
    expect(option).to_have_attribute("aria-selected", "true")
    option.click()
    expect(page).to_have_url(re.compile(r"#/c/c_paris$"))
    expect(palette).to_be_hidden()


def test_palette_switches_the_model_and_runs_actions(start_server, replay_file, page: Page) -> None:
    beta = replay_file("Beta answer.")
    server = start_server(replay_file("Alpha answer."))
    seed(server.settings.db_path)

    def with_beta(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch()
        body = response.json()
        body["models"].append(
            {
                "spec": beta,
                "name": "Beta replay",
                "source": "file",
                "installed": True,
                "loaded": False,
                "active": False,
            }
        )
        route.fulfill(response=response, json=body)

    page.route("**/api/models", with_beta)
    page.goto(f"{server.open_url}#/c/c_paris")
    expect(page.locator("#conv-heading")).to_have_text("Paris trip plan")
    expect(page.get_by_test_id("model-pill")).to_have_attribute("data-state", "ready")

    page.keyboard.press("Control+K")
    page.get_by_role("combobox").fill("beta rep")
    option = palette_options(page).filter(has_text="Beta replay")
    expect(option).to_have_attribute("data-kind", "model")
    expect(palette_options(page).first).to_have_attribute("data-kind", "model")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("palette")).to_be_hidden()
    expect(page.get_by_test_id("model-name")).to_contain_text("replay-")
    expect(page.get_by_test_id("model-pill")).to_have_attribute("data-state", "ready")
    assert authed.get(f"{server.url}/api/models").json()["active"] == beta
    conv = authed.get(f"{server.url}/api/conversations/c_paris").json()
    assert conv["model"] == beta

    # An action: the shortcuts list.
    page.keyboard.press("Control+K")
    page.get_by_role("combobox").fill("shortcuts")
    expect(palette_options(page).first).to_have_attribute("data-kind", "action")
    page.keyboard.press("Enter")
    expect(page.locator("#help-popover")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help-popover")).to_be_hidden()

    # "New chat" from the palette leaves the conversation.
    page.keyboard.press("Control+K")
    page.get_by_role("combobox").fill("new chat")
    expect(palette_options(page).first).to_contain_text("New chat")
    page.keyboard.press("Enter")
    expect(page.locator("#conv-heading")).to_have_text("New chat")
    expect(page.get_by_test_id("composer-input")).to_be_focused()

    # Esc closes and gives focus back to where it was.
    page.get_by_test_id("new-chat").focus()
    page.keyboard.press("Control+K")
    expect(page.get_by_role("combobox")).to_be_focused()
    page.get_by_role("combobox").fill("zzzzqqq")
    expect(page.get_by_test_id("palette-empty")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("palette")).to_be_hidden()
    expect(page.get_by_test_id("new-chat")).to_be_focused()
    # Reopened, it starts empty; Ctrl+K again closes it.
    page.keyboard.press("Control+K")
    expect(page.get_by_role("combobox")).to_have_value("")
    page.keyboard.press("Control+K")
    expect(page.get_by_test_id("palette")).to_be_hidden()
    expect(page.get_by_test_id("new-chat")).to_be_focused()


# Functions for page.evaluate (kept as JavaScript files beside this one).
CONTROLS = Path(__file__).with_name("keyboard_controls.js").read_text()
RING = Path(__file__).with_name("keyboard_ring.js").read_text()


def from_the_top(page: Page) -> None:
    """Focus nothing, with the next Tab starting at the top of the page (as after loading
    it from the address bar)."""
    page.evaluate(
        """() => {
          document.body.tabIndex = -1; // focusable for a moment, never by Tab
          document.body.focus();
          document.body.removeAttribute('tabindex');
        }"""
    )


def tab_through(page: Page) -> list[dict]:
    seen: list[dict] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        info = page.evaluate(RING)
        if info["isBody"] or (seen and info["name"] == seen[0]["name"]):
            break
        seen.append(info)
    return seen


def test_tab_reaches_every_control_with_a_clear_focus_ring_in_both_themes(
    start_server, replay_file, page: Page
) -> None:
    server = open_app(start_server, replay_file, page)
    page.set_viewport_size({"width": 1440, "height": 900})
    build = authed.post(f"{server.url}/api/conversations", json={"mode": "build"}).json()
    os.makedirs(SHOTS, exist_ok=True)
    # A chat with its message actions; a Build conversation with its canvas.
    for name, conv in (("chat", "c_rust"), ("build", build["id"])):
        page.goto(f"{server.url}/#/c/{conv}")
        if name == "chat":
            expect(page.locator("#conv-heading")).to_have_text("Rust borrow checker")
        else:
            expect(page.get_by_test_id("canvas-tab-preview")).to_be_visible()
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            from_the_top(page)
            found = page.evaluate(CONTROLS)
            assert not found["fake"], f"clickable but not a control: {found['fake']}"
            seen = tab_through(page)
            names = [s["name"] for s in seen]
            assert seen and seen[0]["tag"] == "A", names
            missing = [c for c in found["controls"] if c not in names]
            assert not missing, f"{name}: Tab never reached {missing}; it went {names}"
            faint = [s for s in seen if not s["best"] or s["best"]["ratio"] < 3]
            assert not faint, f"{name}, {scheme}: no clear focus ring on {faint}"
            # A picture of one ring (the model pill) to look at.
            page.get_by_test_id("model-pill").focus()
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Tab")
            page.screenshot(path=f"{SHOTS}/focus-{name}-{scheme}-1440.png")


def test_skip_link_is_first_and_jumps_to_the_message_box(
    start_server, replay_file, page: Page
) -> None:
    open_app(start_server, replay_file, page)
    from_the_top(page)
    page.keyboard.press("Tab")
    link = page.get_by_role("link", name="Skip to the message box")
    expect(link).to_be_focused()
    expect(link).to_be_in_viewport()
    page.screenshot(path=f"{SHOTS}/skip-link.png")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("composer-input")).to_be_focused()
    expect(link).not_to_be_in_viewport()  # off screen again once it loses focus


def kbd_texts(locator) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in locator.locator("kbd").all_inner_texts()]


def test_shortcut_labels_share_one_format(start_server, replay_file, page: Page) -> None:
    open_app(start_server, replay_file, page)
    assert kbd_texts(page.locator("#new-chat-keys")) == ["Ctrl", "Shift", "O"]
    assert page.get_by_test_id("new-chat").get_attribute("title") == "New chat (Ctrl+Shift+O)"
    pill = page.get_by_test_id("model-pill").get_attribute("title") or ""
    assert "Ctrl+Shift+M" in pill, pill
    help_items = page.locator("#shortcut-list li")
    expect(help_items.filter(has_text="New chat")).to_have_count(1)
    assert kbd_texts(help_items.filter(has_text="New chat")) == ["Ctrl", "Shift", "O"]
    assert kbd_texts(help_items.filter(has_text="Command palette")) == ["Ctrl", "K"]
    assert kbd_texts(help_items.filter(has_text="Save the file")) == ["Ctrl", "S"]
    assert page.get_by_test_id("send-button").get_attribute("title") == "Send (Enter)"
    page.keyboard.press("Control+K")
    action = palette_options(page).filter(has_text="New chat").first
    assert kbd_texts(action) == ["Ctrl", "Shift", "O"]
    page.keyboard.press("Escape")
    # Nowhere a Mac glyph, a "Ctrl/⌘" hedge, or a "Ctrl ⇧" mix on Linux.
    text = page.evaluate(
        """() => [document.body.innerText,
                  ...[...document.querySelectorAll('[title]')].map((e) => e.title)].join('\\n')"""
    )
    for bad in ("⇧", "⌘", "Ctrl/", "Cmd"):
        assert bad not in text, bad


def test_shortcut_labels_on_a_mac(start_server, replay_file, browser: Browser) -> None:
    server = start_server(replay_file("Fine."))
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'platform', { get: () => 'MacIntel' })"
    )
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(server.open_url)
    expect(page.locator("#new-chat-keys kbd")).to_have_count(3)
    assert kbd_texts(page.locator("#new-chat-keys")) == ["⌘", "⇧", "O"]
    assert page.get_by_test_id("new-chat").get_attribute("title") == "New chat (⌘⇧O)"
    save = page.locator("#shortcut-list li").filter(has_text="Save the file")
    assert kbd_texts(save) == ["⌘", "S"]
    assert "Ctrl" not in page.evaluate("document.body.innerText")
    page.keyboard.press("Meta+K")
    expect(page.get_by_test_id("palette")).to_be_visible()
    context.close()
    assert not errors, errors


def test_phone_has_a_palette_button_and_no_shortcuts_button(
    start_server, replay_file, browser: Browser
) -> None:
    server = start_server(replay_file("Fine."))
    seed(server.settings.db_path)
    os.makedirs(SHOTS, exist_ok=True)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(server.open_url)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(server.url)
        expect(page.get_by_test_id("model-pill")).to_have_attribute("data-state", "ready")
        assert page.evaluate("matchMedia('(hover: none)').matches")
        expect(page.locator("#help-button")).to_be_hidden()
        expect(page.locator("#composer-hint")).to_be_hidden()  # "Enter to send": no keys here
        button = page.get_by_test_id("palette-button")
        expect(button).to_be_visible()
        page.screenshot(path=f"{SHOTS}/header-{scheme}-390.png")
        button.tap()
        palette = page.get_by_test_id("palette")
        expect(palette).to_be_visible()
        palette.evaluate("el => Promise.all(el.getAnimations().map((a) => a.finished))")
        box = palette.bounding_box()
        assert box and box["x"] <= 0.5 and box["width"] >= 389, box
        # The shortcuts action is not offered where there is no keyboard to use them.
        page.get_by_role("combobox").fill("shortcuts")
        expect(page.get_by_test_id("palette-empty")).to_be_visible()
        page.get_by_role("combobox").fill("")
        expect(palette_options(page).filter(has_text="Sea birds")).to_have_count(1)
        page.screenshot(path=f"{SHOTS}/palette-{scheme}-390.png")
        palette_options(page).filter(has_text="Sea birds").tap()
        expect(page).to_have_url(re.compile(r"#/c/c_sea$"))
        expect(palette).to_be_hidden()
    context.close()
    assert not errors, errors


def test_palette_screenshots_at_desktop_size(start_server, replay_file, page: Page) -> None:
    open_app(start_server, replay_file, page)
    page.set_viewport_size({"width": 1440, "height": 900})
    os.makedirs(SHOTS, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.keyboard.press("Control+K")
        page.get_by_role("combobox").fill("ch")
        expect(palette_options(page).first).to_be_visible()
        page.keyboard.press("ArrowDown")
        page.screenshot(path=f"{SHOTS}/palette-{scheme}-1440.png")
        page.keyboard.press("Escape")


def test_palette_switches_the_theme(start_server, replay_file, page: Page) -> None:
    open_app(start_server, replay_file, page)
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.keyboard.press("Control+K")
    page.get_by_role("combobox").fill("dark theme")
    expect(palette_options(page).first).to_have_text("Switch to the dark theme")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.keyboard.press("Control+K")
    page.get_by_role("combobox").fill("theme")
    expect(palette_options(page).first).to_have_text("Switch to the light theme")
    page.keyboard.press("Escape")
