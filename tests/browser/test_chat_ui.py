"""The chat UI in a real browser against the real server (replay models, one embedded run)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests import authed
from tests.chromium import sign_in

STORY = " ".join(f"Word{i} of a long story." for i in range(300)) + " THE-END"


def messages(page: Page, role: str | None = None) -> Locator:
    selector = '[data-testid="message"]'
    if role:
        selector += f'[data-role="{role}"]'
    return page.locator(selector)


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def open_app(page: Page, server) -> None:
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")


def start_background_turn(server, conversation_id: str) -> None:
    """Start a turn from another client and hang up; the server keeps generating it."""
    url = f"{server.url}/api/conversations/{conversation_id}/messages"
    with authed.stream("POST", url, json={"content": "From elsewhere"}, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: turn.start"):
                break


def test_stream_stop_and_reload(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(STORY, tps=20))
    open_app(page, server)
    send(page, "Tell me a long story")

    expect(messages(page, "user")).to_have_text("Tell me a long story")
    reply = messages(page, "assistant").last
    content = reply.get_by_test_id("message-content")
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(content).to_contain_text("Word3 of a long story.")
    assert "THE-END" not in content.inner_text()  # partial text is visible before the end

    page.get_by_test_id("stop-button").click()
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply.get_by_test_id("status-badge")).to_have_text("Stopped")
    expect(page.get_by_test_id("send-button")).to_be_visible()
    expect(page.get_by_test_id("stop-button")).to_be_hidden()
    stopped_text = content.inner_text()
    page.wait_for_timeout(500)
    assert content.inner_text() == stopped_text  # nothing more arrives after Stop
    assert "THE-END" not in stopped_text

    page.reload()
    item = page.get_by_test_id("conversation-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Tell me a long story")
    expect(item).to_have_class(re.compile(r"\bactive\b"))  # the URL kept it open
    expect(messages(page)).to_have_count(2)
    reloaded = messages(page, "assistant")
    expect(reloaded).to_have_attribute("data-status", "interrupted")
    expect(reloaded.get_by_test_id("message-content")).to_contain_text("Word3 of a long story.")

    # From a fresh start, the sidebar entry opens the stored conversation.
    page.goto(server.open_url)
    expect(page.get_by_test_id("suggestion").first).to_be_visible()
    page.get_by_test_id("conversation-item").click()
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "user")).to_have_text("Tell me a long story")


MARKDOWN_REPLY = """\
## Plan

