"""The todo kit in Chromium: add with Enter, tick, filter, delete, clear done, remember."""

from tests.kits.conftest import KitPage


def test_todo_adds_ticks_filters_and_clears(open_kit) -> None:
    kit: KitPage = open_kit("todo")
    page = kit.page
    tasks = page.locator("#tasks .task")
    assert tasks.count() == 4
    assert page.locator("#left").inner_text() == "4 tasks left"

    box = page.get_by_label("New task")
    box.fill("Pay the electricity bill")
    box.press("Enter")
    assert tasks.count() == 5
    assert tasks.last.inner_text() == "Pay the electricity bill"
    assert box.input_value() == ""
    assert page.evaluate("document.activeElement.id") == "new-task"

    page.get_by_role("checkbox", name="Water the plants").check()
    page.get_by_role("checkbox", name="Pay the electricity bill").check()
    assert page.locator("#left").inner_text() == "3 tasks left"
    assert page.locator(".task.done").count() == 2

    page.locator('[data-filter="active"]').click()
    assert tasks.count() == 3
    assert page.locator('[data-filter="active"]').get_attribute("aria-pressed") == "true"
    page.locator('[data-filter="done"]').click()
    assert sorted(tasks.all_inner_texts()) == ["Pay the electricity bill", "Water the plants"]

    page.get_by_role("button", name="Clear done").click()
    assert page.locator("#filter-empty").is_visible()
    page.locator('[data-filter="all"]').click()
    assert tasks.count() == 3
    page.get_by_role("button", name="Delete: Reply to Sam's email").click()
    assert tasks.all_inner_texts() == ["Buy oat milk and bread", "Book a dentist appointment"]

    page.reload()
    assert tasks.all_inner_texts() == ["Buy oat milk and bread", "Book a dentist appointment"]
    assert page.locator("#left").inner_text() == "2 tasks left"
    kit.assert_clean()


def test_todo_works_from_the_keyboard(open_kit) -> None:
    kit = open_kit("todo", {"items": ["Only task"]})
    page = kit.page
    page.get_by_role("checkbox", name="Only task").focus()
    page.keyboard.press("Space")
    assert page.locator("#left").inner_text() == "All done, nice work!"
    page.keyboard.press("Delete")
    assert page.locator("#tasks .task").count() == 0
    assert page.locator("#empty").is_visible()
    assert page.evaluate("document.activeElement.id") == "new-task"
    page.keyboard.type("  ")
    page.keyboard.press("Enter")
    assert page.locator("#tasks .task").count() == 0
    kit.assert_clean()


def test_todo_slots_reach_the_page(open_kit) -> None:
    odd = ["x" * 80, " | ", "Milk | eggs | flour", "<b>not bold</b>"] + [
        f"Task {n}" for n in range(16)
    ]
    kit = open_kit(
        "todo",
        {
            "title": "Groceries",
            "subtitle": "For Saturday",
            "input_hint": "Add an item",
            "add_label": "Put on list",
            "empty_text": "The basket is empty.",
            "items": odd,
            "accent": "green",
        },
    )
    page = kit.page
    assert page.title() == "Groceries"
    assert page.locator("h1").inner_text() == "Groceries"
    assert page.get_by_placeholder("Add an item").is_visible()
    assert page.locator("#tasks .task").count() == 20
    assert page.locator("#tasks .task").nth(3).inner_text() == "<b>not bold</b>"
    page.get_by_placeholder("Add an item").fill("Apples")
    page.get_by_role("button", name="Put on list").click()
    assert page.locator("#tasks .task").count() == 21
    assert page.get_by_role("button", name="Clear done").is_disabled()
    kit.assert_clean()


def test_todo_on_a_dark_phone(open_kit) -> None:
    kit = open_kit(
        "todo", color_scheme="dark", viewport={"width": 360, "height": 740}, has_touch=True
    )
    page = kit.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("checkbox", name="Book a dentist appointment").tap()
    assert page.locator("#left").inner_text() == "3 tasks left"
    kit.assert_clean()
