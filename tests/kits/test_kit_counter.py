"""The counter kit in Chromium: buttons and keys change the count; slots carry through."""

from tests.kits.conftest import KitPage


def test_counter_counts_up_down_and_resets(open_kit) -> None:
    kit: KitPage = open_kit("counter")
    page = kit.page
    count = page.locator("#count")
    assert count.inner_text() == "0"
    page.get_by_role("button", name="Add one").click()
    page.get_by_role("button", name="Add one").click()
    assert count.inner_text() == "2"
    page.get_by_role("button", name="Subtract one").click()
    assert count.inner_text() == "1"
    page.keyboard.press("+")
    assert count.inner_text() == "2"
    page.get_by_role("button", name="Reset").click()
    assert count.inner_text() == "0"
    kit.assert_clean()


def test_counter_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "counter",
        {"title": "Push-up counter", "increment_label": "Push-up", "step": 5, "start": 10},
    )
    page = kit.page
    assert page.title() == "Push-up counter"
    assert page.locator("h1").inner_text() == "Push-up counter"
    page.get_by_role("button", name="Push-up").click()
    assert page.locator("#count").inner_text() == "15"
    kit.assert_clean()


def test_counter_in_dark_mode_and_on_a_phone(open_kit) -> None:
    kit = open_kit(
        "counter", color_scheme="dark", viewport={"width": 390, "height": 800}, has_touch=True
    )
    page = kit.page
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 17, 23)"
    page.get_by_role("button", name="Add one").tap()
    assert page.locator("#count").inner_text() == "1"
    kit.assert_clean()
