"""UI under a fast stream: main-thread long tasks while a long markdown reply streams in.

Starts the real server on 127.0.0.1 (in-process, a background thread) with a replay model
whose script is ~5,500 tokens of realistic markdown (headings, lists, tables, fenced code in
several languages, inline code, links) paced at `--tps` (default 1000), opens the UI in
Chromium, installs a buffered PerformanceObserver for 'longtask' entries, sends a message
through the composer and waits for the reply's last word.

Measured per run:
- long tasks (count, total, longest) on the page's main thread from send to the last word;
- the stream's duration at the server (first `text` event to `turn.end`), and the achieved
  tokens per second (text events / duration);
- the lag of the last word: from the server sending `turn.end` (the SSE stream's final
  event; times taken with `time.time()` as the event is framed) until the reply's final word
  is in the DOM (a MutationObserver sees it) and then painted (the next animation frame).
  It can be negative: the last `text` event goes out just before `turn.end`, which waits for
  the reply to be stored.

Targets: no long task over 50 ms; last word visible within 250 ms of the stream's end.

    uv run python benchmarks/ui_rate.py [--reps 3] [--tps 1000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app_process import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import Page, sync_playwright

LAST_WORD = "Zenithmarker42"  # one replay token (\w+): the reply's final word
TARGET_TOKENS = 5500
MAX_TASK_MS = 50.0
MAX_LAG_MS = 250.0

# --- the reply: realistic markdown ------------------------------------------------

CODE = {
    "python": '''import asyncio
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """Token bucket: `rate` tokens per second, bursts up to `capacity`."""

    rate: float
    capacity: int = 10
    _tokens: float = field(init=False, default=0.0)
    _last: float = field(init=False, default=0.0)

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return

            await asyncio.sleep((1 - self._tokens) / self.rate)
''',
    "javascript": """// Debounce a handler: run it once the calls stop for `ms` milliseconds.
export function debounce(fn, ms = 200) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const search = document.querySelector('#search');
search.addEventListener('input', debounce(async (event) => {
  const res = await fetch(`/api/search?q=${encodeURIComponent(event.target.value)}`);
  const { items } = await res.json();
  render(items.map((item) => ({ ...item, score: Math.round(item.score * 100) })));
}, 250));
""",
    "rust": """use std::collections::HashMap;

/// Count how often each word occurs, ignoring case.
pub fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if word.is_empty() {
            continue;
        }

        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}
""",
    "bash": """#!/usr/bin/env bash
set -euo pipefail

