"""The dice kit in Chromium: roll by button and R key; dice, total and history agree."""

from tests.kits.conftest import KitPage


def dice_values(page) -> list[int]:
    """What the dice show: pips on a d6, the number on others."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#tray .die')].map((die) =>
            die.classList.contains('d6')
              ? die.querySelectorAll('.pip.on').length
              : Number(die.querySelector('.die-value').textContent))"""
    )


def test_dice_roll_by_button_and_key(open_kit) -> None:
    kit: KitPage = open_kit("dice")
    page = kit.page
    assert page.get_by_label("2", exact=True).is_checked()
    assert page.get_by_label("d6", exact=True).is_checked()
    assert page.locator("#total").inner_text() == "–"

    page.get_by_role("button", name="Roll the dice").click()
    values = dice_values(page)
    assert len(values) == 2 and all(1 <= v <= 6 for v in values)
    assert page.locator("#tray .die.d6").count() == 2
    assert page.locator("#total").inner_text() == str(sum(values))
    assert page.locator("#announce").inner_text().endswith(f"Total {sum(values)}.")
    assert page.locator("#history li").count() == 1

    page.keyboard.press("r")
    assert page.locator("#history li").count() == 2
    page.keyboard.press("Control+r")  # the browser's reload key is left alone
    assert page.locator("#history li").count() == 2

    # Three d20: numbers instead of pips.
    page.get_by_label("3", exact=True).check()
    page.get_by_label("d20", exact=True).check()
    page.keyboard.press("R")  # also works with focus on a radio button
    values = dice_values(page)
    assert len(values) == 3 and all(1 <= v <= 20 for v in values)
    assert page.locator("#tray .die.d20").count() == 3
    assert page.locator("#total").inner_text() == str(sum(values))
    first = page.locator("#history li").first
    assert first.locator(".h-kind").inner_text() == "3d20"
    assert first.locator(".h-total").inner_text() == str(sum(values))

    # Arrow keys move through the choices; settings and history survive a reload.
    page.keyboard.press("ArrowLeft")
    assert page.get_by_label("d12", exact=True).is_checked()
    page.reload()
    assert page.get_by_label("3", exact=True).is_checked()
    assert page.get_by_label("d12", exact=True).is_checked()
    assert page.locator("#history li").count() == 3

    page.get_by_role("button", name="Clear").click()
    assert page.locator("#history li").count() == 0
    assert page.locator("#history-empty").is_visible()
    kit.assert_clean()


def test_dice_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "dice",
        {"title": "Board night", "dice_count": 6, "sides": 100, "roll_label": "Throw!"},
        viewport={"width": 360, "height": 780},
    )
    page = kit.page
    assert page.title() == "Board night"
    assert page.locator("h1").inner_text() == "Board night"
    assert page.get_by_label("6", exact=True).is_checked()
    assert page.get_by_label("d100", exact=True).is_checked()
    page.get_by_role("button", name="Throw!").click()
    values = dice_values(page)
    assert len(values) == 6 and all(1 <= v <= 100 for v in values)
    assert page.locator("#total").inner_text() == str(sum(values))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()


def test_dice_smallest_die(open_kit) -> None:
    kit = open_kit("dice", {"dice_count": 1, "sides": 2}, color_scheme="dark")
    page = kit.page
    for _ in range(5):
        page.keyboard.press("r")
        values = dice_values(page)
        assert len(values) == 1 and values[0] in (1, 2)
    assert page.locator("#history li").count() == 5
    kit.assert_clean()
