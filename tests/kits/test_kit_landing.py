"""The landing kit in Chromium: highlights render, the call to action leads to a sign-up
form that checks the address, thanks the visitor and remembers them; slots carry through."""

from tests.kits.conftest import KitPage

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_landing_signup_flow(open_kit) -> None:
    kit: KitPage = open_kit("landing")
    page = kit.page
    assert page.locator("#features .feature").count() == 3
    assert page.locator("#features h3").first.inner_text() == "Made with care"

    page.get_by_role("link", name="Get started").click()
    email = page.get_by_label("Email address")
    assert page.evaluate("document.activeElement.id") == "email"

    page.get_by_role("button", name="Sign up").click()
    assert page.locator("#email-error").inner_text() == "Please enter your email address."
    assert email.get_attribute("aria-invalid") == "true"

    email.fill("not-an-address")
    email.press("Enter")
    assert "doesn't look like an email" in page.locator("#email-error").inner_text()
    assert page.locator("#signup-done").is_hidden()

    email.fill("  sam@example.org ")
    email.press("Enter")
    assert page.locator("#signup-done").is_visible()
    assert page.locator("#signup-form").is_hidden()
    assert "sam@example.org" in page.locator("#signed-email").inner_text()
    assert page.locator("#signup-status").inner_text() == page.locator("#thanks-text").inner_text()

    page.reload()  # remembered on this device
    assert page.locator("#signup-done").is_visible()
    page.get_by_role("button", name="Use a different address").click()
    assert page.locator("#signup-form").is_visible()
    assert page.evaluate("document.activeElement.id") == "email"
    kit.assert_clean()


def test_landing_slots_and_odd_features(open_kit) -> None:
    kit = open_kit(
        "landing",
        {
            "title": "Riverside Chess Club",
            "tagline": "Friendly games every Thursday evening, all levels welcome.",
            "cta_label": "Join the club",
            "features": [
                "Weekly games | Thursday nights from seven, boards and clocks provided.",
                "Just a heading without any text",
                "Coaching | for beginners | and improvers",
                "| leading bar",
                "Tournaments|Twice a year, with small prizes.",
                "Sixth | the most a page shows",
            ],
            "about_heading": "Who we are",
            "submit_label": "Count me in",
            "thanks_text": "Welcome aboard! See you on Thursday.",
            "footer_text": "Riverside Chess Club, Hall 2, Mill Lane",
        },
    )
    page = kit.page
    assert page.title() == "Riverside Chess Club"
    assert page.locator("h1").inner_text() == "Riverside Chess Club"
    headings = page.locator("#features h3").all_inner_texts()
    assert headings == [
        "Weekly games",
        "Just a heading without any text",
        "Coaching",
        "leading bar",
        "Tournaments",
        "Sixth",
    ]
    assert page.locator("#features .feature").nth(2).locator("p").inner_text() == (
        "for beginners | and improvers"
    )
    assert page.locator("#features .feature").nth(1).locator("p").count() == 0
    assert page.locator("#about-heading").inner_text() == "Who we are"

    page.get_by_role("link", name="Join the club").click()
    page.keyboard.type("kim@example.com")
    page.keyboard.press("Enter")
    assert page.locator("#thanks-text").inner_text() == "Welcome aboard! See you on Thursday."
    assert page.locator(".site-footer p").inner_text() == "Riverside Chess Club, Hall 2, Mill Lane"
    kit.assert_clean()


def test_landing_on_a_dark_phone_at_the_limits(open_kit) -> None:
    kit = open_kit(
        "landing",
        {
            "title": "W" * 40,
            "tagline": "x" * 120,
            "cta_label": "M" * 24,
            "features": ["A" * 140],
            "about_text": "word " * 59 + "end",
            "submit_label": "S" * 20,
        },
        color_scheme="dark",
        viewport={"width": 360, "height": 740},
        has_touch=True,
    )
    page = kit.page
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 17, 23)"
    assert page.locator("#features .feature").count() == 1
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.locator("#cta").tap()
    page.get_by_label("Email address").fill("a@b.co")
    page.locator("#signup-form button[type=submit]").tap()
    assert page.locator("#signup-done").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    kit.assert_clean()
