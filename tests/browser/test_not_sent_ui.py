"""An attachment the model did not get is marked on the message that sent it: "Not sent to
the model: <model> can't see images", live while the reply streams and after a reload (the
mark is stored with the attachment), at desktop and phone sizes, in light and dark themes.
Real server, replay model that takes text only; nothing stubbed."""

from __future__ import annotations

import io
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.test_notice_ui import CONTRAST

MARK = "Not sent to the model: Replay can't see images"
SHOTS = Path("/tmp/shots/h")


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 400), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_an_image_a_text_only_model_did_not_get_is_marked_and_stays_marked(
    start_server, replay_file, page: Page
) -> None:
    server = start_server(replay_file("I can't see pictures, only your words.", tps=20))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    page.get_by_test_id("attach-input").set_input_files(
        [
            {"name": "photo.png", "mimeType": "image/png", "buffer": png_bytes()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Milk, eggs.\n"},
        ]
    )
    chips = page.get_by_test_id("attachment-chip")
    expect(chips).to_have_count(2)
    for i in range(2):
        expect(chips.nth(i)).to_have_attribute("data-status", "ready")
    box = page.get_by_test_id("composer-input")
    box.fill("What is in this picture?")
    box.press("Enter")

    user = page.locator('[data-testid="message"][data-role="user"]')
    image = user.locator('[data-testid="message-attachment"][data-kind="image"]')
    document = user.locator('[data-testid="message-attachment"][data-kind="document"]')
    reply = page.locator('[data-testid="message"][data-role="assistant"]')
    expect(image.get_by_test_id("not-sent")).to_have_text(MARK)  # live, as the turn learns it
    expect(reply).to_have_attribute("data-status", "complete")
    expect(document.get_by_test_id("not-sent")).to_have_count(0)  # its text was sent

    page.reload()
    mark = image.get_by_test_id("not-sent")
    expect(mark).to_have_text(MARK)  # stored: it survives a reload
    expect(mark).to_have_count(1)
    expect(document.get_by_test_id("not-sent")).to_have_count(0)
    expect(image).to_have_attribute("title", f"photo.png — {MARK}")

    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            for how in ("scheme", "attribute"):
                if how == "scheme":  # the OS's setting, the app's theme choice "system"
                    page.emulate_media(color_scheme=theme)
                    page.evaluate("window.gemmaTheme.set('system')")
                else:  # the app's own theme switch, against the OS's setting
                    page.emulate_media(color_scheme="light" if theme == "dark" else "dark")
                    page.evaluate(f"window.gemmaTheme.set('{theme}')")
                expect(page.locator("html")).to_have_attribute("data-theme", theme)
                page.wait_for_timeout(50)
                expect(mark).to_be_visible()
                ratio = mark.evaluate(CONTRAST)
                assert ratio >= 4.5, f"{width}px {theme} ({how}): contrast {ratio:.1f}"
                at = mark.bounding_box()
                pic = image.bounding_box()
                assert at and pic and at["x"] >= 0 and at["x"] + at["width"] <= width + 0.5
                right = pic["x"] + pic["width"] + 0.5
                assert pic["x"] - 0.5 <= at["x"] and at["x"] + at["width"] <= right
                if how == "scheme":
                    image.scroll_into_view_if_needed()
                    page.screenshot(path=str(SHOTS / f"not-sent-{width}-{theme}.png"))
    page.evaluate("window.gemmaTheme.set('system')")
    # Reachable by keyboard: the picture's link takes focus and names the mark.
    image.focus()
    expect(image).to_be_focused()
    assert MARK in (image.get_attribute("aria-label") or image.inner_text())