# Back up the data directory, keeping the last seven copies.
src="${HOME}/.local/share/app"
dest="/var/backups/app/$(date +%F)"
mkdir -p "$dest"
rsync -a --delete "$src/" "$dest/"
ls -1dt /var/backups/app/* | tail -n +8 | xargs -r rm -rf
echo "backed up to $dest"
""",
    "sql": """-- Monthly revenue per customer segment, with a running total.
SELECT
    date_trunc('month', o.created_at) AS month,
    c.segment,
    sum(o.amount) AS revenue,
    sum(sum(o.amount)) OVER (PARTITION BY c.segment ORDER BY date_trunc('month', o.created_at))
        AS running_total
FROM orders AS o
JOIN customers AS c ON c.id = o.customer_id
WHERE o.status = 'paid'
GROUP BY 1, 2
ORDER BY 1, 2;
""",
    "json": """{
  "name": "trail-notes",
  "version": "1.4.2",
  "scripts": { "build": "vite build", "test": "vitest run" },
  "dependencies": { "date-fns": "^3.6.0", "zod": "^3.23.8" },
  "engines": { "node": ">=20" }
}
""",
    "go": """package main

import (
	"fmt"
	"net/http"
	"time"
)

func main() {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("https://example.com/health")
	if err != nil {
		fmt.Println("down:", err)
		return
	}
	defer resp.Body.Close()
	fmt.Println("status:", resp.Status)
}
""",
    "typescript": """interface Todo {
  id: number;
  title: string;
  done: boolean;
}

export function toggle(todos: Todo[], id: number): Todo[] {
  return todos.map((t) => (t.id === id ? { ...t, done: !t.done } : t));
}
""",
}

SECTION = """## {n}. {title}

The **{title_lower}** step matters more than it looks: a small mistake here shows up much
later, usually as a bug that is *hard to reproduce*. Keep the [reference docs]({link}) open
and check the return value of `{fn}()` before you move on; in practice `{fn}` fails quietly
when the input is empty.

Things to keep in mind:

- Prefer **small, pure functions**; they are easy to test and to reason about.
- Log the inputs of `{fn}` at debug level, never secrets.
- Measure before optimising: `time`, `perf` and the browser's profiler are enough.
  - Nested detail: a *second-level* item that continues the point above.
- Write the test first when the behaviour is subtle.

| Option | Default | Effect |
|---|---|---|
| `timeout` | `30` | seconds before `{fn}` gives up |
| `retries` | `3` | attempts, with exponential backoff |
| `verbose` | `false` | logs each attempt |

Here is a complete example in {lang_name}:

```{lang}
{code}```

1. Run it once with the defaults.
2. Then set `verbose` to see what `{fn}` does.
3. Finally, wire it into your project and add a test.

> **Note:** the example keeps error handling short; real code should report failures to
> the user, not just to the log.

"""

TOPICS = [
    ("Rate limiting requests", "acquire", "python", "Python"),
    ("Debouncing user input", "debounce", "javascript", "JavaScript"),
    ("Counting words", "word_counts", "rust", "Rust"),
    ("Backing up data", "rsync", "bash", "Bash"),
    ("Reporting revenue", "date_trunc", "sql", "SQL"),
    ("Describing the package", "build", "json", "JSON"),
    ("Checking service health", "client.Get", "go", "Go"),
    ("Updating a todo list", "toggle", "typescript", "TypeScript"),
]


def reply_text(target_tokens: int = TARGET_TOKENS) -> str:
    from gemma_chat.runtimes.replay import replay_tokens

    parts = [
        "# A practical guide to robust small programs\n\n"
        "This guide walks through common tasks, each with a short explanation, a checklist, "
        "a table of options and a complete example. Links go to "
        "[the documentation](https://example.com/docs).\n\n"
    ]
    n = 0
    while len(replay_tokens("".join(parts))) < target_tokens - 40:
        title, fn, lang, lang_name = TOPICS[n % len(TOPICS)]
        n += 1
        parts.append(
            SECTION.format(
                n=n,
                title=title,
                title_lower=title.lower(),
                fn=fn,
                lang=lang,
                lang_name=lang_name,
                code=CODE[lang],
                link=f"https://example.com/docs/{lang}/{n}",
            )
        )
    parts.append(f"That covers the essentials. Thanks for reading, and good luck: {LAST_WORD}")
    return "".join(parts)


# --- the server, with the time each SSE event is framed ---------------------------


class EventClock:
    """Wraps `sse_event` so the times the server frames each turn event are known."""

    def __init__(self) -> None:
        from gemma_chat.server import sse

        self.lock = threading.Lock()
        self.events: list[tuple[str, float]] = []
        original = sse.sse_event

        def timed(name: str, data: dict[str, Any]) -> bytes:
            frame = original(name, data)
            with self.lock:
                self.events.append((name, time.time() * 1000))
            return frame

        sse.sse_event = timed

    def reset(self) -> None:
        with self.lock:
            self.events.clear()

    def times(self, name: str) -> list[float]:
        with self.lock:
            return [t for n, t in self.events if n == name]


OBSERVE = """(word) => {
  const now = () => performance.timeOrigin + performance.now();
  window.__bench = { tasks: [], since: Infinity, dom: 0, painted: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      window.__bench.tasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const seen = () => {
    if (window.__bench.dom) return;
    window.__bench.dom = now();
    requestAnimationFrame(() => { window.__bench.painted = now(); });
  };
  new MutationObserver((records) => {
    if (window.__bench.dom) return;
    for (const r of records) {
      if (r.type === 'characterData') {
        if (r.target.data.includes(word)) return seen();
        continue;
      }
      for (const n of r.addedNodes) {
        const text = n.nodeType === 3 ? n.data : n.nodeType === 1 ? n.textContent : '';
        if (text.includes(word)) return seen();
      }
    }
  }).observe(document.getElementById('thread') || document.body,
             { childList: true, subtree: true, characterData: true });
}"""


def wait_for(page: Page, expression: str, timeout: float = 30) -> None:
    """Poll `expression` in the page (the app's CSP rules out wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {expression}")
        time.sleep(0.1)


def run_once(page: Page, server_url: str, clock: EventClock) -> dict[str, float]:
    page.goto(server_url)
    page.get_by_test_id("composer-input").wait_for()
    wait_for(
        page,
        "document.querySelector('[data-testid=\"model-name\"]')?.textContent.includes('Replay')",
    )
    page.wait_for_timeout(500)  # let the page settle after load
    page.evaluate(OBSERVE, LAST_WORD)
    clock.reset()
    box = page.get_by_test_id("composer-input")
    box.fill("Write me a practical guide with examples.")
    sent = page.evaluate("performance.now()")
    box.press("Enter")
    wait_for(page, "window.__bench.painted > 0", timeout=120)
    wait_for(
        page,
        'document.querySelector(\'[data-testid="message"][data-role="assistant"]\')'
        "?.dataset.status === 'complete'",
    )
    page.wait_for_timeout(300)
    bench = page.evaluate("window.__bench")
    ends = clock.times("turn.end")
    texts = clock.times("text")
    if not ends or not texts:
        raise RuntimeError("the server sent no reply")
    end, first = ends[-1], texts[0]
    # Long tasks from sending until the last word was painted.
    painted_rel = bench["painted"] - page.evaluate("performance.timeOrigin")
    tasks = [t["duration"] for t in bench["tasks"] if sent <= t["start"] <= painted_rel]
    if os.environ.get("UI_RATE_VERBOSE"):
        print(
            "    long tasks (ms after send: duration):",
            [
                f"{t['start'] - sent:.0f}: {t['duration']:.0f}"
                for t in bench["tasks"]
                if sent <= t["start"] <= painted_rel
            ],
        )
    duration = end - first
    return {
        "long_tasks": float(len(tasks)),
        "long_task_total_ms": sum(tasks),
        "longest_task_ms": max(tasks, default=0.0),
        "stream_s": duration / 1000,
        "tokens_per_s": len(texts) / (duration / 1000) if duration > 0 else 0.0,
        "last_word_dom_lag_ms": bench["dom"] - end,
        "last_word_lag_ms": bench["painted"] - end,
        "tokens": float(len(texts)),
    }


METRICS = [
    # key, label, unit, target text, check
    ("long_tasks", "long tasks", "count", "", None),
    ("long_task_total_ms", "long-task time", "ms", "", None),
    ("longest_task_ms", "longest task", "ms", f"<= {MAX_TASK_MS:g}", lambda v: v <= MAX_TASK_MS),
    ("stream_s", "stream duration", "s", "", None),
    ("tokens_per_s", "achieved rate", "tokens/s", "", None),
    ("last_word_dom_lag_ms", "last word in DOM after end", "ms", "", None),
    (
        "last_word_lag_ms",
        "last word painted after end",
        "ms",
        f"<= {MAX_LAG_MS:g}",
        lambda v: v <= MAX_LAG_MS,
    ),
]


def summarise(runs: list[dict[str, float]]) -> list[dict[str, Any]]:
    results = []
    for key, label, unit, target, check in METRICS:
        values = [r[key] for r in runs]
        # Targets hold for every run: judge the worst one; report the median otherwise.
        worst = max(values) if check else statistics.median(values)
        results.append(
            {
                "metric": key,
                "label": label,
                "value": round(worst, 2),
                "unit": unit,
                "runs": [round(v, 2) for v in values],
                "target": target or None,
                "ok": check(worst) if check else None,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run")
    parser.add_argument("--tps", type=float, default=1000, help="replay pace, tokens/s")
    parser.add_argument("--tokens", type=int, default=TARGET_TOKENS)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--ui", type=Path, help="serve the UI from this folder (an older version's, to compare)"
    )
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps

    from gemma_chat.config import Settings
    from gemma_chat.runtimes.replay import replay_tokens
    from gemma_chat.server import app
    from gemma_chat.server.runner import ServerRun

    if args.ui:
        app.UI_DIR = args.ui.resolve()

    os.environ["GEMMA_CHAT_ALLOW_REPLAY"] = "1"
    text = reply_text(args.tokens)
    clock = EventClock()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GEMMA_CHAT_HOME"] = str(Path(tmp) / "home")
        script = Path(tmp) / "reply.txt"
        script.write_text("\n=== turn ===\n".join([text] * (reps + 2)), encoding="utf-8")
        settings = Settings(
            data_dir=Path(tmp) / "data", model=f"replay:{script}?tps={args.tps:g}", port=0
        )
        server = ServerRun(settings).start_in_thread()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                # Long tasks are wall-clock time: on a busy machine a short task that loses
                # the CPU counts as long, so say how busy this one was.
                load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
                print(f"{os.cpu_count()} CPUs, load average {load}")
                print(
                    f"Chromium {browser.version}; reply {len(replay_tokens(text))} tokens, "
                    f"{len(text)} chars, {text.count('```') // 2} code blocks, "
                    f"replay at {args.tps:g} tokens/s"
                )
                for rep in range(reps):
                    context = browser.new_context(viewport={"width": 1280, "height": 860})
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                    run = run_once(page, server.open_url, clock)
                    context.close()
                    if errors:
                        raise RuntimeError(f"JavaScript errors: {errors}")
                    runs.append(run)
                    print(
                        f"  run {rep + 1}: {run['long_tasks']:.0f} long tasks, "
                        f"{run['long_task_total_ms']:.0f} ms in all, longest "
                        f"{run['longest_task_ms']:.0f} ms; stream {run['stream_s']:.2f} s at "
                        f"{run['tokens_per_s']:.0f} tokens/s; last word painted "
                        f"{run['last_word_lag_ms']:.0f} ms after the end"
                    )
                browser.close()
        finally:
            server.stop()

    results = summarise(runs)
    print(f"\n{'metric':<30} {'value':>10} {'unit':<9} {'target':<8} {'ok':<4} runs")
    for r in results:
        ok = "" if r["ok"] is None else ("PASS" if r["ok"] else "FAIL")
        runs_text = ", ".join(f"{v:g}" for v in r["runs"])
        print(
            f"{r['label']:<30} {r['value']:>10g} {r['unit']:<9} {r['target'] or '':<8} "
            f"{ok:<4} {runs_text}"
        )
    print("(value: worst run for metrics with a target, median otherwise)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "name": "ui_rate",
                    "results": [
                        {k: r[k] for k in ("metric", "value", "unit", "target", "ok")}
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    sys.exit(0 if all(r["ok"] is not False for r in results) else 1)


if __name__ == "__main__":
    main()
