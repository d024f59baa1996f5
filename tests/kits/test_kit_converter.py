"""The unit converter kit in Chromium: both-way conversion, swap, tabs, formula, slots."""

from tests.kits.conftest import KitPage


def test_converter_converts_both_ways_and_swaps(open_kit) -> None:
    kit: KitPage = open_kit("converter")
    page = kit.page
    a, b = page.locator("#value-a"), page.locator("#value-b")
    assert page.get_by_role("tab", name="Temperature").get_attribute("aria-selected") == "true"
    a.fill("100")
    assert b.input_value() == "212"
    assert page.locator("#summary").inner_text() == "100 °C = 212 °F"
    assert page.locator("#formula").inner_text() == "°F = °C × 9/5 + 32"

    b.fill("32")
    assert a.input_value() == "0"
    b.fill("-40")
    assert a.input_value() == "-40"

    page.get_by_role("button", name="Swap units").click()
    assert page.locator("#unit-a").input_value() == "f"
    assert page.locator("#unit-b").input_value() == "c"
    assert a.input_value() == "-40"
    assert page.locator("#formula").inner_text() == "°C = (°F − 32) × 5/9"
    assert page.get_by_label("Value in Fahrenheit").input_value() == "-40"

    page.locator("#unit-b").select_option("k")
    a.fill("-500")
    assert page.locator("#warning").is_visible()  # below absolute zero
    a.fill("abc")
    assert b.input_value() == ""
    assert a.get_attribute("aria-invalid") is not None
    kit.assert_clean()


def test_converter_tabs_length_and_keyboard(open_kit) -> None:
    kit = open_kit("converter")
    page = kit.page
    page.get_by_role("tab", name="Length").click()
    page.locator("#unit-a").select_option("km")
    page.locator("#value-a").fill("5")
    assert page.locator("#value-b").input_value() == "16404.1995"
    assert page.locator("#formula").inner_text() == "ft = km × 3,280.84"
    page.locator("#unit-a").select_option("in")
    assert page.locator("#formula").inner_text() == "ft = in ÷ 12"
    page.locator("#value-a").fill("1,5")  # a decimal comma
    assert page.locator("#value-b").input_value() == "0.125"

    page.get_by_role("tab", name="Length").focus()
    page.keyboard.press("ArrowRight")
    weight = page.get_by_role("tab", name="Weight")
    assert weight.get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.textContent") == "Weight"
    assert page.locator("#unit-b").input_value() == "lb"
    page.keyboard.press("End")
    assert page.get_by_role("tab", name="Volume").get_attribute("aria-selected") == "true"

    # Each category keeps its own units and value, across a reload too.
    page.reload()
    assert page.get_by_role("tab", name="Volume").get_attribute("aria-selected") == "true"
    page.get_by_role("tab", name="Length").click()
    assert page.locator("#unit-a").input_value() == "in"
    assert page.locator("#value-a").input_value() == "1,5"
    kit.assert_clean()


def test_converter_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "converter",
        {
            "title": "Kitchen converter",
            "categories": ["Mass", "Nonsense", "volume", "Weight"],
            "decimals": 2,
            "swap_label": "Flip units",
        },
    )
    page = kit.page
    assert page.title() == "Kitchen converter"
    assert page.locator("h1").inner_text() == "Kitchen converter"
    tabs = page.get_by_role("tab")
    assert tabs.all_inner_texts() == ["Weight", "Volume"]
    page.locator("#value-a").fill("1")
    assert page.locator("#value-b").input_value() == "2.2"  # 1 kg = 2.20462 lb
    page.get_by_role("button", name="Flip units").click()
    assert page.locator("#unit-a").input_value() == "lb"
    kit.assert_clean()


def test_converter_falls_back_to_every_category(open_kit) -> None:
    kit = open_kit(
        "converter",
        {"categories": ["Nonsense"], "decimals": 0},
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
    )
    page = kit.page
    assert page.get_by_role("tab").count() == 8
    page.get_by_role("tab", name="Data").click()
    page.locator("#value-a").fill("1.5")
    assert page.locator("#value-b").input_value() == "1500"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()


def test_converter_with_one_category_hides_the_tabs(open_kit) -> None:
    kit = open_kit("converter", {"categories": ["Speed"], "decimals": 8})
    page = kit.page
    assert page.locator("#tabs").is_hidden()
    page.locator("#value-a").fill("100")
    assert page.locator("#value-b").input_value() == "62.13711922"
    kit.assert_clean()
