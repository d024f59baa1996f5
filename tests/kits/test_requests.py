"""Slot values read straight from what the user wrote."""

import pytest

from gemma_chat.agent.kit_flow import fit_to_budget, title_from_request
from gemma_chat.kits import default_library
from gemma_chat.kits.colors import contrast, palette, parse_color
from gemma_chat.kits.requests import read_request


def manifest(name: str):  # type: ignore[no-untyped-def]
    return default_library().manifest(name)


@pytest.mark.parametrize(
    ("kit", "request_text", "expected"),
    [
        ("counter", "make the background dark blue", {"background": "#00008b"}),
        ("counter", "a green counter called Push Ups", {"title": "Push Ups", "accent": "#22a355"}),
        ("counter", "count by 5 steps starting from 10", {"step": 5, "start": 10}),
        ("counter", "change the subtitle to Count your sheep", {"subtitle": "Count your sheep"}),
        ("counter", 'set the title to "Sheep"', {"title": "Sheep"}),
        ("counter", "red buttons on a light yellow page", {"accent": "#e53935"}),
        ("timer", "a 45 minute timer", {"default_minutes": 45}),
        ("guessing-game", "guess a number from 1 to 50", {"min_number": 1, "max_number": 50}),
        (
            "random-picker",
            "pick a random name from Alice, Bob, Carol and Dan",
            {"items": ["Alice", "Bob", "Carol", "Dan"]},
        ),
        ("counter", "add a chart of my progress", {}),
    ],
)
def test_values_the_request_states(kit: str, request_text: str, expected: dict) -> None:
    found = read_request(request_text, manifest(kit)).values
    for key, value in expected.items():
        assert found.get(key) == value, found
    if not expected:
        assert found == {}


def test_a_kit_preset_follows_the_request_s_words_and_what_is_stated_wins() -> None:
    coin = read_request("a page that flips a coin when I press a button", manifest("random-picker"))
    assert coin.values["items"] == ["Heads", "Tails"]
    assert coin.values["title"] == "Coin flip"
    named = read_request("flip a coin called Lucky", manifest("random-picker"))
    assert named.values["title"] == "Lucky" and named.values["items"] == ["Heads", "Tails"]
    assert "items" not in read_request("pick a dinner", manifest("random-picker")).values


def test_a_stated_value_over_its_limit_is_left_out_and_said() -> None:
    found = read_request("call it " + "Very " * 12 + "Long", manifest("counter"))
    assert "title" not in found.values
    assert found.notes and "limit" in found.notes[0]


def test_adding_to_a_list_keeps_what_is_there() -> None:
    found = read_request(
        "add Dave and Eve to the names", manifest("random-picker"), {"items": ["Ann", "Bo"]}
    )
    assert found.values["items"] == ["Ann", "Bo", "Dave", "Eve"]


@pytest.mark.parametrize(
    ("request_text", "title"),
    [
        ("a stopwatch with start, stop and reset", "Stopwatch"),
        ("Make me a to-do list for my weekend chores", "To-do list"),
        ("I need a tip calculator that splits the bill", "Tip calculator"),
        ("build a pomodoro timer for studying", "Pomodoro timer"),
        ("a landing page for my bakery", "Bakery"),
        ("a page about the history of the Roman empire", "History of the Roman empire"),
    ],
)
def test_titles_come_from_the_request(request_text: str, title: str) -> None:
    assert title_from_request(request_text, 40) == title


def test_texts_are_cut_at_a_word_within_their_budget() -> None:
    assert fit_to_budget("Count every push-up you do today", 20) == "Count every push-up"
    assert fit_to_budget("   ", 20) is None


def test_chosen_colours_keep_the_page_readable() -> None:
    for background in ("#00008b", "#ffffff", "#808080", parse_color("light yellow")):
        tokens = palette(background, parse_color("navy"))
        assert contrast(tokens["--text"], tokens["--bg"]) >= 4.5
        assert contrast(tokens["--accent"], tokens["--bg"]) >= 3
        assert contrast(tokens["--accent-text"], tokens["--accent"]) >= 4.5
