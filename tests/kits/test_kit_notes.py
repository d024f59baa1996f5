"""The notes kit in Chromium: create, edit with autosave, search, delete with undo."""

from tests.kits.conftest import KitPage


def test_notes_create_edit_search_and_delete(open_kit) -> None:
    kit: KitPage = open_kit("notes")
    page = kit.page
    items = page.locator("#note-list .note-item")
    assert items.count() == 3
    assert page.get_by_label("Title").input_value() == "Welcome"

    page.get_by_role("button", name="New note").click()
    assert items.count() == 4
    assert page.evaluate("document.activeElement.id") == "note-title"
    page.keyboard.type("Packing list")
    page.keyboard.press("Enter")  # Enter in the title moves on to the body
    page.keyboard.type("Passport, charger, sunscreen")
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    assert items.first.locator(".note-title").inner_text() == "Packing list"
    assert "Passport" in items.first.locator(".note-snippet").inner_text()

    page.get_by_label("Search notes").fill("sunscreen")
    assert items.count() == 1
    assert page.locator("#search-status").inner_text() == "1 note found"
    page.get_by_label("Search notes").fill("zebra")
    assert items.count() == 0
    assert page.locator("#no-match").is_visible()
    page.get_by_label("Search notes").fill("")
    assert items.count() == 4

    page.reload()
    assert page.locator("#note-list .note-title").first.inner_text() == "Packing list"
    page.locator("#note-list .note-item").first.click()
    assert page.get_by_label("Note", exact=True).input_value() == "Passport, charger, sunscreen"

    page.get_by_role("button", name="Delete note: Packing list").click()
    assert items.count() == 3
    assert page.locator("#undo-bar").is_visible()
    page.get_by_role("button", name="Undo").click()
    assert items.count() == 4
    assert page.get_by_label("Title").input_value() == "Packing list"
    kit.assert_clean()


def test_notes_slots_and_odd_items(open_kit) -> None:
    kit = open_kit(
        "notes",
        {
            "title": "Recipe box",
            "new_label": "Add recipe",
            "search_hint": "Find a recipe",
            "empty_text": "No recipes yet.",
            "notes": ["Pancakes | flour | milk | eggs", "Just a title", "| body only", "y" * 240],
        },
    )
    page = kit.page
    assert page.title() == "Recipe box"
    assert page.locator("h1").inner_text() == "Recipe box"
    assert page.get_by_placeholder("Find a recipe").is_visible()
    titles = page.locator("#note-list .note-title").all_inner_texts()
    assert titles == ["Pancakes", "Just a title", "Untitled note", "y" * 240]
    assert page.get_by_label("Note", exact=True).input_value() == "flour\nmilk\neggs"
    # Delete everything: the empty text from the slot shows.
    for _ in range(4):
        page.locator("#delete-note").click()
    assert page.locator("#empty").inner_text() == "No recipes yet."
    page.get_by_role("button", name="Add recipe").click()
    assert page.locator("#note-list .note-item").count() == 1
    kit.assert_clean()


def test_notes_on_a_dark_phone_switch_between_list_and_note(open_kit) -> None:
    kit = open_kit(
        "notes", color_scheme="dark", viewport={"width": 360, "height": 740}, has_touch=True
    )
    page = kit.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert not page.locator("#editor").is_visible()
    page.locator(".note-item", has_text="Books to read").tap()
    assert page.locator("#editor").is_visible()
    assert not page.locator(".list-pane").is_visible()
    assert page.get_by_label("Title").input_value() == "Books to read"
    page.get_by_role("button", name="All notes").tap()
    assert page.locator(".list-pane").is_visible()
    kit.assert_clean()
