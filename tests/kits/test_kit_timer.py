"""The timer kit in Chromium: presets, countdown, pause, reset, the finished state, slots."""

from tests.kits.conftest import KitPage


def _frozen(kit: KitPage) -> None:
    """Playwright's fake clock, paused, so the countdown moves only when the test says."""
    kit.page.clock.install(time=1_000_000)
    kit.page.reload()
    kit.page.clock.pause_at(1_000_500)


def test_timer_counts_down_pauses_and_resets(open_kit) -> None:
    kit: KitPage = open_kit("timer")
    page = kit.page
    _frozen(kit)
    time = page.locator("#time")
    assert time.inner_text() == "25:00"
    assert page.locator(".chip[aria-pressed='true']").inner_text().startswith("Focus")

    page.get_by_role("button", name="Short break").click()
    assert time.inner_text() == "05:00"
    page.get_by_role("button", name="Start").click()
    assert page.get_by_role("button", name="Pause").is_visible()
    page.clock.run_for(61_000)
    assert time.inner_text() == "03:59"
    assert page.title().startswith("03:59")
    offset = float(page.locator("#ring-progress").get_attribute("stroke-dashoffset"))
    assert 20 < offset < 21  # 61 s of 300 s gone

    page.get_by_role("button", name="Pause").click()
    page.clock.run_for(10_000)
    assert time.inner_text() == "03:59"
    assert page.locator("#state").inner_text().lower().startswith("paused")

    page.get_by_role("button", name="Reset").click()
    assert time.inner_text() == "05:00"
    assert page.title() == "Focus Timer"
    kit.assert_clean()


def test_timer_finishes_with_a_message(open_kit) -> None:
    kit = open_kit(
        "timer",
        {
            "title": "Egg timer",
            "presets": ["Soft | 0.05", "no number here", "Hard | 9"],
            "default_minutes": 9,
            "done_text": "Eggs are ready",
        },
    )
    page = kit.page
    _frozen(kit)
    chips = page.locator("#presets .chip")
    assert chips.count() == 2  # the item without minutes is left out
    assert page.locator(".chip[aria-pressed='true']").inner_text().startswith("Hard")
    assert page.locator("#time").inner_text() == "09:00"

    page.get_by_role("button", name="Soft").click()
    assert page.locator("#time").inner_text() == "00:03"
    page.get_by_role("button", name="Start").click()
    assert not page.locator("#done").is_visible()
    page.clock.run_for(4_000)
    assert page.locator("#done").is_visible()
    assert page.locator("#done").inner_text().strip() == "Eggs are ready"
    assert page.locator("#time").inner_text() == "00:00"
    assert page.title() == "Eggs are ready · Egg timer"
    assert page.get_by_role("button", name="Start").is_visible()  # start again
    kit.assert_clean()


def test_timer_custom_minutes_and_keys(open_kit) -> None:
    kit = open_kit("timer")
    page = kit.page
    minutes = page.get_by_label("Custom minutes")
    minutes.fill("90")
    minutes.press("Enter")
    assert page.locator("#time").inner_text() == "1:30:00"
    assert page.locator(".chip[aria-pressed='true']").count() == 0

    minutes.fill("")
    minutes.press("Enter")
    assert minutes.get_attribute("aria-invalid") == "true"
    assert "1 to 180" in page.locator("#minutes-help").inner_text()
    minutes.fill("999")
    minutes.press("Enter")
    assert page.locator("#time").inner_text() == "3:00:00"
    assert minutes.input_value() == "180"

    page.locator("h1").click()
    page.keyboard.press("Space")
    assert page.locator("#toggle").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Space")
    assert page.locator("#toggle").get_attribute("aria-pressed") == "false"
    page.keyboard.press("r")
    assert page.locator("#time").inner_text() == "3:00:00"
    assert page.locator("#state").inner_text().lower().startswith("ready")
    kit.assert_clean()


def test_timer_copes_with_odd_slot_values(open_kit) -> None:
    kit = open_kit(
        "timer",
        {"presets": ["just words"], "default_minutes": 180, "done_text": "x"},
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
    )
    page = kit.page
    assert page.locator("#presets").is_hidden()
    assert page.locator("#time").inner_text() == "3:00:00"
    page.get_by_role("button", name="Start").click()
    assert page.get_by_role("button", name="Pause").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    kit.assert_clean()
