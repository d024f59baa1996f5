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
