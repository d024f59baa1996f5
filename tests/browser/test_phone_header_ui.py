"""Phone layout, the header's model chip and small thread details (issue 14: 2, 8, 11).

At 390×844 (a touch phone) and 1440×900, light and dark: the reply's Retry has an icon, a
name and a finger-sized target; the Build tabs and the conversation title are readable; the
model chip shows a short name that is not cut; stats say "1 token"; a streaming code block
names its fence language from its first rendered frame; the composer names the loaded model.
Screenshots go to /tmp/shots/phone-header/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.chromium import watch_errors

SHOTS = Path("/tmp/shots/phone-header")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
EMBEDDED_NAME = "SmolLM2 135M Instruct (embedded)"  # what the server calls the built-in model
TITLE = "Plan a week of healthy dinners for two people on a budget"


@pytest.fixture
def open_page(browser: Browser) -> Iterator:  # type: ignore[type-arg]
    """open_page(size, scheme) → a fresh page with that viewport and colour scheme."""
    made: list = []

    def make(size: dict, scheme: str = "light") -> Page:  # type: ignore[type-arg]
        context = browser.new_context(color_scheme=scheme, **size)
        page = context.new_page()
        page.set_default_timeout(15_000)
        made.append((context, watch_errors(page)))
        return page

    yield make
    for context, errors in made:
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def as_embedded(page: Page) -> None:
    """The server names its model as it names the built-in one (loading it takes minutes)."""

    def health(route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        body = response.json()
        body["model"] = {**(body.get("model") or {}), "name": EMBEDDED_NAME}
        route.fulfill(response=response, json=body)

    page.route("**/api/health", health)


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def last_reply(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="message"][data-role="assistant"]').last


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def cut(page: Page, selector: str) -> list[str]:
    """Elements matching `selector` whose text overflows their box (an ellipsis or a clip)."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
          .filter((e) => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)
          .map((e) => `${e.textContent.trim()}: ${e.scrollWidth} > ${e.clientWidth}`)""",
        selector,
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_chat_retry_title_and_model(
    start_server, replay_file, open_page, scheme: str
) -> None:
    server = start_server(replay_file("Hello"))
    page = open_page(PHONE, scheme)
    as_embedded(page)
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_have_text("SmolLM2 135M")
    expect(page.get_by_test_id("composer-input")).to_have_attribute(
        "placeholder", "Message SmolLM2…"
    )
    send(page, TITLE)
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    shot(page, f"phone-chat-{scheme}")

    # Retry: an icon, a name a screen reader reads, a target a finger can hit.
    retry = reply.get_by_test_id("regenerate")
    expect(retry).to_be_visible()
    expect(retry).to_have_accessible_name("Regenerate reply")
    assert retry.locator("svg").count() == 1
    box = retry.bounding_box()
    assert box and box["width"] >= 40 and box["height"] >= 40, box
    for action in ("copy-message", "read-aloud"):  # its neighbours get the same target
        b = reply.locator(f'[data-testid="{action}"], .{action}').first.bounding_box()
        assert b and b["width"] >= 40 and b["height"] >= 40, (action, b)

    # The title shows (cut with an ellipsis where it must be), the whole of it on hover/tap.
    heading = page.locator("#conv-heading")
    expect(heading).to_be_visible()
    expect(heading).to_have_attribute("title", TITLE)
    hb = heading.bounding_box()
    assert hb and hb["width"] >= 80, hb
    assert cut(page, "#conv-heading"), "the long title should end in an ellipsis here"
    heading.click()  # a tap unfolds it whole, another folds it again
    expect(heading).to_have_class(re.compile(r"\bexpanded\b"))
    assert cut(page, "#conv-heading") == []
    tall = heading.bounding_box()
    assert tall and tall["height"] > hb["height"], (tall, hb)
    heading.click()
    expect(heading).not_to_have_class(re.compile(r"\bexpanded\b"))

    # The model chip: the short name, whole; the full name in its tooltip.
    assert cut(page, '[data-testid="model-name"]') == []
    expect(page.get_by_test_id("model-pill")).to_have_attribute(
        "title", re.compile(rf"^{re.escape(EMBEDDED_NAME)} · ")
    )
    # Stats: "1 token", not "1 tokens".
    stats = reply.get_by_test_id("message-stats")
    expect(stats).to_contain_text("1 token")
    assert "1 tokens" not in stats.inner_text()
    assert "1 tokens" not in (stats.get_attribute("title") or "")
    # Nothing in the header spills past the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"phone-chat-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_build_tabs_and_title(start_server, replay_file, open_page, scheme: str) -> None:
    server = start_server(replay_file("Done."))
    page = open_page(PHONE, scheme)
    as_embedded(page)
    page.goto(server.open_url)
    page.locator('[data-mode="build"]').click()
    expect(page.get_by_test_id("canvas")).to_be_visible()
    send(page, TITLE)
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    shot(page, f"phone-build-{scheme}")

    tabs = page.locator(".canvas-tab")
    expect(tabs).to_have_count(4)
    expect(page.get_by_test_id("canvas-tab-versions")).to_contain_text("Versions")
    for width in (390, 360):  # and a smaller phone
        page.set_viewport_size({"width": width, "height": 800})
        assert cut(page, ".canvas-tab, .canvas-tab > span") == []
        # Every tab is on the screen whole: none is clipped by the tab strip.
        strip = page.locator(".canvas-tabs").bounding_box()
        assert strip
        for i in range(4):
            b = tabs.nth(i).bounding_box()
            assert b and b["x"] >= strip["x"] - 0.5, (width, i, b, strip)
            assert b["x"] + b["width"] <= strip["x"] + strip["width"] + 0.5, (width, i, b, strip)
    page.set_viewport_size(PHONE["viewport"])

    heading = page.locator("#conv-heading")
    expect(heading).to_be_visible()
    expect(heading).to_have_attribute("title", TITLE)
    assert cut(page, '[data-testid="model-name"]') == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"phone-build-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_model_chip_in_chat_and_build(
    start_server, replay_file, open_page, scheme: str
) -> None:
    server = start_server(replay_file("Hello\n=== turn ===\nDone."))
    page = open_page(DESKTOP, scheme)
    as_embedded(page)
    page.goto(server.open_url)
    name = page.get_by_test_id("model-name")
    expect(name).to_have_text("SmolLM2 135M")
    send(page, TITLE)
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    shot(page, f"desktop-chat-{scheme}")
    assert cut(page, '[data-testid="model-name"]') == []

    page.get_by_test_id("new-chat").click()
    page.locator('[data-mode="build"]').click()
    expect(page.get_by_test_id("canvas")).to_be_visible()
    send(page, "Make a counter page")
    expect(last_reply(page)).to_have_attribute("data-status", "complete")
    shot(page, f"desktop-build-{scheme}")
    expect(name).to_have_text("SmolLM2 135M")
    assert cut(page, '[data-testid="model-name"]') == []
    assert cut(page, ".canvas-tab, .canvas-tab > span") == []
    shot(page, f"desktop-build-{scheme}")


CODE_REPLY = (
    "Here it is:\n\n```python\n"
    + "\n".join(f"print({i})" for i in range(40))
    + "\n```\n\nAnd a shell one:\n\n~~~bash\necho hi\n~~~\n\nDone."
)


def test_streaming_code_label_is_the_fence_language(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file(CODE_REPLY, tps=40))
    page.goto(server.open_url)
    # Record every label any code block shows, from the first frame it is in the page.
    page.evaluate(
        """() => {
          window.__labels = [];
          const seen = () => document.querySelectorAll('.code-lang').forEach(
            (e) => window.__labels.push(e.textContent));
          new MutationObserver(seen).observe(document.body,
            {subtree: true, childList: true, characterData: true});
        }"""
    )
    send(page, "Show me code")
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete", timeout=30_000)
    expect(reply.locator(".code-lang")).to_have_text(["python", "bash"])
    labels = page.evaluate("window.__labels")
    assert labels, "no code block was seen while streaming"
    assert set(labels) <= {"python", "bash"}, sorted(set(labels))


def test_token_counts_are_plural_only_when_plural(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("ok"))
    page.goto(server.open_url)
    got = page.evaluate(
        """async () => {
          const { formatStats } = await import('/static/format.js');
          const one = formatStats({ttft_ms: 5, tokens_per_s: 1, completion_tokens: 1,
                                   prompt_tokens: 1, cached_tokens: 1});
          const two = formatStats({completion_tokens: 2, prompt_tokens: 1200});
          return [one.text, one.title, two.text, two.title];
        }"""
    )
    one_text, one_title, two_text, two_title = got
    assert "1 token" in one_text and "tokens" not in one_text.replace("tokens/s", "")
    assert "Prompt: 1 token (1 cached)" in one_title
    assert "Completion: 1 token" in one_title
    assert "2 tokens" in two_text
    assert "Prompt: 1,200 tokens" in two_title and "Completion: 2 tokens" in two_title


def test_short_model_names(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("ok"))
    page.goto(server.open_url)
    names = [
        EMBEDDED_NAME,
        "Gemma 4 E2B",
        "Gemma 3n E4B",
        "Replay (replay-0.txt)",
        "qwen2.5:7b-instruct",
        "Llama 3.2 3B Instruct (recommended) (on this computer)",
        "",
    ]
    got = page.evaluate(
        """async (names) => {
          const { shortModelName } = await import('/static/format.js');
          return names.map(shortModelName);
        }""",
        names,
    )
    assert got == [
        "SmolLM2 135M",
        "Gemma 4 E2B",
        "Gemma 3n E4B",
        "Replay (replay-0.txt)",
        "qwen2.5:7b-instruct",
        "Llama 3.2 3B",
        "",
    ]


def test_phone_reply_offers_no_retry_while_it_streams(start_server, replay_file, open_page) -> None:
    """Touch screens show a reply's actions without hover: Retry waits for the reply."""
    server = start_server(replay_file(" ".join(["word"] * 60), tps=20))
    page = open_page(PHONE)
    page.goto(server.open_url)
    send(page, "Say many words")
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(reply.get_by_test_id("message-content")).to_contain_text("word")
    expect(reply.get_by_test_id("regenerate")).to_be_hidden()
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(reply.get_by_test_id("regenerate")).to_be_visible()


