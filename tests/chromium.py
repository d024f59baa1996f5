"""Debian's Chromium as every browser test launches it (never `playwright install`)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def sign_in(page, server) -> None:  # type: ignore[no-untyped-def]
    """Give the page's browser context the server's cookie (what opening the link printed at
    start does) without loading the app, so the next `goto` is a first load."""
    response = page.context.request.get(server.open_url)
    assert response.ok, response.status


def watch_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Collects uncaught JavaScript errors and anything the Content-Security-Policy blocked;
    a test asserts the list is empty at its end."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return errors


def launch_with_mic(browser, wav: Path):  # type: ignore[no-untyped-def]
    """Another Chromium like `browser`, whose fake microphone plays `wav` (looped)."""
    return browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
