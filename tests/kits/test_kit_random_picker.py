"""The random-picker kit in Chromium: picks come from the list, can be removed, and are kept."""

from itertools import pairwise

from tests.kits.conftest import KitPage

FOODS = ["Pizza", "Sushi", "Tacos", "Curry", "Burgers", "Pasta", "Salad", "Ramen"]


def list_lines(page) -> list[str]:
    text = page.get_by_label("Your list, one per line").input_value()
    return [line for line in text.split("\n") if line]


def test_random_picker_picks_with_the_shuffle(open_kit) -> None:
    kit: KitPage = open_kit("random-picker")
    page = kit.page
    assert list_lines(page) == FOODS
    assert page.locator("#count").inner_text() == "8 items"
    page.get_by_role("button", name="Pick one").click()
    # The shuffle lasts about a second; the live region speaks only the final pick.
    page.wait_for_function("document.getElementById('announce').textContent !== ''", timeout=4000)
    picked = page.locator("#result").inner_text()
    assert picked in FOODS
    assert page.locator("#announce").inner_text() == f"Picked: {picked}"
    assert page.locator("#history li .history-item").all_inner_texts() == [picked]
    kit.assert_clean()


def test_random_picker_removes_picks_and_never_repeats(open_kit) -> None:
    kit = open_kit("random-picker", reduced_motion="reduce")
    page = kit.page
    pick = page.get_by_role("button", name="Pick one")
    history = page.locator("#history li .history-item")

    page.get_by_label("Remove each pick from the list").check()
    pick.click()
    first = page.locator("#result").inner_text()
    assert first in FOODS
    assert first not in list_lines(page)
    assert page.locator("#count").inner_text() == "7 items"

    page.get_by_label("Remove each pick from the list").uncheck()
    picks = [first]
    for _ in range(5):
        pick.press("Enter")
        picks.append(page.locator("#result").inner_text())
    assert all(p in FOODS for p in picks)
    assert all(a != b for a, b in pairwise(picks))
    assert history.all_inner_texts() == picks[::-1]

    # Editing the list changes what can be picked; everything survives a reload.
    page.get_by_label("Your list, one per line").fill("Heads\n\n  Tails  \n")
    assert page.locator("#count").inner_text() == "2 items"
    pick.click()
    assert page.locator("#result").inner_text() in ("Heads", "Tails")
    page.reload()
    assert list_lines(page)[0] == "Heads"
    assert history.count() == 7
    page.get_by_role("button", name="Clear").click()
    assert history.count() == 0
    assert page.locator("#history-empty").is_visible()
    kit.assert_clean()


def test_random_picker_slots_reach_the_page(open_kit) -> None:
    long_item = "A rather long idea that fills the whole eighty characters allowed for one item!!"
    assert len(long_item) == 80
    kit = open_kit(
        "random-picker",
        {
            "title": "Who presents?",
            "items": ["Alice", long_item],
            "pick_label": "Draw a name",
            "list_label": "Names",
            "reset_label": "Put names back",
        },
        reduced_motion="reduce",
        viewport={"width": 360, "height": 780},
    )
    page = kit.page
    assert page.title() == "Who presents?"
    assert page.locator("h1").inner_text() == "Who presents?"
    assert page.get_by_label("Names").input_value() == f"Alice\n{long_item}"

    page.get_by_label("Remove each pick from the list").check()
    draw = page.get_by_role("button", name="Draw a name")
    draw.click()
    draw.click()
    assert sorted(page.locator("#history li .history-item").all_inner_texts()) == sorted(
        ["Alice", long_item]
    )
    assert page.get_by_label("Names").input_value() == ""
    assert page.locator("#count").inner_text() == "The list is empty"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    draw.click()  # nothing left: a message, not an error
    assert page.locator("#result").inner_text() == "Add some items to the list"
    page.get_by_role("button", name="Put names back").click()
    assert page.locator("#count").inner_text() == "2 items"
    kit.assert_clean()


def test_a_coin_is_a_fair_toss_the_same_side_may_come_twice(open_kit) -> None:
    """Two items (a coin, yes or no) are not steered away from the last pick."""
    kit = open_kit(
        "random-picker",
        {"title": "Coin flip", "items": ["Heads", "Tails"], "pick_label": "Flip the coin"},
        reduced_motion="reduce",
    )
    page = kit.page
    # Every random draw lands on the first item.
    page.add_init_script("crypto.getRandomValues = (a) => { a.fill(0); return a; };")
    page.reload()
    flip = page.get_by_role("button", name="Flip the coin")
    flip.click()
    assert page.locator("#result").inner_text() == "Heads"
    flip.click()
    assert page.locator("#result").inner_text() == "Heads"
    kit.assert_clean()
