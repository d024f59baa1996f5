"""The habit-tracker kit in Chromium: tick days, streaks, keyboard, add/remove, slots."""

from tests.kits.conftest import KitPage


def test_habits_tick_days_and_count_streaks(open_kit) -> None:
    kit: KitPage = open_kit("habit-tracker")
    page = kit.page
    habits = page.locator("#habit-list .habit")
    assert habits.count() == 4
    first = habits.first
    days = first.locator(".day")
    assert days.count() == 7
    assert first.locator(".streak-count").inner_text() == "0"

    today = first.locator(".day.is-today")
    assert today.get_attribute("aria-label").startswith("Today")
    today.click()
    assert today.get_attribute("aria-pressed") == "true"
    assert first.locator(".streak-count").inner_text() == "1"
    assert page.locator("#today-summary").inner_text() == "1 of 4 habits done"
    days.nth(5).click()  # yesterday
    days.nth(3).click()  # three days ago: not part of the run
    assert first.locator(".streak-count").inner_text() == "2"
    today.click()  # today still open: the streak runs to yesterday
    assert first.locator(".streak-count").inner_text() == "1"
    assert page.locator("#today-summary").inner_text() == "0 of 4 habits done"

    page.reload()
    first = page.locator("#habit-list .habit").first
    pressed = first.locator('.day[aria-pressed="true"]')
    assert pressed.count() == 2
    assert first.locator(".streak-count").inner_text() == "1"
    kit.assert_clean()


def test_habits_keyboard_add_remove_and_undo(open_kit) -> None:
    kit = open_kit("habit-tracker")
    page = kit.page
    second = page.locator("#habit-list .habit").nth(1)
    second.locator(".day.is-today").focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    assert second.locator(".day").nth(5).get_attribute("aria-pressed") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    third = page.locator("#habit-list .habit").nth(2)
    assert third.locator(".day").nth(5).get_attribute("aria-pressed") == "true"
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    assert page.locator("#today-summary").inner_text() == "1 of 4 habits done"

    page.get_by_label("New habit").fill("Stretch")
    page.get_by_label("New habit").press("Enter")
    habits = page.locator("#habit-list .habit-name")
    assert habits.all_inner_texts()[-1] == "Stretch"
    assert page.locator("#today-summary").inner_text() == "1 of 5 habits done"

    page.get_by_role("button", name="Remove habit: Read for 20 minutes").click()
    assert "Read for 20 minutes" not in habits.all_inner_texts()
    page.get_by_role("button", name="Undo").click()
    assert habits.all_inner_texts()[1] == "Read for 20 minutes"
    assert (
        page.locator("#habit-list .habit")
        .nth(1)
        .locator(".day")
        .nth(5)
        .get_attribute("aria-pressed")
        == "true"
    )
    kit.assert_clean()


def test_habits_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "habit-tracker",
        {
            "title": "Morning routine",
            "habits": ["Meditate | 10 min", "z" * 40] + [f"Habit {n}" for n in range(10)],
            "days": 14,
            "add_label": "Track it",
            "habit_hint": "Another habit",
        },
        viewport={"width": 360, "height": 740},
    )
    page = kit.page
    assert page.title() == "Morning routine"
    assert page.locator("h1").inner_text() == "Morning routine"
    assert page.locator("#habit-list .habit").count() == 12
    assert page.locator("#habit-list .habit").first.locator(".day").count() == 14
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_placeholder("Another habit").fill("Journal")
    page.get_by_role("button", name="Track it").click()
    assert page.locator("#habit-list .habit").count() == 13
    kit.assert_clean()


def test_habits_fewest_days_one_habit_dark(open_kit) -> None:
    kit = open_kit("habit-tracker", {"habits": ["Floss"], "days": 5}, color_scheme="dark")
    page = kit.page
    habit = page.locator("#habit-list .habit")
    assert habit.count() == 1
    assert habit.locator(".day").count() == 5
    habit.locator(".day.is-today").click()
    assert page.locator("#today-summary").inner_text() == "Done for today. Well done!"
    page.get_by_role("button", name="Remove habit: Floss").click()
    assert page.locator("#empty").is_visible()
    assert page.locator("#today-summary").inner_text() == "Nothing to track yet"
    kit.assert_clean()
