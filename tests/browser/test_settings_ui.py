"""The settings panel (global and per chat), the theme switch, and Continue for a reply
that stopped at the length limit: a real server with a replay model, nothing stubbed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import authed

SHOTS = Path("/tmp/shots/settings")
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_global_settings(page: Page, size: str) -> None:
    if size == "phone":  # the gear is in the sidebar, off screen on a phone
        page.locator("#sidebar-toggle").click()
    gear = page.get_by_test_id("settings-button")
    gear.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    expect(page.get_by_test_id("settings-dialog")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_global_settings_and_theme(start_server, replay_file, page: Page, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    server = start_server(replay_file("Hi."))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    open_global_settings(page, size)
    dialog = page.get_by_test_id("settings-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Settings")

    # A value out of range: the server's reason shows in the panel, which stays open.
    dialog.get_by_test_id("setting-temperature").fill("2.5")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog.get_by_test_id("settings-error")).to_contain_text("temperature")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("setting-temperature").fill("0.5")
    dialog.get_by_test_id("setting-system_prompt").fill("Answer like a pirate.")
    dialog.get_by_test_id("setting-thinking").select_option("false")
    shot(page, f"global-{size}-light")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    saved = authed.get(f"{server.url}/api/settings").json()
    assert saved["temperature"] == 0.5 and saved["system_prompt"] == "Answer like a pirate."
    assert saved["thinking"] is False

    # Reset one field to its default.
    open_global_settings(page, size)
    expect(dialog.get_by_test_id("setting-temperature")).to_have_value("0.5")
    dialog.get_by_test_id("reset-temperature").click()
    expect(dialog.get_by_test_id("setting-temperature")).to_have_value("")
    expect(dialog.get_by_test_id("reset-temperature")).to_be_hidden()
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    assert authed.get(f"{server.url}/api/settings").json()["temperature"] is None

    # The theme: applied at once, kept across a reload, and there before the page draws.
    root = page.locator("html")
    page.emulate_media(color_scheme="light")
    expect(root).to_have_attribute("data-theme", "light")  # "system" follows the OS
    page.emulate_media(color_scheme="dark")
    expect(root).to_have_attribute("data-theme", "dark")
    open_global_settings(page, size)
    expect(dialog.get_by_test_id("theme-system")).to_be_checked()
    dialog.locator('label[for="theme-light"]').click()
    expect(root).to_have_attribute("data-theme", "light")  # the OS says dark: the choice wins
    shot(page, f"global-{size}-forced-light")
    dialog.locator('label[for="theme-dark"]').click()
    expect(root).to_have_attribute("data-theme", "dark")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(23, 24, 28)", bg
    shot(page, f"global-{size}-dark")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.emulate_media(color_scheme="light")
    page.reload()
    # Read at the first moment scripts can look: theme.js ran before the stylesheet drew.
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(root).to_have_attribute("data-theme", "dark")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_length_limit_and_continue(
    start_server, replay_file, page: Page, size: str, scheme: str
) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    server = start_server(replay_file("one two three four five\n=== turn ===\n six seven.", tps=40))
    authed.patch(f"{server.url}/api/settings", json={"max_tokens": 3})
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    box = page.get_by_test_id("composer-input")
    box.fill("Count")
    box.press("Enter")
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.get_by_test_id("message-content")).to_have_text("one two three")
    note = reply.get_by_test_id("length-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Stopped at the length limit")
    shot(page, f"length-{size}-{scheme}")

    page.reload()  # the stored reply still says so
    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    note = reply.get_by_test_id("length-note")
    expect(note).to_be_visible()
    button = reply.get_by_test_id("continue-reply")
    button.focus()
    page.keyboard.press("Enter")
    expect(reply.get_by_test_id("message-content")).to_have_text("one two three six seven.")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(note).to_be_hidden()
    expect(page.locator('[data-testid="message"]')).to_have_count(2)  # the same reply, longer
    shot(page, f"continued-{size}-{scheme}")


def test_chat_settings_for_one_conversation(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("Hi.\n=== turn ===\nAgain."))
    authed.patch(f"{server.url}/api/settings", json={"temperature": 0.3})
    page.goto(server.open_url)
    box = page.get_by_test_id("composer-input")
    box.fill("hello")
    box.press("Enter")
    expect(page.locator('[data-testid="message"][data-role="assistant"]')).to_have_attribute(
        "data-status", "complete"
    )
    page.get_by_test_id("chat-settings-button").click()
    dialog = page.get_by_test_id("settings-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Chat settings")
    expect(dialog.get_by_test_id("theme-switch")).to_be_hidden()  # the theme is global
    temperature = dialog.get_by_test_id("setting-temperature")
    expect(temperature).to_have_value("")
    expect(temperature).to_have_attribute("placeholder", "Default: 0.3")
    dialog.get_by_test_id("setting-max_tokens").fill("64")
    dialog.get_by_test_id("setting-thinking").select_option("true")
    shot(page, "chat-settings-desktop")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    conv_id = page.evaluate("decodeURIComponent(location.hash.split('/').pop())")
    data = authed.get(f"{server.url}/api/conversations/{conv_id}").json()
    assert data["settings"]["max_tokens"] == 64 and data["thinking"] is True
    assert data["settings"]["effective"]["temperature"] == 0.3
