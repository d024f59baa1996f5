"""The password-generator kit in Chromium: options shape the password, copy works, slots apply."""

import re

from tests.kits.conftest import KitPage

SYMBOLS = "!@#$%^&*-_=+?.:;~"


def password(page) -> str:
    return page.locator("#password").inner_text().strip()


def test_password_follows_length_and_character_options(open_kit) -> None:
    kit: KitPage = open_kit("password-generator")
    page = kit.page
    page.add_init_script(
        "window.draws = 0; const real = crypto.getRandomValues.bind(crypto);"
        "crypto.getRandomValues = (a) => { window.draws += 1; return real(a); };"
    )
    page.reload()
    first = password(page)
    assert len(first) == 16
    assert re.search(r"[A-Z]", first) and re.search(r"[a-z]", first)
    assert re.search(r"\d", first) and any(c in SYMBOLS for c in first)
    assert page.evaluate("window.draws") >= 16  # crypto.getRandomValues, not Math.random
    assert page.locator("#strength-label").inner_text() == "Very strong"

    page.get_by_role("button", name="Generate").click()
    assert password(page) != first

    page.get_by_label("Length").focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert page.locator("#length-value").inner_text() == "20"
    assert len(password(page)) == 20

    page.get_by_label("Symbols").uncheck()
    page.get_by_label("Uppercase").uncheck()
    assert re.fullmatch(r"[a-z0-9]{20}", password(page)), password(page)
    page.get_by_label("Digits").uncheck()
    assert re.fullmatch(r"[a-z]{20}", password(page))
    page.get_by_label("Lowercase").click()  # the last kind cannot be switched off
    assert page.get_by_label("Lowercase").is_checked()
    assert "at least one" in page.locator("#options-note").inner_text()

    page.reload()  # settings are remembered, the password is not
    assert page.locator("#length-value").inner_text() == "20"
    assert not page.get_by_label("Symbols").is_checked()
    assert re.fullmatch(r"[a-z]{20}", password(page))
    kit.assert_clean()


def test_copy_puts_the_password_on_the_clipboard(open_kit) -> None:
    kit = open_kit("password-generator", permissions=["clipboard-read", "clipboard-write"])
    page = kit.page
    copy = page.locator("#copy")
    copy.click()
    page.get_by_text("Copied!").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == password(page)
    assert "copied" in page.locator("#copy-status").inner_text()
    kit.assert_clean()


def test_password_generator_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "password-generator",
        {
            "title": "Secret maker",
            "subtitle": "For the shared Wi-Fi.",
            "default_length": 64,
            "generate_label": "New password",
            "copy_label": "Copy it",
            "copied_label": "Done!",
            "accent": "crimson",
        },
        permissions=["clipboard-read", "clipboard-write"],
        viewport={"width": 360, "height": 800},
    )
    page = kit.page
    assert page.title() == "Secret maker"
    assert page.locator("h1").inner_text() == "Secret maker"
    assert len(password(page)) == 64
    page.get_by_role("button", name="New password").click()
    assert len(password(page)) == 64
    page.get_by_role("button", name="Copy it").click()
    page.get_by_text("Done!").wait_for()
    # 64 characters wrap inside the card on a phone.
    box = page.locator("#password").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    kit.assert_clean()


def test_shortest_password_is_rated_weak_without_symbols(open_kit) -> None:
    kit = open_kit("password-generator", {"default_length": 6})
    page = kit.page
    assert len(password(page)) == 6
    for kind in ("Uppercase", "Lowercase", "Symbols"):
        page.get_by_label(kind).uncheck()
    assert re.fullmatch(r"\d{6}", password(page))
    assert page.locator("#strength").get_attribute("data-level") == "1"
    assert page.locator("#strength-label").inner_text() == "Weak"
    kit.assert_clean()
