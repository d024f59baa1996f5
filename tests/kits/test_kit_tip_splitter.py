"""The tip-splitter kit in Chromium: bill, tip and people give each share; slots carry through."""

from tests.kits.conftest import KitPage

NBSP = "\u00a0"


def test_tip_splitter_splits_the_bill(open_kit) -> None:
    kit: KitPage = open_kit("tip-splitter")
    page = kit.page
    each = page.locator("#total-person")
    assert each.inner_text() == "$0.00"
    # The default tip is the middle option (15%) and two people share.
    assert page.get_by_role("button", name="15%").get_attribute("aria-pressed") == "true"
    page.get_by_label("Bill amount").fill("100")
    assert each.inner_text() == "$57.50"
    assert page.locator("#tip-person").inner_text() == "$7.50"
    assert page.locator("#tip-total").inner_text() == "$15.00"
    assert page.locator("#grand-total").inner_text() == "$115.00"

    page.get_by_role("button", name="20%").click()
    assert page.get_by_role("button", name="20%").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="15%").get_attribute("aria-pressed") == "false"
    assert each.inner_text() == "$60.00"

    page.get_by_role("button", name="More people").click()
    assert page.get_by_label("Number of people").input_value() == "3"
    assert each.inner_text() == "$40.00"
    assert page.locator("#summary").inner_text() == "20% tip, split 3 ways"

    # A custom percentage replaces the buttons' choice.
    page.get_by_label("Custom tip percentage").fill("10")
    assert page.get_by_role("button", name="20%").get_attribute("aria-pressed") == "false"
    assert each.inner_text() == "$36.67"

    # Rounding up: everyone pays a whole amount, the extra goes to the tip.
    page.get_by_label("Round each share up to a whole amount").check()
    assert each.inner_text() == "$37.00"
    assert page.locator("#grand-total").inner_text() == "$111.00"
    assert page.locator("#tip-total").inner_text() == "$11.00"

    page.get_by_role("button", name="Fewer people").click()
    page.get_by_role("button", name="Fewer people").click()
    page.get_by_role("button", name="Fewer people").click()  # stays at 1
    assert page.get_by_label("Number of people").input_value() == "1"
    assert page.locator("#summary").inner_text() == "10% tip, no split"

    page.get_by_role("button", name="Reset").click()
    assert each.inner_text() == "$0.00"
    assert page.get_by_label("Bill amount").input_value() == ""
    assert page.get_by_label("Number of people").input_value() == "2"
    kit.assert_clean()


def test_tip_splitter_keyboard_and_memory(open_kit) -> None:
    kit = open_kit("tip-splitter")
    page = kit.page
    page.get_by_label("Bill amount").focus()
    page.keyboard.type("48.20")
    page.keyboard.press("Tab")  # to the first tip button
    page.keyboard.press("Enter")  # 10%
    assert page.locator("#total-person").inner_text() == "$26.51"
    # The numbers survive a reload.
    page.reload()
    assert page.get_by_label("Bill amount").input_value() == "48.20"
    assert page.get_by_role("button", name="10%").get_attribute("aria-pressed") == "true"
    assert page.locator("#total-person").inner_text() == "$26.51"
    kit.assert_clean()


def test_tip_splitter_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "tip-splitter",
        {
            "title": "Team lunch",
            "currency": "€",
            "tip_options": ["5", "abc", "12.5%"],
            "default_people": 4,
            "people_label": "Friends",
            "reset_label": "Start over",
        },
    )
    page = kit.page
    assert page.title() == "Team lunch"
    assert page.locator("h1").inner_text() == "Team lunch"
    tips = page.locator("#tip-options button")
    assert tips.all_inner_texts() == ["5%", "12.5%"]
    assert page.get_by_label("Friends").input_value() == "4"
    page.get_by_label("Bill amount").fill("80")
    assert page.locator("#total-person").inner_text() == "€21.00"
    page.get_by_role("button", name="12.5%").click()
    assert page.locator("#total-person").inner_text() == "€22.50"
    page.get_by_role("button", name="Start over").click()
    assert page.locator("#total-person").inner_text() == "€0.00"
    kit.assert_clean()


def test_tip_splitter_odd_slot_values_fall_back(open_kit) -> None:
    kit = open_kit(
        "tip-splitter",
        {"currency": "EUR", "tip_options": ["lots"], "default_people": 50},
        color_scheme="dark",
        viewport={"width": 360, "height": 780},
    )
    page = kit.page
    assert page.locator("#tip-options button").all_inner_texts() == ["10%", "15%", "20%"]
    page.get_by_label("Bill amount").fill("1000000")
    assert page.locator("#total-person").inner_text() == f"EUR{NBSP}23,000.00"
    page.get_by_role("button", name="More people").click()
    assert page.get_by_label("Number of people").input_value() == "51"
    # Nothing overflows a 360 px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()
