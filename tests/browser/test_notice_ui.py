"""A turn's `notice` event shows in the thread, next to the message it is about.

An image sent to a text-only model (the replay runtime takes text only unless its spec says
`?modalities=`): the server says it was not sent, and the reply shows that, in light and dark
themes alike, for the rest of the turn. Nothing is stubbed.
"""

from __future__ import annotations

import io

from playwright.sync_api import Page, expect

NOTICE = "This model can't see images; the image photo.png was not sent."

# Text against the notice's own background laid over whatever is behind it.
CONTRAST = """(node) => {
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const behind = (n) => {
    for (let p = n.parentElement; p; p = p.parentElement) {
      const c = rgba(getComputedStyle(p).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const style = getComputedStyle(node);
  const [r, g, b, a = 1] = rgba(style.backgroundColor);
  const base = behind(node);
  const bg = [r, g, b].map((v, i) => v * a + base[i] * (1 - a));
  const lum = (c) => {
    const [x, y, z] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * x + 0.7152 * y + 0.0722 * z;
  };
  const [l1, l2] = [lum(rgba(style.color).slice(0, 3)), lum(bg)].sort((p, q) => q - p);
  return (l1 + 0.05) / (l2 + 0.05);
}"""


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_image_to_a_text_only_model_shows_the_notice(start_server, replay_file, page: Page) -> None:
    server = start_server(replay_file("I can only read your words.", tps=40))
    page.goto(server.open_url)
    expect(page.get_by_test_id("model-name")).to_contain_text("Replay")
    page.get_by_test_id("attach-input").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    expect(page.get_by_test_id("attachment-chip")).to_have_attribute("data-status", "ready")
    box = page.get_by_test_id("composer-input")
    box.fill("What is in this picture?")
    box.press("Enter")

    reply = page.locator('[data-testid="message"][data-role="assistant"]').last
    notice = reply.get_by_test_id("turn-notice")
    expect(notice).to_have_text(NOTICE)  # while the reply streams…
    expect(reply.get_by_test_id("message-content")).to_have_text("I can only read your words.")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(notice).to_be_visible()  # …and after it ended
    expect(notice).to_have_count(1)
    expect(page.locator(".toast-text", has_text=NOTICE)).to_have_count(0)  # in the thread only
    # Above the reply's text, right under the user's message with the image.
    above = reply.get_by_test_id("message-content").bounding_box()
    at = notice.bounding_box()
    assert at and above and at["y"] + at["height"] <= above["y"]

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(50)
        expect(notice).to_be_visible()
        ratio = notice.evaluate(CONTRAST)
        assert ratio >= 4.5, f"{scheme}: the notice's text contrast is {ratio:.1f}"
        icon = notice.locator(".icon")
        expect(icon).to_be_visible()
