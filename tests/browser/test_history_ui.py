"""History at scale in a real browser: the sidebar pages as it scrolls, searches the server
as the user types, shows marked snippets (escaped), and opening a result scrolls to the
matching message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from gemma_chat.store import Database, Store
from gemma_chat.store.repository import Conversation, Message

TARGET = "m_sail_040"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def fill_history(db_path) -> None:  # type: ignore[no-untyped-def]
    """120 short chats and one 300-message chat whose 41st message is the one to find."""
    now = datetime.now(UTC)
    items = []
    for n in range(120):
        at = iso(now - timedelta(minutes=n + 10))
        msgs = [Message(f"m_{n}_0", f"c_{n:03d}", "user", f"question {n}", "complete", at)]
        items.append((Conversation(f"c_{n:03d}", f"Chat {n}", "chat", "embedded", at, at), msgs))
    sail = []
    for i in range(300):
        text = f"Log entry {i}: wind steady, nothing to report."
        if i == 40:
            text = "At noon the <b>albatross</b> circled twice & left."
        role = "user" if i % 2 == 0 else "assistant"
        at = iso(now - timedelta(days=3, seconds=300 - i))
        sail.append(Message(f"m_sail_{i:03d}", "c_sail", role, text, "complete", at))
    items.append(
        (
            Conversation(
                "c_sail",
                "Sailing notes",
                "chat",
                "embedded",
                sail[0].created_at,
                sail[-1].created_at,
            ),
            sail,
        )
    )
    store = Store(Database(db_path))
    store.import_history(items)
    store.db.close()


def test_sidebar_pages_searches_and_opens_the_matching_message(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file("Fine."))
    fill_history(server.settings.db_path)
    page.goto(server.open_url)
    items = page.get_by_test_id("conversation-item")
    expect(items.first).to_be_visible()
    assert items.count() <= 100  # a page at a time, not all 121

    listing = page.get_by_test_id("conversation-list")
    for _ in range(10):  # scrolling to the end loads the rest
        listing.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(150)
        if items.count() == 121:
            break
    expect(items).to_have_count(121)

    page.get_by_test_id("sidebar-search").press_sequentially("albatr", delay=40)
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    snippet = results.first.get_by_test_id("search-snippet")
    expect(snippet.locator("mark")).to_have_text("albatross")
    expect(snippet).to_contain_text("the <b>albatross</b> circled twice & left.")
    assert snippet.locator("b").count() == 0  # the message's markup is text, not HTML

    results.first.locator("a").click()
    target = page.locator(f'[data-testid="message"][data-id="{TARGET}"]')
    expect(target).to_have_class("msg user found")
    expect(target).to_be_in_viewport()
    expect(page.get_by_test_id("message")).to_have_count(300)
    last = page.locator('[data-testid="message"][data-id="m_sail_299"]')
    expect(last).not_to_be_in_viewport()  # it stayed on the match, not the latest line

    page.get_by_test_id("sidebar-search").fill("")
    expect(items).to_have_count(121)  # clearing the search brings the list back
