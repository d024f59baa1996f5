"""The quiz kit in Chromium: answer by click and key, see feedback and the score; any item works."""

from tests.kits.conftest import KitPage


def answer_texts(page) -> list[str]:
    return page.locator("#answers .answer-text").all_inner_texts()


def test_quiz_plays_through_with_mouse_and_keys(open_kit) -> None:
    kit: KitPage = open_kit("quiz")
    page = kit.page
    assert page.locator("#progress-text").inner_text() == "1 / 10"
    assert (
        page.locator("#question").inner_text() == "What is the largest planet in our solar system?"
    )
    assert sorted(answer_texts(page)) == ["Earth", "Jupiter", "Neptune", "Saturn"]

    page.get_by_role("button", name="Jupiter").click()
    assert page.locator("#feedback").inner_text() == "Correct!"
    assert page.locator("#score-chip").inner_text() == "Score: 1"
    assert page.get_by_role("button", name="Jupiter").is_disabled()
    assert "right" in page.get_by_role("button", name="Jupiter").get_attribute("class")

    page.keyboard.press("Enter")
    assert page.locator("#progress-text").inner_text() == "2 / 10"
    assert page.locator("#feedback").inner_text() == ""

    # A wrong answer by number key: the right one is shown.
    texts = answer_texts(page)
    wrong = next(i for i, text in enumerate(texts) if text != "7")
    page.keyboard.press(str(wrong + 1))
    assert page.locator("#feedback").inner_text() == "Not quite. The answer is 7."
    assert page.locator("#score-chip").inner_text() == "Score: 1"
    page.keyboard.press("9")  # out of range, and already answered: ignored
    assert page.locator("#score-chip").inner_text() == "Score: 1"

    for number in range(3, 11):
        page.keyboard.press("Enter")
        assert page.locator("#progress-text").inner_text() == f"{number} / 10"
        page.keyboard.press("1")
    page.get_by_role("button", name="Next").click()

    result = page.locator("#result")
    assert result.is_visible()
    score = page.locator("#final-score").inner_text()
    got, total = (int(part) for part in score.split(" / "))
    assert total == 10 and 1 <= got <= 9
    assert page.locator("#best").inner_text() == f"Best: {got} / 10"

    page.get_by_role("button", name="Play again").click()
    assert page.locator("#progress-text").inner_text() == "1 / 10"
    assert page.locator("#score-chip").inner_text() == "Score: 0"
    assert not result.is_visible()
    kit.assert_clean()


def test_quiz_slots_and_odd_items(open_kit) -> None:
    kit = open_kit(
        "quiz",
        {
            "title": "Space quiz",
            "next_label": "Onward",
            "reveal_label": "Tell me",
            "correct_label": "Stellar!",
            "wrong_label": "Nope, it is",
            "restart_label": "Again",
            "questions": [
                "Closest star to Earth? | The Sun | Sirius | Proxima Centauri",
                "A card with no answers at all",
                "Capital of France? | Paris",
                " | Left | Right",
                "Same twice | Moon | moon",
            ],
        },
    )
    page = kit.page
    assert page.title() == "Space quiz"
    assert page.locator("h1").inner_text() == "Space quiz"
    assert page.locator("#progress-text").inner_text() == "1 / 5"

    page.get_by_role("button", name="Sirius").click()
    assert page.locator("#feedback").inner_text() == "Nope, it is The Sun."
    page.get_by_role("button", name="Onward").click()

    # No answers: a card to read, with just the next button.
    assert page.locator("#question").inner_text() == "A card with no answers at all"
    assert page.locator("#answers button").count() == 0
    assert not page.get_by_role("button", name="Tell me").is_visible()
    page.keyboard.press("Enter")

    # One answer: a flashcard revealed with the button (or Enter).
    assert page.locator("#question").inner_text() == "Capital of France?"
    assert page.locator("#answers button").count() == 0
    page.keyboard.press("Enter")
    assert page.locator("#feedback").inner_text() == "Paris"
    page.get_by_role("button", name="Onward").click()

    # No question text: still a question.
    assert page.locator("#question").inner_text() == "Choose the right answer."
    page.get_by_role("button", name="Left").click()
    assert page.locator("#feedback").inner_text() == "Stellar!"
    page.keyboard.press("Enter")

    # Repeated answers collapse to one: a flashcard.
    assert page.locator("#question").inner_text() == "Same twice"
    page.get_by_role("button", name="Tell me").click()
    assert page.locator("#feedback").inner_text() == "Moon"
    page.keyboard.press("Enter")

    # Only the two multiple-choice questions count.
    assert page.locator("#final-score").inner_text() == "1 / 2"
    page.keyboard.press("Enter")
    assert page.locator("#progress-text").inner_text() == "1 / 5"
    assert page.get_by_role("button", name="Again").is_hidden()
    kit.assert_clean()


def test_quiz_at_the_slot_limits(open_kit) -> None:
    many = " | ".join(["Pick A", *[f"Option {n}" for n in range(1, 16)]])[:160]
    single = "Just one question with no choices at all"
    kit = open_kit(
        "quiz",
        {"questions": [many] + ["Q | a | b"] * 29},
        viewport={"width": 360, "height": 780},
    )
    page = kit.page
    assert page.locator("#progress-text").inner_text() == "1 / 30"
    assert page.locator("#answers button").count() == 6  # capped
    assert "Option 1" in answer_texts(page)
    page.keyboard.press("6")
    assert page.locator("#feedback").inner_text() != ""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()

    kit = open_kit("quiz", {"questions": [single]})
    page = kit.page
    assert page.locator("#progress-text").inner_text() == "1 / 1"
    page.get_by_role("button", name="Next").click()
    assert page.locator("#final-score").inner_text() == "1 / 1"
    assert page.locator("#verdict").inner_text() == "All cards reviewed."
    kit.assert_clean()
