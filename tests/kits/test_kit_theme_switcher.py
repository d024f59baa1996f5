"""The theme-switcher kit in Chromium: light/dark/system set <html data-theme>, swatches set
--accent live, both are remembered, Copy CSS copies the tokens; slots carry through."""

from tests.kits.conftest import KitPage

BODY_BG = "getComputedStyle(document.body).backgroundColor"
ACCENT = "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
THEME = "document.documentElement.dataset.theme || 'system'"


def wait_bg(page, rgb: str) -> None:
    """Colours ease over 0.25 s, so wait for the page background to arrive."""
    page.wait_for_function(f"{BODY_BG} === {rgb!r}", timeout=2000)


def pick(page, name: str) -> None:
    """Click a swatch (the radio itself is hidden under its round label)."""
    page.locator(f'#swatches label[title="{name}"]').click()


def test_theme_switcher_modes_and_accents(open_kit) -> None:
    kit: KitPage = open_kit("theme-switcher", color_scheme="light")
    page = kit.page
    assert page.evaluate(THEME) == "system"
    wait_bg(page, "rgb(246, 247, 251)")
    assert "light right now" in page.locator("#mode-note").inner_text()

    page.get_by_text("Dark", exact=True).click()
    assert page.evaluate(THEME) == "dark"
    wait_bg(page, "rgb(15, 17, 23)")
    assert page.get_by_role("radio", name="Dark").is_checked()

    pick(page, "Teal")
    assert page.evaluate(ACCENT) == "#0d9488"
    assert page.locator("#accent-info strong").inner_text() == "Teal"
    assert "--accent: #0d9488;" in page.locator("#css-code").inner_text()
    assert "color-scheme: dark;" in page.locator("#css-code").inner_text()

    page.reload()  # both choices are remembered
    assert page.evaluate(THEME) == "dark"
    assert page.evaluate(ACCENT) == "#0d9488"
    assert page.get_by_role("radio", name="Teal").is_checked()

    # Keyboard: arrows move between the radios of a group.
    page.get_by_role("radio", name="Dark").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate(THEME) == "system"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(THEME) == "light"
    pick(page, "Default")
    assert page.evaluate(ACCENT) == "#4f46e5"
    kit.assert_clean()


def test_theme_switcher_copies_css(open_kit) -> None:
    kit = open_kit(
        "theme-switcher", permissions=["clipboard-read", "clipboard-write"], color_scheme="dark"
    )
    page = kit.page
    pick(page, "Rose")
    page.get_by_role("button", name="Copy CSS").click()
    page.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert page.locator("#copy-status").inner_text() == "Copied to the clipboard."
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("/* dark theme */\n:root {")
    assert "--accent: #e11d48;" in copied
    assert "--bg: #0f1117;" in copied
    kit.assert_clean()


def test_theme_switcher_slots_odd_swatches_and_pinned_background(open_kit) -> None:
    kit = open_kit(
        "theme-switcher",
        {
            "title": "Pick your look",
            "swatches": [
                "Ocean | #0077be",
                "not a colour at all",
                "teal",
                "dark blue",
                "#0077BE",
                "rebeccapurple",
                "| |",
            ],
            "copy_label": "Copy variables",
            "background": "navy",
        },
        color_scheme="light",
    )
    page = kit.page
    assert page.title() == "Pick your look"
    names = page.locator("#swatches label").all_inner_texts()
    assert names == ["Default", "Ocean", "Teal", "Dark Blue", "Rebeccapurple"]
    pick(page, "Rebeccapurple")
    assert page.evaluate(ACCENT) == "#663399"

    navy = "rgb(0, 0, 128)"
    wait_bg(page, navy)  # the project's background, in the automatic mode
    page.get_by_text("Light", exact=True).click()
    wait_bg(page, "rgb(246, 247, 251)")  # the theme's light palette
    page.get_by_text("Dark", exact=True).click()
    wait_bg(page, "rgb(15, 17, 23)")
    page.get_by_text("System", exact=True).click()
    wait_bg(page, navy)
    assert page.get_by_role("button", name="Copy variables").is_visible()
    kit.assert_clean()


def test_theme_switcher_on_a_phone_with_one_swatch(open_kit) -> None:
    kit = open_kit(
        "theme-switcher",
        {"swatches": ["nonsense"], "subtitle": "y" * 120},
        viewport={"width": 360, "height": 740},
        has_touch=True,
    )
    page = kit.page
    assert page.locator("#swatches input").count() == 1  # only Default
    page.get_by_label("Custom colour").fill("#ff8800")
    assert page.evaluate(ACCENT) == "#ff8800"
    assert page.locator("#accent-info strong").inner_text() == "Custom"
    page.locator('label[for="mode-dark"]').tap()
    assert page.evaluate(THEME) == "dark"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    kit.assert_clean()
