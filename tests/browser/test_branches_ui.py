"""Branches in the browser (issue 14: feature 2, defect 6).

Retry keeps the earlier reply as an alternative ("‹ 2 / 2 ›", back to "1 / 2" shows it
again); Edit marks the message being edited and says over the composer that sending starts
a new branch; Esc and Cancel leave edit mode. At 1440×900 and 390×844 (touch), light and
dark. Screenshots go to /tmp/shots/branches/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests import authed
from tests.chromium import watch_errors

SHOTS = Path("/tmp/shots/branches")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
REPLIES = "First answer.\n=== turn ===\nSecond answer.\n=== turn ===\nThird answer."


@pytest.fixture
def open_page(browser: Browser) -> Iterator:  # type: ignore[type-arg]
    made: list = []

    def make(size: dict, scheme: str) -> Page:  # type: ignore[type-arg]
        context = browser.new_context(color_scheme=scheme, **size)
        page = context.new_page()
        page.set_default_timeout(15_000)
        made.append((context, watch_errors(page)))
        return page

    yield make
    for context, errors in made:
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def content(page: Page, role: str) -> Locator:
    return messages(page, role).get_by_test_id("message-content")


def count(message: Locator) -> Locator:
    return message.get_by_test_id("branch-count")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_retry_and_edit_keep_alternatives(
    start_server, replay_file, open_page, size: str, scheme: str
) -> None:
    server = start_server(replay_file(REPLIES))
    page = open_page(PHONE if size == "phone" else DESKTOP, scheme)
    page.goto(server.open_url)
    box = page.get_by_test_id("composer-input")
    box.fill("Original question")
    box.press("Enter")
    reply = messages(page, "assistant")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.get_by_test_id("branch-nav")).to_be_hidden()  # one reply: no arrows

    # Retry: a second reply, and the first is kept as alternative 1 of 2.
    reply.hover()
    reply.get_by_test_id("regenerate").click()
    expect(content(page, "assistant")).to_have_text("Second answer.")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(count(reply)).to_have_attribute("data-label", "2 / 2")
    nav = reply.get_by_test_id("branch-nav")
    expect(nav).to_be_visible()
    expect(nav).to_have_accessible_name("Alternative 2 of 2")
    expect(reply.get_by_test_id("branch-next")).to_be_disabled()
    shot(page, f"retry-2of2-{size}-{scheme}")

    reply.get_by_test_id("branch-prev").click()
    expect(content(page, "assistant")).to_have_text("First answer.")
    reply = messages(page, "assistant")
    expect(count(reply)).to_have_attribute("data-label", "1 / 2")
    # The focus stays on the arrows (the one that can still go): the keyboard can go back.
    expect(reply.get_by_test_id("branch-next")).to_be_focused()
    page.keyboard.press("Enter")
    expect(content(page, "assistant")).to_have_text("Second answer.")
    expect(count(messages(page, "assistant"))).to_have_attribute("data-label", "2 / 2")
    expect(messages(page, "assistant").get_by_test_id("branch-prev")).to_be_focused()
    page.keyboard.press("Enter")
    expect(content(page, "assistant")).to_have_text("First answer.")

    # Edit: the message is marked, the composer says what sending does.
    user = messages(page, "user")
    user.hover()
    user.get_by_test_id("edit-message").click()
    expect(box).to_have_value("Original question")
    expect(user).to_have_class(re.compile(r"\bediting\b"))
    expect(user.get_by_test_id("editing-tag")).to_be_visible()
    banner = page.get_by_test_id("edit-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Sending starts a new branch; the current one stays as 1 / 2")
    shot(page, f"editing-{size}-{scheme}")
    box.press("Escape")
    expect(banner).to_be_hidden()
    expect(user).not_to_have_class(re.compile(r"\bediting\b"))
    expect(user.get_by_test_id("editing-tag")).to_be_hidden()
    expect(box).to_have_value("")

    # Cancel leaves edit mode too.
    user.hover()
    user.get_by_test_id("edit-message").click()
    expect(banner).to_be_visible()
    banner.get_by_test_id("edit-cancel").click()
    expect(banner).to_be_hidden()
    expect(user).not_to_have_class(re.compile(r"\bediting\b"))

    # Sending the edit: a new branch from that message; the old one stays as 1 / 2.
    user.hover()
    user.get_by_test_id("edit-message").click()
    box.fill("Edited question")
    box.press("Enter")
    expect(banner).to_be_hidden()
    expect(content(page, "user")).to_have_text("Edited question")
    expect(content(page, "assistant")).to_have_text("Third answer.")
    expect(messages(page, "assistant")).to_have_attribute("data-status", "complete")
    user = messages(page, "user")
    expect(count(user)).to_have_attribute("data-label", "2 / 2")
    expect(user).not_to_have_class(re.compile(r"\bediting\b"))
    shot(page, f"edited-{size}-{scheme}")
    user.get_by_test_id("branch-prev").click()
    expect(content(page, "user")).to_have_text("Original question")
    expect(content(page, "assistant")).to_have_text("First answer.")
    expect(count(messages(page, "assistant"))).to_have_attribute("data-label", "1 / 2")
    expect(count(messages(page, "user"))).to_have_attribute("data-label", "1 / 2")

    # A reload shows the same branch (the choice is stored).
    page.reload()
    expect(content(page, "user")).to_have_text("Original question")
    expect(content(page, "assistant")).to_have_text("First answer.")
    listed = authed.get(f"{server.url}/api/conversations").json()["conversations"]
    assert len(listed) == 1  # branches are one conversation in the sidebar
    expect(page.locator('[data-testid="conv-item"], .conv-item')).to_have_count(1)


def test_a_search_match_on_another_branch_shows_that_branch(
    start_server, replay_file, open_page
) -> None:
    server = start_server(replay_file("Albatross answer.\n=== turn ===\nPetrel answer."))
    page = open_page(DESKTOP, "light")
    page.goto(server.open_url)
    box = page.get_by_test_id("composer-input")
    box.fill("Name a seabird")
    box.press("Enter")
    reply = messages(page, "assistant")
    expect(reply).to_have_attribute("data-status", "complete")
    reply.hover()
    reply.get_by_test_id("regenerate").click()
    expect(content(page, "assistant")).to_have_text("Petrel answer.")
    expect(reply).to_have_attribute("data-status", "complete")

    page.get_by_test_id("sidebar-search").press_sequentially("albatr", delay=40)
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    results.first.locator("a").click()
    expect(content(page, "assistant")).to_have_text("Albatross answer.")
    expect(messages(page, "assistant")).to_have_class(re.compile(r"\bfound\b"))
    expect(count(messages(page, "assistant"))).to_have_attribute("data-label", "1 / 2")


BUILD = """Writing it.
<action name="write_file">
<path>index.html</path>
<content>
<h1>First page</h1>
</content>
</action>
=== turn ===
Done: the first page.
=== turn ===
Writing another.
<action name="write_file">
<path>index.html</path>
<content>
<h1>Second page</h1>
</content>
</action>
=== turn ===
Done: the second page.
"""


def test_build_switching_says_it_restores_the_files(start_server, replay_file, open_page) -> None:
    server = start_server(replay_file(BUILD))
    page = open_page(DESKTOP, "dark")
    conv = authed.post(f"{server.url}/api/conversations", json={"mode": "build"}).json()["id"]
    page.goto(server.open_url)
    page.goto(f"{server.url}/#/c/{conv}")
    box = page.get_by_test_id("composer-input")
    box.fill("Make a greeting page")
    box.press("Enter")
    reply = messages(page, "assistant")
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    reply.hover()
    reply.get_by_test_id("regenerate").click()
    expect(content(page, "assistant")).to_contain_text("Done: the second page.")
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    page_file = f"{server.url}/api/conversations/{conv}/files/index.html"
    assert "Second page" in authed.get(page_file).text

    prev = reply.get_by_test_id("branch-prev")
    expect(prev).to_have_attribute("title", "Previous alternative (restores its files)")
    prev.click()
    reply = messages(page, "assistant")
    expect(content(page, "assistant")).to_contain_text("Done: the first page.")
    expect(reply.get_by_test_id("branch-note")).to_have_text("Restored this branch's files")
    assert "First page" in authed.get(page_file).text
    # The preview shows the restored files too, not only the disk.
    preview = page.frame_locator('[data-testid="preview-frame"]')
    expect(preview.locator("h1")).to_have_text("First page")
    shot(page, "build-switched-desktop-dark")

    user = messages(page, "user")
    user.hover()
    user.get_by_test_id("edit-message").click()
    expect(page.get_by_test_id("edit-banner")).to_contain_text(
        "The files go back to before this message first."
    )
