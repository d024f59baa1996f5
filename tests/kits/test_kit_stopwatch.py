"""The stopwatch kit in Chromium: start/stop, laps with best and worst, keys, slots."""

import re

from tests.kits.conftest import KitPage


def _frozen(kit: KitPage) -> None:
    """Playwright's fake clock, paused, so every time shown is exact."""
    kit.page.clock.install(time=1_000_000)
    kit.page.reload()
    kit.page.clock.pause_at(1_000_500)


def test_stopwatch_times_laps_and_resets(open_kit) -> None:
    kit: KitPage = open_kit("stopwatch")
    page = kit.page
    _frozen(kit)
    display = page.locator("#display")
    assert display.inner_text() == "00:00.00"
    assert page.get_by_role("button", name="Lap").is_disabled()

    page.get_by_role("button", name="Start").click()
    assert page.get_by_role("button", name="Stop").is_visible()
    page.clock.run_for(1000)
    page.get_by_role("button", name="Lap").click()
    page.clock.run_for(2500)
    page.keyboard.press("l")
    page.clock.run_for(1200)
    page.keyboard.press("L")
    page.get_by_role("button", name="Stop").click()

    assert display.inner_text() == "00:04.70"
    rows = page.locator("#laps li")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split()[:2] == ["#3", "00:01.20"]  # newest first
    assert page.locator(".lap.best .lap-no").inner_text() == "#1"
    assert page.locator(".lap.best .mark").inner_text().lower() == "best"
    assert page.locator(".lap.worst .lap-no").inner_text() == "#2"
    assert page.locator("#lap-count").inner_text() == "3 of 50"
    assert page.get_by_role("button", name="Lap").is_disabled()

    # Stopped time and laps survive a reload.
    page.reload()
    assert page.locator("#display").inner_text() == "00:04.70"
    assert page.locator("#laps li").count() == 3

    page.keyboard.press("r")
    assert page.locator("#display").inner_text() == "00:00.00"
    assert page.locator("#laps li").count() == 0
    assert page.locator("#laps-empty").is_visible()
    kit.assert_clean()


def test_stopwatch_space_starts_and_stops(open_kit) -> None:
    kit = open_kit("stopwatch")
    page = kit.page
    toggle = page.locator("#toggle")
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(150)
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert re.fullmatch(r"00:00\.\d\d", page.locator("#display").inner_text())
    assert page.locator("#display").inner_text() != "00:00.00"
    assert page.locator("#state").inner_text().lower() == "stopped"
    kit.assert_clean()


def test_stopwatch_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "stopwatch",
        {
            "title": "Race timer",
            "subtitle": "Two laps round the park",
            "start_label": "Go",
            "stop_label": "Halt",
            "lap_label": "Split",
            "reset_label": "Clear",
            "max_laps": 2,
        },
    )
    page = kit.page
    assert page.title() == "Race timer"
    assert page.locator("h1").inner_text() == "Race timer"
    assert page.locator(".subtitle").inner_text() == "Two laps round the park"
    page.get_by_role("button", name="Go").click()
    split = page.get_by_role("button", name="Split")
    split.click()
    split.click()
    assert split.is_disabled()
    assert page.locator("#laps li").count() == 2
    assert page.locator("#lap-count").inner_text() == "2 of 2"
    assert page.locator("#lap-limit").is_visible()
    page.keyboard.press("l")  # over the limit: ignored
    assert page.locator("#laps li").count() == 2
    page.get_by_role("button", name="Halt").click()
    page.get_by_role("button", name="Clear").click()
    assert page.locator("#display").inner_text() == "00:00.00"
    kit.assert_clean()


def test_stopwatch_on_a_dark_phone(open_kit) -> None:
    kit = open_kit(
        "stopwatch", color_scheme="dark", viewport={"width": 360, "height": 740}, has_touch=True
    )
    page = kit.page
    page.get_by_role("button", name="Start").tap()
    page.get_by_role("button", name="Lap").tap()
    assert page.locator("#laps li").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    kit.assert_clean()
