"""The gallery kit in Chromium: tag chips and search filter the tiles, a tile opens its
details in a dialog (arrows step, Esc closes); slots carry through, odd cards included."""

from tests.kits.conftest import KitPage


def titles(page) -> list[str]:
    return page.locator("#grid .tile-title").all_inner_texts()


def test_gallery_filters_searches_and_opens_details(open_kit) -> None:
    kit: KitPage = open_kit("gallery")
    page = kit.page
    assert page.locator("#grid .tile").count() == 9
    assert page.locator("#result-count").inner_text() == "9 cards"
    assert page.locator("#grid .thumb svg").count() == 9

    page.get_by_role("button", name="Food", exact=True).click()
    assert titles(page) == ["Lemon tart café", "Noodle bar"]
    assert (
        page.get_by_role("button", name="Food", exact=True).get_attribute("aria-pressed") == "true"
    )
    assert page.locator("#result-count").inner_text() == "Showing 2 of 9 cards"
    page.get_by_role("button", name="All", exact=True).click()

    search = page.get_by_placeholder("Search by name, note or tag")
    search.fill("CAFE")  # case- and accent-insensitive
    assert titles(page) == ["Lemon tart café"]
    search.fill("zzz")
    assert page.locator("#empty").is_visible()
    page.get_by_role("button", name="Show everything").click()
    assert page.locator("#grid .tile").count() == 9

    page.locator("#grid .tile").nth(1).click()
    dialog = page.locator("#detail")
    assert dialog.is_visible()
    assert page.locator("#detail-title").inner_text() == "Lemon tart café"
    assert page.locator("#detail-pos").inner_text() == "2 / 9"
    page.keyboard.press("ArrowRight")
    assert page.locator("#detail-title").inner_text() == "Beech wood trail"
    page.get_by_role("button", name="Previous card").click()
    page.get_by_role("button", name="Previous card").click()
    assert page.locator("#detail-title").inner_text() == "Harbour at dawn"
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    # Focus returns to the tile last shown (the close event runs just after hiding).
    page.wait_for_function("document.activeElement.dataset.id === '0'", timeout=2000)

    page.keyboard.press("Enter")  # the focused tile opens again from the keyboard
    assert dialog.is_visible()
    page.get_by_role("button", name="Close", exact=True).click()
    assert dialog.is_hidden()

    page.get_by_role("button", name="Nature", exact=True).click()
    page.reload()  # the chosen tag is remembered
    assert page.locator("#grid .tile").count() == 3
    kit.assert_clean()


def test_gallery_slots_and_odd_cards(open_kit) -> None:
    cards = [
        "Plain title only",
        "Two parts | just a description",
        "Three | with a tag | Red",
        "Four | parts | here | red",
        " | leading empty | Blue",
        "x" * 160,
    ] + [f"Card {n} | Number {n} | {'Odd' if n % 2 else 'Even'}" for n in range(18)]
    kit = open_kit(
        "gallery",
        {
            "title": "Team projects",
            "cards": cards,
            "search_hint": "Find a project",
            "all_label": "Everything",
            "empty_text": "No project by that name.",
        },
    )
    page = kit.page
    assert page.title() == "Team projects"
    assert page.locator("#grid .tile").count() == 24
    assert page.locator("#result-count").inner_text() == "24 cards"
    chips = page.locator("#chips .chip")
    assert chips.first.inner_text() == "Everything"
    assert [chip.get_attribute("title") for chip in chips.all()[1:]] == [
        "Red",
        "Blue",
        "Even",
        "Odd",
    ]
    page.locator('#chips [data-tag="red"]').click()  # "Red" and "red" are one tag
    assert titles(page) == ["Three", "Four"]
    page.locator("#grid .tile").nth(1).click()
    assert page.locator("#detail-desc").inner_text() == "parts | here"
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Everything").click()

    page.get_by_placeholder("Find a project").fill("nothing like this")
    assert page.locator("#empty").inner_text().startswith("No project by that name.")
    page.keyboard.press("Escape")  # clears the search
    assert page.locator("#grid .tile").count() == 24
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    kit.assert_clean()


def test_gallery_single_card_on_a_dark_phone(open_kit) -> None:
    kit = open_kit(
        "gallery",
        {"cards": ["Only one"]},
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
        has_touch=True,
    )
    page = kit.page
    assert page.locator("#chips").is_hidden()  # nothing to filter between
    assert page.locator("#result-count").inner_text() == "1 card"
    page.locator("#grid .tile").tap()
    assert page.locator("#detail-title").inner_text() == "Only one"
    assert page.get_by_role("button", name="Next card").is_disabled()
    assert page.locator("#detail-tag").is_hidden()
    page.get_by_role("button", name="Close", exact=True).tap()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    kit.assert_clean()
