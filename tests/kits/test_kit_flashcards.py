"""The flashcards kit in Chromium: cards flip, move, shuffle and are marked; progress is kept."""

from tests.kits.conftest import KitPage

DEFAULT_FRONTS = ["Hola", "Gracias", "Por favor", "Buenos días"]


def front(page) -> str:
    return page.locator("#front-text").inner_text()


def back(page) -> str:
    return page.locator("#back-text").inner_text()


def is_flipped(page) -> bool:
    return "is-flipped" in page.locator("#flashcard").get_attribute("class")


def test_flashcards_flip_and_move_with_mouse_and_keys(open_kit) -> None:
    kit: KitPage = open_kit("flashcards")
    page = kit.page
    assert page.locator("#position").inner_text() == "Card 1 of 8"
    assert front(page) == "Hola"
    assert page.locator("#back-side").get_attribute("aria-hidden") == "true"

    page.locator("#flashcard").click()
    assert is_flipped(page)
    assert back(page) == "Hello"
    assert page.locator("#front-side").get_attribute("aria-hidden") == "true"
    assert page.locator("#announce").inner_text() == "Back: Hello"

    page.keyboard.press("ArrowRight")
    assert front(page) == "Gracias"
    assert not is_flipped(page)  # a new card always starts front up
    page.locator("body").focus()
    page.keyboard.press("Space")
    assert is_flipped(page)
    assert back(page) == "Thank you"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps round to the last card
    assert page.locator("#position").inner_text() == "Card 8 of 8"
    page.get_by_role("button", name="Next card").click()
    assert front(page) == "Hola"
    page.get_by_role("button", name="Previous card").click()
    assert page.locator("#position").inner_text() == "Card 8 of 8"
    kit.assert_clean()


def test_flashcards_marks_progress_and_practise_round(open_kit) -> None:
    kit = open_kit("flashcards", {"cards": ["One | 1", "Two | 2", "Three | 3"]})
    page = kit.page
    knew = page.get_by_role("button", name="I knew it")
    again = page.get_by_role("button", name="Again", exact=True)
    knew.click()
    assert front(page) == "Two"
    assert page.locator("#tally").inner_text() == "1 known · 0 again · 2 left"
    assert page.locator("#progress").get_attribute("aria-valuenow") == "1"
    again.click()
    knew.click()
    done = page.locator("#done")
    assert done.is_visible()
    assert page.locator("#done-detail").inner_text() == "You knew 2 of 3. 1 to practise again."

    page.reload()  # progress is remembered
    assert page.locator("#tally").inner_text() == "2 known · 1 again · 0 left"

    page.get_by_role("button", name="Practise the missed cards").click()
    assert page.locator("#position").inner_text() == "Card 1 of 1 (practising)"
    assert front(page) == "Two"
    knew.click()
    assert page.locator("#done-detail").inner_text() == "You knew 3 of 3. Every card known!"
    assert page.get_by_role("button", name="Practise the missed cards").is_hidden()
    page.get_by_role("button", name="Start over").click()
    assert page.locator("#tally").inner_text() == "0 known · 0 again · 3 left"
    assert page.locator("#position").inner_text() == "Card 1 of 3"
    kit.assert_clean()


def test_flashcards_shuffle_keeps_every_card(open_kit) -> None:
    kit = open_kit("flashcards")
    page = kit.page
    page.get_by_role("button", name="Shuffle").click()
    assert page.locator("#position").inner_text() == "Card 1 of 8"
    seen = set()
    for _ in range(8):
        seen.add(front(page))
        page.keyboard.press("ArrowRight")
    assert len(seen) == 8
    assert set(DEFAULT_FRONTS) <= seen
    kit.assert_clean()


def test_flashcards_slots_and_odd_items(open_kit) -> None:
    kit = open_kit(
        "flashcards",
        {
            "title": "Capitals",
            "subtitle": "Learn the capitals of Europe.",
            "cards": ["France | Paris", "Just a front", "A | B | C", "x|y"],
            "knew_label": "Got it",
            "again_label": "Not yet",
            "shuffle_label": "Mix",
            "accent": "green",
            "background": "navy",
        },
        color_scheme="dark",
    )
    page = kit.page
    assert page.title() == "Capitals"
    assert page.locator("h1").inner_text() == "Capitals"
    assert page.locator(".subtitle").inner_text() == "Learn the capitals of Europe."
    assert (front(page), back(page)) == ("France", "Paris")
    page.get_by_role("button", name="Got it").click()
    assert (front(page), back(page)) == ("Just a front", "—")
    page.get_by_role("button", name="Not yet").click()
    assert (front(page), back(page)) == ("A", "B | C")
    page.keyboard.press("ArrowRight")
    assert (front(page), back(page)) == ("x|y", "—")
    page.get_by_role("button", name="Mix").click()
    assert page.locator("#position").inner_text() == "Card 1 of 4"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 128)"
    kit.assert_clean()


def test_flashcards_with_a_single_card(open_kit) -> None:
    kit = open_kit("flashcards", {"cards": ["Only card"]})
    page = kit.page
    assert page.locator("#position").inner_text() == "Card 1 of 1"
    page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="Shuffle").click()
    assert (front(page), back(page)) == ("Only card", "—")
    page.get_by_role("button", name="I knew it").click()
    assert page.locator("#done-detail").inner_text() == "You knew 1 of 1. Every card known!"
    kit.assert_clean()
