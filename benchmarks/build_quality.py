"""Build quality: what a new user gets from `gemma-chat build` on the built-in model.

For each one-sentence request (varied wording, some that no starter kit matches) the
benchmark runs `gemma-chat build "REQUEST" --out DIR` exactly as a user would, times it,
then opens DIR/index.html in Chromium (served on 127.0.0.1) and checks:

- loads:    the page loads with no console errors, page errors or failed requests;
- reacts:   filling every visible input and clicking every visible button (and drawing on
            any canvas) changes what the page shows;
- mentions: the page's title or text carries at least one of the request's own words.

A request fully passes when all three hold. One line per request, then the totals.
Targets (issue 9): every build under 30 s, at least 90% fully pass, none fails to load.

    uv run python benchmarks/build_quality.py [--model embedded] [--only N] [--keep DIR]
        [--quick] [--json PATH]

--quick runs the first 6 requests (as --only 6).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app_process import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright
from report import result as row
from report import write

REQUESTS = [
    "a stopwatch with start, stop and reset",
    "a counter page with a button",
    "Make me a to-do list for my weekend chores",
    "I need a tip calculator that splits the bill between friends",
    "a quiz about the planets of the solar system",
    "a random quote generator with motivational quotes",
    "a landing page for my bakery called Sweet Crumbs",
    "build a pomodoro timer for studying",
    "a calculator",
    "convert temperatures between celsius and fahrenheit",
    "roll some dice for a board game night",
    "a memory matching game with animal emojis",
    "a number guessing game from 1 to 50",
    "a sign-up form for a yoga class with email validation",
    "a habit tracker for drinking water and reading",
    "a notes app that keeps my ideas",
    "a gallery of my favourite hiking trails",
    "a page where I can switch between light and dark themes",
    "a sketch pad for doodling",
    "pick a random name from Alice, Bob, Carol and Dan",
    "flashcards to learn Spanish words",
    "a strong password generator",
    "a weather dashboard for my city",  # no kit for this
    "a page about the history of the Roman empire",  # nor this
    "a portfolio for a wedding photographer",
    "a green counter for push-ups",
    "a page that flips a coin when I press a button",
]
PASS_TARGET = 0.9
TIME_TARGET_S = 30
QUICK_REQUESTS = 6
_WORD = re.compile(r"[a-z]+")
_GENERIC = frozenset(
    _WORD.findall(
        "a an the and or of for to in on with my me i we you it make build create need want "
        "page app site website simple some that which where can between from about keeps"
    )
)
SNAPSHOT_JS = """() => {
  const parts = [document.body.innerText, document.title];
  for (const el of document.querySelectorAll('input, textarea, select'))
    parts.push(el.type === 'checkbox' || el.type === 'radio' ? String(el.checked) : el.value);
  for (const el of document.querySelectorAll('[class], [aria-pressed], [aria-checked], [style]'))
    parts.push(el.className + (el.getAttribute('aria-pressed') || '') +
               (el.getAttribute('aria-checked') || '') + (el.getAttribute('style') || ''));
  for (const c of document.querySelectorAll('canvas')) {
    try { parts.push(c.toDataURL().length + ':' + c.toDataURL().slice(-64)); } catch (e) {}
  }
  return parts.join('\\u0001');
}"""


@dataclass
class Result:
    request: str
    seconds: float
    built: bool
    loads: bool = False
    reacts: bool = False
    mentions: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.built and self.loads and self.reacts and self.mentions


def build(request: str, out: Path, home: Path, model: str) -> tuple[float, bool, str]:
    env = {**os.environ, "GEMMA_CHAT_HOME": str(home), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "gemma_chat", "build", request, "--out", str(out)]
    command += ["--model", model]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - started
    built = done.returncode == 0 and (out / "index.html").exists()
    return seconds, built, done.stdout + done.stderr


def serve(folder: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/index.html", server


def request_words(request: str) -> set[str]:
    return {w for w in _WORD.findall(request.lower()) if w not in _GENERIC and len(w) > 2}


def interact(page: Page, step: Callable[[], None]) -> None:
    """Fill what can be filled, click what can be clicked, draw on any canvas; `step()`
    after each, since a later click may undo an earlier one (a form's "start again")."""
    for field_ in page.locator(
        "input:visible:not([type=checkbox]):not([type=radio]):not([type=range])"
        ":not([type=color]):not([type=file]), textarea:visible"
    ).all()[:8]:
        kind = (field_.get_attribute("type") or "text").lower()
        value = {"number": "42", "email": "ada@example.com"}.get(kind, "Hello 42")
        try:
            field_.fill(value, timeout=1000)
            field_.press("Enter", timeout=1000)
        except PlaywrightError:  # hidden, detached or not editable: try the next
            continue
        step()
    for canvas in page.locator("canvas:visible").all()[:2]:
        box = canvas.bounding_box()
        if box:
            page.mouse.move(box["x"] + 10, box["y"] + 10)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            step()
    for checkbox in page.locator("input[type=checkbox]:visible").all()[:4]:
        try:
            checkbox.check(timeout=1000)
        except PlaywrightError:  # hidden, detached or not editable: try the next
            continue
        step()
    for button in page.locator("button:visible").all()[:12]:
        try:
            button.click(timeout=1000)
        except PlaywrightError:  # hidden, detached or not editable: try the next
            continue
        step()
        if not page.url.split("#")[0].endswith("index.html"):
            page.go_back()  # a link left the page


def check(result: Result, out: Path, page: Page) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    url, server = serve(out)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)
        result.loads = not problems
        visible = (page.title() + " " + page.locator("body").inner_text()).lower()
        result.mentions = bool(request_words(result.request) & set(_WORD.findall(visible)))
        before = page.evaluate(SNAPSHOT_JS)
        changed = []

        def step() -> None:
            page.wait_for_timeout(60)
            if not changed and page.evaluate(SNAPSHOT_JS) != before:
                changed.append(True)

        interact(page, step)
        result.reacts = bool(changed)
        if problems:
            result.loads = False
    finally:
        server.shutdown()
        server.server_close()
    result.problems = problems[:3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--only", type=int, default=0, help="run the first N requests")
    parser.add_argument("--keep", type=Path, help="keep the projects in this folder")
    parser.add_argument("--quick", action="store_true", help=f"the first {QUICK_REQUESTS} requests")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    only = args.only or (QUICK_REQUESTS if args.quick else 0)
    requests = REQUESTS[:only] if only else REQUESTS
    root = args.keep or Path(tempfile.mkdtemp(prefix="build-quality-"))
    home = root / "home"
    results: list[Result] = []
    print(f"{len(requests)} requests · model {args.model} · projects in {root}\n")
    print(f"{'time':>6}  load react words  request")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for index, request in enumerate(requests, 1):
            out = root / f"{index:02d}"
            seconds, built, log = build(request, out, home, args.model)
            result = Result(request, seconds, built)
            if built:
                context = browser.new_context()
                check(result, out, context.new_page())
                context.close()
            else:
                result.problems = [log.strip().splitlines()[-1] if log.strip() else "no output"]
            results.append(result)
            marks = " ".join(
                f"{'✓' if ok else '✗':^5}" for ok in (result.loads, result.reacts, result.mentions)
            )
            print(f"{seconds:5.1f}s  {marks}  {request}", flush=True)
            for problem in result.problems:
                print(f"{'':8}{problem[:120]}")
        browser.close()
    times = [r.seconds for r in results]
    passed = sum(r.passed for r in results)
    not_loading = sum(not r.loads for r in results)
    print(
        f"\nfully passed {passed}/{len(results)} ({100 * passed / len(results):.0f}%) · "
        f"failed to load {not_loading} · "
        f"median {statistics.median(times):.1f} s · max {max(times):.1f} s · "
        f"over {TIME_TARGET_S} s: {sum(t > TIME_TARGET_S for t in times)}"
    )
    share_ok = passed >= PASS_TARGET * len(results)
    time_ok = max(times) < TIME_TARGET_S
    write(
        args.json,
        "build_quality",
        [
            row(
                "fully pass",
                100 * passed / len(results),
                "%",
                f">= {100 * PASS_TARGET:.0f}",
                share_ok,
            ),
            row("max build time", max(times), "s", f"< {TIME_TARGET_S}", time_ok),
            row("fail to load", not_loading, "builds", "= 0", not_loading == 0),
            row("median build time", statistics.median(times), "s"),
        ],
        model=args.model,
        requests=[
            {
                "request": r.request,
                "seconds": round(r.seconds, 2),
                "built": r.built,
                "loads": r.loads,
                "reacts": r.reacts,
                "mentions": r.mentions,
                "problems": r.problems,
            }
            for r in results
        ],
    )
    return 0 if share_ok and time_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
