"""The calculator kit in Chromium: keypad, keyboard, precedence, percent, errors, history, slots."""

from tests.kits.conftest import KitPage


def _keys(page, *names: str) -> None:
    for name in names:
        page.locator(f'#keypad [data-key="{name}"]').click()


def test_calculator_keypad_computes_with_precedence(open_kit) -> None:
    kit: KitPage = open_kit("calculator")
    page = kit.page
    result = page.locator("#result")
    assert result.inner_text() == "0"
    _keys(page, "1", "2", "+", "7", "×", "3")
    assert page.locator("#expression").inner_text() == "12 + 7 × 3"
    assert result.inner_text() == "33"  # the live preview
    page.get_by_role("button", name="Equals").click()
    assert result.inner_text() == "33"
    assert page.locator("#expression").inner_text() == "12 + 7 × 3 ="
    assert "preview" not in (result.get_attribute("class") or "")

    # A result carries on into the next sum; a digit starts afresh.
    page.get_by_role("button", name="Divide").click()
    _keys(page, "2")
    page.get_by_role("button", name="Equals").click()
    assert result.inner_text() == "16.5"
    _keys(page, "4")
    assert page.locator("#expression").inner_text() == "4"

    history = page.locator("#history li")
    assert history.count() == 2
    assert history.nth(0).inner_text().split("\n") == ["33 ÷ 2 =", "16.5"]
    kit.assert_clean()


def test_calculator_keyboard_percent_sign_and_errors(open_kit) -> None:
    kit = open_kit("calculator")
    page = kit.page
    result = page.locator("#result")
    page.keyboard.type("2*(3+4")
    page.keyboard.press("Enter")
    assert result.inner_text() == "14"
    assert page.locator("#expression").inner_text() == "2 × (3 + 4) ="  # bracket closed

    page.keyboard.type("200+10%")
    page.keyboard.press("Enter")
    assert result.inner_text() == "220"

    page.keyboard.type("50")
    page.get_by_role("button", name="Change sign").click()
    assert page.locator("#expression").inner_text() == "−50"
    page.keyboard.type("-8")
    page.keyboard.press("Backspace")
    page.keyboard.type("2=")
    assert result.inner_text() == "−52"

    page.keyboard.type("5/0")
    page.keyboard.press("Enter")
    assert result.inner_text() == "Can't divide by zero"
    assert "error" in (result.get_attribute("class") or "")
    assert page.locator("#announce").inner_text() == "Can't divide by zero"
    page.keyboard.press("Backspace")
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    assert result.inner_text() == "1.25"

    page.keyboard.press("Escape")
    assert result.inner_text() == "0"
    assert page.locator("#expression").inner_text() == ""
    kit.assert_clean()


def test_calculator_enter_after_a_click_means_equals(open_kit) -> None:
    kit = open_kit("calculator")
    page = kit.page
    _keys(page, "9", "+", "1")
    page.keyboard.press("Enter")  # the "1" key has focus from the click
    assert page.locator("#result").inner_text() == "10"
    assert page.locator("#expression").inner_text() == "9 + 1 ="
    page.keyboard.press("Tab")  # focus moves on to the "2" key; Enter now presses it
    page.keyboard.press("Enter")
    assert page.locator("#expression").inner_text() == "2"
    kit.assert_clean()


def test_calculator_history_is_reused_and_kept(open_kit) -> None:
    kit = open_kit("calculator")
    page = kit.page
    page.keyboard.type("6*7")
    page.keyboard.press("Enter")
    page.keyboard.type("1+")
    page.get_by_role("button", name="Use 42 (6 × 7)").click()
    assert page.locator("#expression").inner_text() == "1 + 42"
    page.reload()
    assert page.locator("#history li").count() == 1
    page.get_by_role("button", name="Clear history").click()
    assert page.locator("#history li").count() == 0
    assert page.locator("#history-empty").is_visible()
    kit.assert_clean()


def test_calculator_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "calculator",
        {
            "title": "Pocket sums",
            "history_heading": "Past results",
            "decimals": 2,
            "history_size": 1,
        },
    )
    page = kit.page
    assert page.title() == "Pocket sums"
    assert page.locator("h1").inner_text() == "Pocket sums"
    assert page.locator("#history-heading").inner_text() == "Past results"
    page.keyboard.type("10/3=")
    assert page.locator("#result").inner_text() == "3.33"
    page.keyboard.type("1/8=")
    assert page.locator("#result").inner_text() == "0.13"
    assert page.locator("#history li").count() == 1  # history_size
    kit.assert_clean()


def test_calculator_with_no_decimals_on_a_dark_phone(open_kit) -> None:
    kit = open_kit(
        "calculator",
        {"decimals": 0},
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
        has_touch=True,
    )
    page = kit.page
    page.locator('#keypad [data-key="2"]').tap()
    page.locator('#keypad [data-key="÷"]').tap()
    page.locator('#keypad [data-key="3"]').tap()
    page.locator('#keypad [data-key="="]').tap()
    assert page.locator("#result").inner_text() == "1"
    page.keyboard.type("99999999999999999*99999")
    page.keyboard.press("Enter")
    assert "e" in page.locator("#result").inner_text()  # too long: scientific notation
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()
