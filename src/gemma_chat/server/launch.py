"""Open the app in the user's browser without putting its token on a command line.

`webbrowser.open(url)` hands the URL to the browser as a process argument, which other
users of the machine can read (`ps`, /proc/PID/cmdline) for as long as the browser runs.
Instead we write a small page into the data directory (0700, the file 0600) that forwards
to the sign-in link, and open that file: only its path is visible.
"""

from __future__ import annotations

import html
import threading
import webbrowser
from pathlib import Path

from gemma_chat.util.atomic import atomic_write_text

LAUNCH_FILE = "open.html"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={link}">
<meta name="color-scheme" content="light dark">
<title>Opening Gemma Chat…</title></head>
<body><p><a href="{link}">Open Gemma Chat</a></p></body></html>
"""


def write_launch_file(data_dir: Path, link: str) -> Path:
    """The page that forwards to `link`, readable only by this user."""
    path = Path(data_dir) / LAUNCH_FILE
    atomic_write_text(path, _PAGE.format(link=html.escape(link, quote=True)))  # 0600
    return path


def open_in_browser(data_dir: Path, link: str, wait: bool = False) -> None:
    """Open `link` (which carries the token) through the launch file."""
    uri = write_launch_file(data_dir, link).resolve().as_uri()
    if wait:
        webbrowser.open(uri)
    else:
        threading.Thread(target=webbrowser.open, args=(uri,), daemon=True).start()
