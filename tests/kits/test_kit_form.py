"""The form kit in Chromium: inline errors tied to their fields, then a summary."""

from tests.kits.conftest import KitPage


def test_form_shows_errors_then_success(open_kit) -> None:
    kit: KitPage = open_kit("form")
    page = kit.page
    send = page.get_by_role("button", name="Send message")
    send.click()
    for field in ("name", "email", "topic", "message", "consent"):
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#{field}-error").inner_text()
        assert f"{field}-error" in page.locator(f"#{field}").get_attribute("aria-describedby")
    assert page.locator("#form-status").inner_text() == "5 fields need your attention."
    assert page.evaluate("document.activeElement.id") == "name"

    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    assert page.locator("#name").get_attribute("aria-invalid") is None
    page.get_by_label("Email", exact=True).fill("ada@example")
    assert "name@example.com" in page.locator("#email-error").inner_text()
    page.get_by_label("Email", exact=True).fill("ada@example.com")
    assert page.locator("#email-error").inner_text() == ""
    page.get_by_label("Topic", exact=True).select_option("Feedback")
    message = page.get_by_role("textbox", name="Message")
    message.fill("Too short")
    assert "11 more characters" in page.locator("#message-error").inner_text()
    assert page.locator("#message-count").inner_text() == "9 / 20"
    message.fill("Lovely app, thank you for making it!")
    page.get_by_role("checkbox").check()
    assert page.locator("#form-status").inner_text() == ""

    send.click()
    success = page.locator("#success")
    assert success.is_visible()
    assert not page.locator("#contact-form").is_visible()
    assert page.evaluate("document.activeElement.id") == "success-heading"
    summary = page.locator("#summary").inner_text()
    for value in ("Ada Lovelace", "ada@example.com", "Feedback", "Lovely app"):
        assert value in summary

    page.get_by_role("button", name="Write another").click()
    assert page.get_by_label("Name", exact=True).input_value() == ""
    assert page.locator("#name-error").inner_text() == ""
    kit.assert_clean()


def test_form_keeps_a_draft_and_submits_from_the_keyboard(open_kit) -> None:
    kit = open_kit("form")
    page = kit.page
    page.get_by_label("Name", exact=True).fill("Grace")
    page.get_by_label("Email", exact=True).fill("grace@navy.mil")
    page.reload()
    assert page.get_by_label("Name", exact=True).input_value() == "Grace"
    page.get_by_label("Topic", exact=True).select_option(index=1)
    page.get_by_role("textbox", name="Message").fill("Please add a dark theme toggle.")
    page.get_by_role("checkbox").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.locator("#success").is_visible()
    page.reload()
    assert page.get_by_label("Name", exact=True).input_value() == ""  # the draft went with the send
    kit.assert_clean()


def test_form_slots_reach_the_page(open_kit) -> None:
    kit = open_kit(
        "form",
        {
            "title": "Join the club",
            "subtitle": "Sign up for the monthly walk.",
            "topic_label": "Walk",
            "message_label": "Anything else?",
            "consent_text": "Email me about club walks.",
            "submit_label": "Sign me up",
            "success_text": "You're on the list!",
            "topics": ["March: Coast path", "April | Hills", "x" * 40],
            "min_message": 0,
        },
        viewport={"width": 360, "height": 740},
    )
    page = kit.page
    assert page.title() == "Join the club"
    assert page.locator("h1").inner_text() == "Join the club"
    assert page.locator("#optional").is_visible()
    options = page.locator("#topic option").all_inner_texts()
    assert options[1:] == ["March: Coast path", "April | Hills", "x" * 40]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("Name", exact=True).fill("Sam")
    page.get_by_label("Email", exact=True).fill("sam@walks.org")
    page.get_by_label("Walk", exact=True).select_option("April | Hills")
    page.get_by_label("Email me about club walks.").check()
    page.get_by_role("button", name="Sign me up").click()
    assert page.locator("#success-heading").inner_text() == "You're on the list!"
    assert "April | Hills" in page.locator("#summary").inner_text()
    kit.assert_clean()


def test_form_in_dark_mode_with_the_longest_message_minimum(open_kit) -> None:
    kit = open_kit("form", {"min_message": 500}, color_scheme="dark")
    page = kit.page
    page.get_by_role("textbox", name="Message").fill("a" * 499)
    page.get_by_role("button", name="Send message").click()
    assert "1 more character." in page.locator("#message-error").inner_text()
    page.get_by_role("textbox", name="Message").fill("a" * 500)
    assert page.locator("#message-error").inner_text() == ""
    kit.assert_clean()
