"""Requests people type, and the kit each should start from."""

import pytest

from gemma_chat.kits.match import rank, stem, words

CASES = [
    ("a stopwatch with start, stop and reset", "stopwatch"),
    ("a counter page with a button", "counter"),
    ("a to-do list for my groceries", "todo"),
    ("a shopping list", "todo"),
    ("a tip calculator that splits the bill between friends", "tip-splitter"),
    ("a quiz about the solar system", "quiz"),
    ("a pomodoro timer", "timer"),
    ("a countdown to new year", "timer"),
    ("a calculator", "calculator"),
    ("convert celsius to fahrenheit", "converter"),
    ("roll two dice", "dice"),
    ("a memory matching game with animals", "memory-game"),
    ("guess the number game", "guessing-game"),
    ("a contact form with email validation", "form"),
    ("a habit tracker for drinking water", "habit-tracker"),
    ("a notes app that saves my notes", "notes"),
    ("a photo gallery of my travels", "gallery"),
    ("a dark mode toggle with colour themes", "theme-switcher"),
    ("a drawing pad where I can sketch", "drawing"),
    ("pick a random name from Alice, Bob and Carol", "random-picker"),
    ("a random quote generator with motivational quotes", "random-picker"),
    ("a landing page for my bakery", "landing"),
    ("a mood tracker", "habit-tracker"),
    ("a countdown timer for 10 minutes", "timer"),
    ("a unit converter for cooking", "converter"),
    ("a page that flips a coin when I press a button", "random-picker"),
    ("heads or tails", "random-picker"),
]


@pytest.mark.parametrize(("request_text", "kit"), CASES)
def test_requests_start_from_the_kit_they_describe(request_text: str, kit: str) -> None:
    choice = rank(request_text)
    assert choice.kit == kit, [(r.name, r.score, r.matched) for r in choice.ranked[:3]]
    assert kit not in choice.alternatives()


@pytest.mark.parametrize(
    "request_text",
    ["the history of the roman empire", "a snake game", "a tic tac toe game", "a weather app"],
)
def test_a_word_many_kits_share_is_no_match(request_text: str) -> None:
    """'game' alone does not make a snake game a guessing game: the general page it is."""
    assert rank(request_text).kit is None


def test_words_fold_spellings_and_endings() -> None:
    assert words("To-Do lists") == ["todo", "list"]
    assert stem("celsius") == "celsius" and stem("rolling") == "roll" and stem("notes") == "note"