Some **bold** text, a [link](https://example.com) and `inline code`.

<script>window.__pwned = "script"</script>
<img src="x" onerror="window.__pwned = 'img'">
[click me](javascript:window.__pwned='link')

```python
def greet(name):
    return f"Hello, {name}!"
```

Done."""


def test_markdown_code_copy_and_sanitising(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(MARKDOWN_REPLY))
    open_app(page, server)
    send(page, "Show me markdown")

    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "complete")
    content = reply.get_by_test_id("message-content")
    expect(content.locator("h2")).to_have_text("Plan")
    expect(content.locator("strong")).to_have_text("bold")
    expect(content.locator('a[href="https://example.com"]')).to_have_attribute(
        "rel", "noopener noreferrer"
    )

    code = content.locator(".code-block code")
    expect(code).to_have_count(1)
    expect(code.locator(".hljs-keyword").first).to_have_text("def")  # highlighted
    content.get_by_test_id("copy-code").click()
    expect(content.get_by_test_id("copy-code")).to_contain_text("Copied")
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert clipboard == 'def greet(name):\n    return f"Hello, {name}!"'

    # The injected markup shows as text at most; none of it runs or becomes live elements.
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert content.locator("script, img, [onerror]").count() == 0
    assert content.locator('a[href^="javascript"]').count() == 0
    expect(content).to_contain_text('window.__pwned = "script"')
    content.get_by_text("click me").click()
    assert page.evaluate("window.__pwned") is None


def test_thinking_block_is_collapsible(start_server, replay_file, page: Page) -> None:
    thoughts = " ".join(f"step{i}" for i in range(80))
    server = start_server(replay_file(f"<think>{thoughts}</think>The answer is 42.", tps=25))
    open_app(page, server)
    send(page, "What is the answer?")

    reply = messages(page, "assistant").last
    block = reply.get_by_test_id("thinking-block")
    expect(block).to_contain_text("step2")
    expect(block).to_have_attribute("open", "")  # open while the model thinks
    expect(block).to_contain_text("Thinking")

    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(reply.get_by_test_id("message-content")).to_have_text("The answer is 42.")
    expect(block).not_to_have_attribute("open", "")  # folded away once done
    expect(block.locator("summary")).to_have_text(re.compile(r"Thought for \d+ s"))
    expect(block.locator(".thinking-content")).to_be_hidden()
    block.locator("summary").click()
    expect(block.locator(".thinking-content")).to_be_visible()
    expect(block.locator(".thinking-content")).to_contain_text("step79")

    page.reload()  # stored thinking comes back folded, with an estimated duration
    block = messages(page, "assistant").get_by_test_id("thinking-block")
    expect(block.locator("summary")).to_have_text(re.compile(r"Thought for"))
    expect(block).not_to_have_attribute("open", "")


def test_sidebar_rename_delete_and_filter(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(""))
    api = f"{server.url}/api/conversations"
    ids = {
        title: authed.post(api, json={"mode": "chat", "title": title}).json()["id"]
        for title in ("Apples", "Bananas", "Cherries")
    }
    open_app(page, server)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Cherries")  # newest first

    # The search box (Ctrl+K is the command palette now, test_keyboard_ui.py); the server
    # searches titles and messages as one types.
    page.get_by_test_id("sidebar-search").click()
    expect(page.get_by_test_id("sidebar-search")).to_be_focused()
    page.keyboard.type("ban")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Bananas")
    page.keyboard.press("Escape")
    expect(items).to_have_count(3)

    # Rename inline.
    apples = items.filter(has_text="Apples")
    apples.hover()
    apples.get_by_test_id("rename-conversation").click()
    field = page.get_by_test_id("rename-input")
    expect(field).to_be_focused()
    field.fill("Green apples")
    field.press("Enter")
    expect(items.filter(has_text="Green apples")).to_have_count(1)
    assert authed.get(f"{api}/{ids['Apples']}").json()["title"] == "Green apples"

    # Escape cancels a rename.
    cherries = items.filter(has_text="Cherries")
    cherries.hover()
    cherries.get_by_test_id("rename-conversation").click()
    page.get_by_test_id("rename-input").fill("Nope")
    page.get_by_test_id("rename-input").press("Escape")
    expect(items.filter(has_text="Cherries")).to_have_count(1)
    assert authed.get(f"{api}/{ids['Cherries']}").json()["title"] == "Cherries"

    # Delete asks first; Cancel keeps it, Delete removes it.
    bananas = items.filter(has_text="Bananas")
    bananas.click()
    expect(bananas).to_have_class(re.compile(r"\bactive\b"))
    bananas.get_by_test_id("delete-conversation").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(items).to_have_count(3)
    bananas.hover()
    bananas.get_by_test_id("delete-conversation").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Bananas")
    page.get_by_test_id("confirm-delete").click()
    expect(items).to_have_count(2)
    assert authed.get(f"{api}/{ids['Bananas']}").status_code == 404
    expect(page.get_by_test_id("suggestion").first).to_be_visible()  # back to a new chat


def test_enter_sends_and_shift_enter_adds_a_line(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("Got it."))
    open_app(page, server)
    box = page.get_by_test_id("composer-input")
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    box.press("Enter")  # empty: nothing happens
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    assert box.input_value() == "line one\nline two"
    expect(messages(page)).to_have_count(0)
    box_height = box.bounding_box()["height"]

    box.press("Enter")
    expect(messages(page, "user")).to_have_text("line one\nline two")
    expect(box).to_have_value("")
    expect(messages(page, "assistant")).to_have_attribute("data-status", "complete")
    expect(messages(page, "assistant").get_by_test_id("message-content")).to_have_text("Got it.")
    assert box.bounding_box()["height"] < box_height  # the box shrinks back when cleared


def test_http_errors_show_inline(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(STORY, tps=10))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat", "title": "Busy one"}).json()
    open_app(page, server)
    page.get_by_test_id("conversation-item").click()
    expect(page.get_by_test_id("composer-input")).to_be_visible()
    page.wait_for_url(re.compile(conv["id"]))

    # 409: another client starts a turn after this page loaded it as idle.
    start_background_turn(server, conv["id"])
    send(page, "Me too")
    banner = page.locator('.composer-wrap [data-testid="error-banner"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("still being generated")
    expect(page.get_by_test_id("composer-input")).to_have_value("Me too")  # text is kept
    authed.post(f"{api}/{conv['id']}/stop")

    # 404: the conversation was deleted behind the page's back.
    authed.delete(f"{api}/{conv['id']}")
    detail = authed.get(f"{api}/{conv['id']}").json()["detail"]
    page.get_by_test_id("composer-input").press("Enter")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(detail)  # the server's own message
    expect(messages(page, "assistant")).to_have_count(0)

    # Opening a missing conversation by URL also explains itself.
    page.goto(f"{server.url}/#/c/c_missing")
    expect(banner).to_contain_text("no longer exists")


def test_running_turn_is_shown_after_reload(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("Short reply from elsewhere. " * 8, tps=20))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    start_background_turn(server, conv["id"])

    sign_in(page, server)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    reply = messages(page, "assistant")
    expect(page.get_by_test_id("stop-button")).to_be_visible()
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(page.get_by_test_id("running-indicator")).to_have_count(0)
    expect(reply.get_by_test_id("message-content")).to_contain_text("Short reply from elsewhere.")
    expect(page.get_by_test_id("send-button")).to_be_visible()


def test_shortcuts_header_and_suggestions(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(STORY + "\n=== turn ===\nSecond answer.", tps=20))
    open_app(page, server)
    toggle = page.get_by_test_id("mode-toggle")
    expect(toggle.get_by_role("button", name="Chat")).to_have_attribute("aria-pressed", "true")
    build = toggle.locator('[data-mode="build"]')
    expect(build).not_to_have_attribute("aria-disabled", "true")  # the server does Build
    expect(build).to_have_attribute("aria-pressed", "false")

    # "/" focuses the composer when not typing elsewhere.
    page.locator("#conv-heading").click()
    page.keyboard.press("/")
    expect(page.get_by_test_id("composer-input")).to_be_focused()

    # A suggestion chip starts a conversation; Esc stops the stream.
    page.get_by_test_id("suggestion").first.click()
    reply = messages(page, "assistant").last
    expect(reply.get_by_test_id("message-content")).to_contain_text("Word1")
    page.keyboard.press("Escape")
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(page.get_by_test_id("conversation-item")).to_have_count(1)

    # Ctrl+Shift+O opens a new, empty chat.
    page.keyboard.press("Control+Shift+O")
    expect(messages(page)).to_have_count(0)
    expect(page.get_by_test_id("suggestion").first).to_be_visible()
    expect(page.get_by_test_id("composer-input")).to_be_focused()


@pytest.mark.slow
def test_embedded_model_replies_with_stats(start_server, page: Page) -> None:
    server = start_server("embedded")
    page.goto(server.open_url)
    send(page, "Say hello")
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "complete", timeout=180_000)
    content = reply.get_by_test_id("message-content")
    assert content.inner_text().strip()
    stats = reply.get_by_test_id("message-stats")
    expect(stats).to_be_visible()
    expect(stats).to_contain_text("tok/s")
    expect(stats).to_contain_text("to first token")


def test_regenerate_and_edit_show_the_new_branch(start_server, replay_file, page: Page) -> None:
    server = start_server(
        replay_file("First answer.\n=== turn ===\nSecond answer.\n=== turn ===\nThird answer.")
    )
    open_app(page, server)
    send(page, "Original question")
    reply = messages(page, "assistant")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.get_by_test_id("message-content")).to_have_text("First answer.")

    reply.hover()
    reply.get_by_test_id("regenerate").click()
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "assistant").get_by_test_id("message-content")).to_have_text(
        "Second answer."
    )

    user = messages(page, "user")
    user.hover()
    user.get_by_test_id("edit-message").click()
    box = page.get_by_test_id("composer-input")
    expect(box).to_have_value("Original question")
    box.fill("Edited question")
    box.press("Enter")
    expect(messages(page, "user")).to_have_text("Edited question")
    expect(messages(page, "assistant").get_by_test_id("message-content")).to_have_text(
        "Third answer."
    )
    expect(messages(page)).to_have_count(2)
    stored = authed.get(f"{server.url}/api/conversations").json()["conversations"][0]
    saved = authed.get(f"{server.url}/api/conversations/{stored['id']}").json()["messages"]
    assert [m["content"] for m in saved] == ["Edited question", "Third answer."]
