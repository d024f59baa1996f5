"""The guessing-game kit in Chromium: hints lead to the number, limits end games, slots apply."""

from tests.kits.conftest import KitPage

# crypto.getRandomValues filled with zeros: the secret is always the range's smallest number.
LOWEST_SECRET = "crypto.getRandomValues = (array) => array.fill(0);"


def guess(page, value: int) -> str:
    field = page.get_by_label("Your guess")
    field.fill(str(value))
    field.press("Enter")
    return page.locator("#feedback").get_attribute("data-state")


def test_guessing_game_hints_lead_to_the_number(open_kit) -> None:
    kit: KitPage = open_kit("guessing-game")
    page = kit.page
    assert "from 1 to 100" in page.locator("#range-text").inner_text()
    low, high, tries = 1, 100, 0
    state = "start"
    while state != "won":
        middle = (low + high) // 2
        state = guess(page, middle)
        tries += 1
        assert state in ("higher", "lower", "won"), state
        if state == "higher":
            low = middle + 1
            assert f"{middle} is too low" in page.locator("#feedback-detail").inner_text()
        elif state == "lower":
            high = middle - 1
            assert page.locator("#feedback-title").inner_text() == "Lower"
        assert page.locator("#attempts").inner_text() == str(tries)
        assert tries <= 7
    assert page.locator("#feedback-title").inner_text() == "You got it!"
    assert page.locator("#history li").count() == tries
    assert page.locator("#history li.is-right").inner_text().startswith(str(middle))
    assert page.get_by_label("Your guess").is_disabled()
    assert page.locator("#best").inner_text() == str(tries)
    # The new-game button takes the focus, so Enter starts the next game.
    page.keyboard.press("Enter")
    assert page.locator("#attempts").inner_text() == "0"
    assert page.locator("#history li").count() == 0
    assert page.get_by_label("Your guess").is_enabled()
    page.reload()
    assert page.locator("#best").inner_text() == str(tries)  # remembered
    kit.assert_clean()


def test_guessing_game_limits_attempts_and_rejects_bad_guesses(open_kit) -> None:
    kit = open_kit("guessing-game", {"min_number": 5, "max_number": 10, "max_attempts": 2})
    page = kit.page
    page.add_init_script(LOWEST_SECRET)
    page.reload()
    assert "You have 2 guesses" in page.locator("#range-text").inner_text()
    assert page.locator("#left").inner_text() == "2"
    assert guess(page, 11) == "error"  # out of range: not counted
    assert page.locator("#feedback-title").inner_text() == "Out of range"
    assert guess(page, 8) == "lower"
    assert page.locator("#left").inner_text() == "1"
    assert guess(page, 8) == "error"  # already tried: not counted
    assert page.locator("#attempts").inner_text() == "1"
    assert guess(page, 7) == "lost"
    assert "The number was 5" in page.locator("#feedback-detail").inner_text()
    assert page.get_by_label("Your guess").is_disabled()
    history = page.locator("#history li").evaluate_all("items => items.map(li => li.textContent)")
    assert history == ["8↓, too high", "7↓, too high"]
    page.get_by_role("button", name="New game").click()
    assert guess(page, 5) == "won"
    kit.assert_clean()


def test_guessing_game_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "guessing-game",
        {
            "title": "Pirate's number",
            "subtitle": "Guess the treasure chest.",
            "min_number": 50,  # reversed on purpose: the page swaps them
            "max_number": 10,
            "guess_label": "Chest number",
            "guess_button_label": "Open",
            "new_game_label": "Bury again",
            "accent": "gold",
        },
    )
    page = kit.page
    assert page.title() == "Pirate's number"
    assert page.locator("h1").inner_text() == "Pirate's number"
    assert "from 10 to 50" in page.locator("#range-text").inner_text()
    field = page.get_by_label("Chest number")
    field.fill("30")
    page.get_by_role("button", name="Open").click()
    assert page.locator("#feedback").get_attribute("data-state") in ("higher", "lower", "won")
    assert page.locator("#attempts").inner_text() == "1"
    page.get_by_role("button", name="Bury again").click()
    assert page.locator("#attempts").inner_text() == "0"
    kit.assert_clean()


def test_guessing_game_equal_limits_fall_back_to_a_range(open_kit) -> None:
    kit = open_kit("guessing-game", {"min_number": 7, "max_number": 7, "max_attempts": 50})
    page = kit.page
    assert "from 1 to 100" in page.locator("#range-text").inner_text()
    assert page.locator("#left").inner_text() == "50"
    assert guess(page, 100) in ("lower", "won")
    kit.assert_clean()
