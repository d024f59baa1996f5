"""The page a browser without the token sees: how to get in, and nothing of the app."""

from __future__ import annotations

from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <meta name="robots" content="noindex" />
    <title>Gemma Chat · sign in</title>
    <link rel="stylesheet" href="/static/signin.css" />
  </head>
  <body>
    <main class="signin" data-testid="signin">
      <svg class="mark" viewBox="0 0 24 24" width="40" height="40" aria-hidden="true">
        <defs>
          <linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
            <stop offset="0" stop-color="#446eff" /><stop offset="1" stop-color="#8a5cf6" />
          </linearGradient>
        </defs>
        <path fill="url(#g)" d="{mark}" />
      </svg>
      <h1>{heading}</h1>
      <p>{reason}</p>
      <ol>
        <li>Open the link <code>gemma-chat</code> printed in its terminal when it started
          (it ends in <code>/?token=…</code>), or</li>
        <li>run <code>gemma-chat open</code> in a terminal: it opens this app with its key.</li>
      </ol>
      <p class="small">Your conversations stay private: without the key, nothing here can be
        read or changed.</p>
    </main>
  </body>
</html>
"""

_MARK = "M12 2c.5 4.9 5.1 9.5 10 10-4.9.5-9.5 5.1-10 10-.5-4.9-5.1-9.5-10-10 4.9-.5 9.5-5.1 10-10Z"
_FRESH = (
    "Gemma Chat is running, but this browser has not been given its key yet.",
    "Open Gemma Chat with its key",
)
_STALE = (
    "That link is not valid for this run of Gemma Chat: each start makes a new key.",
    "This link has expired",
)


def signin_page(stale_link: bool = False) -> HTMLResponse:
    reason, heading = _STALE if stale_link else _FRESH
    return HTMLResponse(
        _PAGE.format(heading=heading, reason=reason, mark=_MARK),
        status_code=401,
        headers={"Cache-Control": "no-store"},
    )
