"""The memory-game kit in Chromium: cards flip, pairs match, the game is won and restarted."""

import re

from tests.kits.conftest import KitPage

LABEL = re.compile(r"^Card \d+ of \d+, (.*?)(, matched)?$")


def symbol_of(page, index: int) -> str:
    label = page.locator(".tile").nth(index).get_attribute("aria-label")
    match = LABEL.match(label)
    assert match, label
    return match.group(1)


def solve(page) -> None:
    """Play like a perfect memory: flip unknown cards, and flip a known partner at once."""
    tiles = page.locator(".tile")

    def labels() -> list[str]:
        return tiles.evaluate_all("tiles => tiles.map(t => t.getAttribute('aria-label'))")

    def flip(index: int) -> str:
        tiles.nth(index).click()
        return symbol_of(page, index)

    seen: dict[str, int] = {}
    for index, text in enumerate(labels()):  # a card already up counts as seen
        if not text.endswith(("face down", "matched")):
            seen[symbol_of(page, index)] = index
    for index in range(tiles.count()):
        now = labels()
        if not now[index].endswith("face down"):
            continue
        opened = [i for i, text in enumerate(now) if not text.endswith(("face down", "matched"))]
        symbol = flip(index)
        partner = seen.get(symbol)
        if partner is None:
            seen[symbol] = index
        elif opened == [partner]:  # it matched the card already up
            continue
        elif len(opened) != 1:  # it was the first card of a move: its partner completes it
            flip(partner)
        else:  # it ended a move as a mismatch: start the next move with the known pair
            flip(partner)
            flip(index)
    assert all(text.endswith("matched") for text in labels()), labels()


def test_memory_game_is_won_and_restarted(open_kit) -> None:
    kit: KitPage = open_kit("memory-game", reduced_motion="reduce")
    page = kit.page
    tiles = page.locator(".tile")
    assert tiles.count() == 16
    # Face down, nothing gives a face away: not the label, not the text.
    for index in range(16):
        assert tiles.nth(index).get_attribute("aria-label").endswith("face down")
    assert page.locator("#board").inner_text().strip() == ""

    tiles.nth(0).click()
    assert symbol_of(page, 0) in ["🍎", "🌵", "🐙", "🚀", "🎈", "🌙", "🦊", "🎧"]
    assert page.locator("#moves").inner_text() == "0"

    solve(page)
    assert page.locator("#pairs").inner_text() == "8/8"
    win = page.locator("#win")
    win.wait_for(state="visible")
    assert win.locator("h2").inner_text() == "You found every pair!"
    moves = int(page.locator("#moves").inner_text())
    assert 8 <= moves <= 16
    assert f"{moves} moves" in page.locator("#win-detail").inner_text()
    assert re.fullmatch(r"\d+:\d\d", page.locator("#time").inner_text())

    page.locator("#play-again").click()
    assert win.is_hidden()
    assert page.locator("#moves").inner_text() == "0"
    assert page.locator("#pairs").inner_text() == "0/8"
    assert all(tiles.nth(i).get_attribute("aria-label").endswith("face down") for i in range(16))
    kit.assert_clean()


def test_memory_game_mismatch_turns_back_and_keyboard_plays(open_kit) -> None:
    kit = open_kit("memory-game", {"symbols": ["Cat", "Dog"]})
    page = kit.page
    # A fixed shuffle: with Math.random() = 0.5 the deck is Cat, Dog, Dog, Cat.
    page.add_init_script("Math.random = () => 0.5;")
    page.reload()
    tiles = page.locator(".tile")
    assert tiles.count() == 4

    tiles.nth(0).focus()
    page.keyboard.press("Enter")
    assert symbol_of(page, 0) == "Cat"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert symbol_of(page, 1) == "Dog"
    assert page.locator("#moves").inner_text() == "1"
    assert "don't match" in page.locator("#status").inner_text()
    page.wait_for_function(
        "document.querySelectorAll('.tile[aria-label$=\"face down\"]').length === 4"
    )

    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    assert page.locator(".tile").nth(3).get_attribute("aria-label").endswith("Cat, matched")
    assert page.locator("#pairs").inner_text() == "1/2"
    assert "Match" in page.locator("#status").inner_text()
    kit.assert_clean()


def test_memory_game_timer_runs_from_the_first_flip(open_kit) -> None:
    kit = open_kit("memory-game")
    page = kit.page
    page.clock.install()
    page.reload()
    assert page.locator("#time").inner_text() == "0:00"
    page.clock.run_for(5000)
    assert page.locator("#time").inner_text() == "0:00"  # not started yet
    page.locator(".tile").first.click()
    page.clock.run_for(65_000)
    assert page.locator("#time").inner_text() == "1:05"
    kit.assert_clean()


def test_memory_game_slots_reach_the_page(open_kit) -> None:
    symbols = ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
    symbols += ["Pluto", "Moon", "Sun", "Strawberries"]
    kit = open_kit(
        "memory-game",
        {
            "title": "Planet pairs",
            "subtitle": "Match the planets.",
            "symbols": symbols,
            "restart_label": "Shuffle again",
            "accent": "teal",
        },
        viewport={"width": 360, "height": 800},
    )
    page = kit.page
    assert page.title() == "Planet pairs"
    assert page.locator("h1").inner_text() == "Planet pairs"
    assert page.locator(".subtitle").inner_text() == "Match the planets."
    assert page.locator("#pairs").inner_text() == "0/12"
    tiles = page.locator(".tile")
    assert tiles.count() == 24
    tiles.nth(5).click()
    assert symbol_of(page, 5) in symbols
    # 24 cards fit a phone: four to a row, none wider than the board.
    widths = tiles.evaluate_all("tiles => tiles.map(t => t.getBoundingClientRect().right)")
    board_right = page.locator("#board").evaluate("b => b.getBoundingClientRect().right")
    assert max(widths) <= board_right + 0.5
    page.get_by_role("button", name="Shuffle again").click()  # the win one is hidden
    assert page.locator("#moves").inner_text() == "0"
    assert tiles.nth(5).get_attribute("aria-label").endswith("face down")
    kit.assert_clean()


def test_memory_game_copes_with_odd_symbol_lists(open_kit) -> None:
    # Duplicates would never match, so they are dropped; one symbol left is topped up.
    kit = open_kit(
        "memory-game",
        {"symbols": ["Sun", "sun", "SUN"], "win_message": "All found!"},
        reduced_motion="reduce",
    )
    page = kit.page
    assert page.locator(".tile").count() == 4
    solve(page)
    assert page.locator("#pairs").inner_text() == "2/2"
    assert page.locator("#win h2").inner_text() == "All found!"
    kit.assert_clean()