def test_phone_code_copy_button_is_finger_sized(start_server, replay_file, open_page) -> None:
    server = start_server(replay_file("Here:\n\n```python\nprint('hi')\n```\n"))
    page = open_page(PHONE)
    page.goto(server.open_url)
    send(page, "Show code")
    reply = last_reply(page)
    expect(reply).to_have_attribute("data-status", "complete")
    copy = reply.get_by_test_id("copy-code")
    expect(copy).to_be_visible()
    box = copy.bounding_box()
    assert box and box["width"] >= 40 and box["height"] >= 40, box


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_build_welcome_starts_at_its_heading(
    start_server, replay_file, open_page, scheme: str
) -> None:
    """Above the canvas a phone's thread is short: the welcome must start at its heading
    (it used to open scrolled to its end, the heading above where scrolling reaches), and
    the composer's hint fits on its one line."""
    server = start_server(replay_file("Hi"))
    page = open_page(PHONE, scheme)
    page.goto(server.open_url)
    page.get_by_test_id("mode-toggle").locator('[data-mode="build"]').click()
    heading = page.locator("#empty-state h2")
    expect(heading).to_have_text("What shall we build?")
    page.wait_for_timeout(300)  # the canvas opens and the thread's box shrinks
    heading_top, scroll_top = page.evaluate(
        """() => [document.querySelector('#empty-state h2').getBoundingClientRect().top,
                  document.querySelector('#thread-scroll').getBoundingClientRect().top]"""
    )
    assert heading_top >= scroll_top, (heading_top, scroll_top)
    expect(page.get_by_test_id("composer-input")).to_have_attribute(
        "placeholder", "Describe an app…"
    )
    shot(page, f"phone-build-welcome-{scheme}")
