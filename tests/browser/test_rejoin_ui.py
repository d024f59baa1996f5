"""A reply that is still being written, opened by a page that did not start it (a reload
mid-stream, a second tab): the page joins the running turn and streams on to the end, with
no text twice, its stats, and a Stop that works. The same for a Build turn's actions and
files in the canvas. Real server, replay model, nothing stubbed."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests import authed

STORY = " ".join(f"Word{i} of a long story." for i in range(60)) + " THE-END"


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def open_and_send(page: Page, server, text: str) -> Locator:  # type: ignore[no-untyped-def]
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"#/c/c_"))
    return messages(page, "assistant").last


def words(locator: Locator) -> int:
    return len(re.findall(r"Word\d+", locator.inner_text()))


def assert_streams_on(reply: Locator) -> None:
    """The reply is live (not a stored snapshot): its text grows while the page watches."""
    content = reply.get_by_test_id("message-content")
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(content).to_contain_text("Word")
    before = words(content)
    expect(content).not_to_contain_text("THE-END")
    reply.page.wait_for_function(
        "([node, n]) => (node.innerText.match(/Word\\d+/g) || []).length > n",
        arg=[content.element_handle(), before],
    )


def test_a_reload_mid_reply_streams_on_to_the_end_once(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file(STORY, tps=20))
    reply = open_and_send(page, server, "Tell me a long story")
    expect(reply.get_by_test_id("message-content")).to_contain_text("Word2 of")

    page.reload()
    reply = messages(page, "assistant").last
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("running-indicator")).to_have_count(0)  # no stale snapshot
    assert_streams_on(reply)
    expect(page.get_by_test_id("stop-button")).to_be_visible()
    expect(reply.get_by_test_id("message-stats")).to_contain_text("tok/s")  # live stats

    content = reply.get_by_test_id("message-content")
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(content).to_have_text(STORY)  # every word exactly once, none twice
    assert content.inner_text().count("Word0 of") == 1
    expect(reply.get_by_test_id("message-stats")).to_contain_text("tok/s")
    expect(page.get_by_test_id("send-button")).to_be_visible()
    expect(page.get_by_test_id("stop-button")).to_be_hidden()

    page.reload()  # and what was stored is the same reply
    stored = messages(page, "assistant")
    expect(stored).to_have_count(1)
    expect(stored.get_by_test_id("message-content")).to_have_text(STORY)


def test_a_second_tab_joins_and_its_stop_button_stops_the_turn(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file(STORY, tps=20))
    first = open_and_send(page, server, "Tell me a long story")
    expect(first.get_by_test_id("message-content")).to_contain_text("Word2 of")

    other = page.context.new_page()
    other.goto(page.url)
    joined = messages(other, "assistant").last
    assert_streams_on(joined)
    expect(other.get_by_test_id("running-indicator")).to_have_count(0)
    assert_streams_on(first)  # the first tab streams on as before

    other.get_by_test_id("stop-button").click()
    for reply in (joined, first):
        expect(reply).to_have_attribute("data-status", "interrupted")
        expect(reply.get_by_test_id("status-badge")).to_have_text("Stopped")
    text = first.get_by_test_id("message-content").inner_text()
    assert "THE-END" not in text and text.count("Word0 of") == 1
    assert joined.get_by_test_id("message-content").inner_text() == text
    expect(other.get_by_test_id("send-button")).to_be_visible()
    expect(page.get_by_test_id("send-button")).to_be_visible()
    other.close()


def test_a_tab_opened_on_a_turn_another_client_started_streams_it(
    start_server, replay_file, page: Page
) -> None:
    """Neither page started it (a script, the terminal chat): a page opened on it joins."""
    server = start_server(replay_file(STORY, tps=20))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    url = f"{api}/{conv['id']}/messages"
    with authed.stream("POST", url, json={"content": "From elsewhere"}, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("event: text"):
                break
    page.goto(server.open_url)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    reply = messages(page, "assistant")
    expect(messages(page, "user")).to_have_text("From elsewhere")
    assert_streams_on(reply)
    expect(page.get_by_test_id("running-indicator")).to_have_count(0)
    expect(page.get_by_test_id("stop-button")).to_be_visible()
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(reply.get_by_test_id("message-content")).to_have_text(STORY)


LINES = "\n".join(f"  <li>Item {i} of the list</li>" for i in range(40))
BUILD_SCRIPT = f"""I'll write the page.
<action name="write_file">
<path>index.html</path>
<content>
<!doctype html>
<ul>
{LINES}
</ul>
<p>FILE-END</p>
</content>
</action>
Done: a list page."""


def test_a_reload_mid_build_turn_streams_the_file_on_in_the_canvas(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file(BUILD_SCRIPT, tps=20))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    page.get_by_test_id("mode-toggle").locator('[data-mode="build"]').click()
    box = page.get_by_test_id("composer-input")
    box.fill("Make a list page")
    box.press("Enter")
    code = page.get_by_test_id("code-view")
    page.get_by_test_id("canvas-tab-code").click()
    expect(code).to_contain_text("Item 2 of the list")

    page.reload()
    page.get_by_test_id("canvas-tab-code").click()
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(code).to_have_attribute("data-path", "index.html")
    expect(code).to_contain_text("Item 2 of the list")
    expect(code).not_to_contain_text("FILE-END")  # still being written, live
    expect(page.get_by_test_id("stop-button")).to_be_visible()
    expect(code).to_contain_text("Item 30 of the list", timeout=30_000)

    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    chips = reply.get_by_test_id("action-chip")
    expect(chips).to_have_text(["✓Wrote index.html"])  # one chip, not one per stream
    content = reply.get_by_test_id("message-content")
    assert content.inner_text().count("I'll write the page.") == 1
    expect(content).to_contain_text("Done: a list page.")
    expect(code).to_contain_text("FILE-END")
    assert code.inner_text().count("Item 7 of the list") == 1
    conv_id = page.url.split("#/c/")[1]
    saved = authed.get(f"{server.url}/api/conversations/{conv_id}/files/index.html").text
    assert saved.count("<li>") == 40 and "FILE-END" in saved


def test_a_page_joining_a_continue_shows_the_text_it_goes_on_from(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file(f"Alpha beta gamma.\n=== turn ===\n {STORY}", tps=20))
    api = f"{server.url}/api/conversations"
    conv = authed.post(api, json={"mode": "chat"}).json()
    with authed.stream("POST", f"{api}/{conv['id']}/messages", json={"content": "Go"}) as res:
        assert [line for line in res.iter_lines() if line.startswith("event: turn.end")]
    with authed.stream("POST", f"{api}/{conv['id']}/continue", timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: text"):
                break
    page.goto(server.open_url)
    page.goto(f"{server.url}/#/c/{conv['id']}")
    reply = messages(page, "assistant")
    content = reply.get_by_test_id("message-content")
    assert_streams_on(reply)
    assert content.inner_text().startswith("Alpha beta gamma.")
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    stored = authed.get(f"{api}/{conv['id']}").json()["messages"][-1]["content"]
    assert stored.startswith("Alpha beta gamma. Word0 of") and stored.endswith("THE-END")
    expect(content).to_have_text(stored)
    assert content.inner_text().count("Alpha beta gamma.") == 1
