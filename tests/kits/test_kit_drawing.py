"""The drawing kit in Chromium: the pointer draws, undo/redo/clear work (buttons and keys),
the drawing survives a resize and a reload, Save downloads a PNG; slots carry through."""

from pathlib import Path

from tests.kits.conftest import KitPage

INKED = """() => {
  const c = document.getElementById("canvas");
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
  return n;
}"""


def scribble(page, start=(0.2, 0.3), end=(0.7, 0.6), steps=12) -> None:
    page.locator("#canvas").scroll_into_view_if_needed()
    box = page.locator("#canvas").bounding_box()
    x0, y0 = box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1]
    x1, y1 = box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=steps)
    page.mouse.up()


def pixel_at(page, fx: float, fy: float) -> list[int]:
    return page.evaluate(
        """([fx, fy]) => {
          const c = document.getElementById("canvas");
          const x = Math.round(c.width * fx), y = Math.round(c.height * fy);
          return Array.from(c.getContext("2d").getImageData(x, y, 1, 1).data);
        }""",
        [fx, fy],
    )


def test_drawing_draws_undoes_redoes_and_clears(open_kit) -> None:
    kit: KitPage = open_kit("drawing")
    page = kit.page
    assert page.evaluate(INKED) == 0
    assert page.get_by_role("button", name="Undo").is_disabled()

    scribble(page)
    first = page.evaluate(INKED)
    assert first > 200
    scribble(page, (0.2, 0.8), (0.8, 0.8))
    assert page.evaluate(INKED) > first

    page.keyboard.press("Control+z")
    assert page.evaluate(INKED) == first
    page.keyboard.press("Control+y")
    assert page.evaluate(INKED) > first

    page.get_by_role("button", name="Clear").click()
    assert page.evaluate(INKED) == 0
    assert "Undo brings it back" in page.locator("#status").inner_text()
    page.get_by_role("button", name="Undo").click()
    assert page.evaluate(INKED) > first

    # The eraser removes ink where it passes.
    page.keyboard.press("e")
    assert page.get_by_role("button", name="Eraser").get_attribute("aria-pressed") == "true"
    before = page.evaluate(INKED)
    scribble(page, (0.1, 0.8), (0.9, 0.8), steps=20)
    assert page.evaluate(INKED) < before
    page.get_by_role("button", name="Eraser").click()
    assert page.get_by_role("button", name="Eraser").get_attribute("aria-pressed") == "false"

    # A smaller window keeps the drawing, scaled; a reload brings it back.
    page.set_viewport_size({"width": 420, "height": 800})
    page.wait_for_function(f"({INKED})() > 50")
    page.reload()
    assert page.evaluate(INKED) > 50
    kit.assert_clean()


def test_drawing_saves_a_png(open_kit, tmp_path: Path) -> None:
    kit = open_kit("drawing", {"title": "My Doodle!"})
    page = kit.page
    scribble(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Save PNG").click()
    download = info.value
    assert download.suggested_filename == "my-doodle.png"
    target = tmp_path / "saved.png"
    download.save_as(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.locator("#status").inner_text() == "Saved my-doodle.png."
    kit.assert_clean()


def test_drawing_slots_colours_and_size(open_kit) -> None:
    kit = open_kit(
        "drawing",
        {
            "title": "Signature pad",
            "colors": ["Sky | #87ceeb", "no such colour", "dark red", "#87CEEB", "|"],
            "default_size": 50,
            "clear_label": "Start over",
            "save_label": "Download",
        },
    )
    page = kit.page
    assert page.locator("h1").inner_text() == "Signature pad"
    assert page.locator("#palette input").count() == 2
    assert page.get_by_role("radio", name="Sky").is_checked()
    assert page.locator("#size").input_value() == "50"
    assert page.locator("#size-value").inner_text() == "50"

    scribble(page, (0.3, 0.5), (0.7, 0.5))
    assert pixel_at(page, 0.5, 0.5)[:3] == [135, 206, 235]
    page.locator('#palette label[title="Dark Red"]').click()
    scribble(page, (0.3, 0.5), (0.7, 0.5))
    red = pixel_at(page, 0.5, 0.5)
    assert red[0] > red[1] and red[0] > red[2]

    page.keyboard.press("[")
    assert page.locator("#size-value").inner_text() == "45"
    page.get_by_role("button", name="Start over").click()
    assert page.evaluate(INKED) == 0
    assert page.get_by_role("link", name="Download").is_visible()
    kit.assert_clean()


def test_drawing_with_touch_on_a_dark_phone(open_kit) -> None:
    kit = open_kit(
        "drawing",
        {"colors": ["nothing valid"], "default_size": 1},
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
        has_touch=True,
    )
    page = kit.page
    assert page.locator("#palette input").count() == 1  # a fallback ink
    box = page.locator("#canvas").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate(INKED) > 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    kit.assert_clean()
