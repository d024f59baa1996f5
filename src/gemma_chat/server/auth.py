"""The per-start access token: who may use the API.

Whoever can read `server.json` (mode 0600) or was handed the link may use the API; other
users of the machine and web pages the user happens to visit cannot.
"""

from __future__ import annotations

import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def open_url(url: str, token: str) -> str:
    """The link that logs a browser in: `/?token=…` sets the cookie, then redirects."""
    return f"{url}/?token={token}"
