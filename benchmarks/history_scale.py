"""History at scale: list, open and search a large history through the real HTTP API.

Builds a database of 10,000 conversations x 20 messages (one of them 2,000 messages long)
in a temporary folder through the store (Store.import_history: one transaction), starts
the app on 127.0.0.1 in its own process (no model loaded: none is needed), and times each
request from the client, token included, as a script would see it.

Targets (p95): list the first page < 50 ms, open the 2,000-message conversation < 50 ms,
search < 100 ms (a common word, matched by most messages, and a rare one).

    uv run python benchmarks/history_scale.py [--quick] [--reps 40] [--json PATH]

--quick builds 2,000 conversations instead of 10,000.

Measured (2 shared, busy cores; 10,000 conversations, 201,980 messages, built in 31 s),
p50 / p95 ms: list 1.2 / 2.1, open 16.3 / 18.4, search 'python' (most messages: "recent"
order) 34.2 / 39.2, search 'quetzalcoatl' (10 chats: bm25 order) 3.3 / 3.5.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from app_process import AppProcess, start_app

from gemma_chat.config import Settings
from gemma_chat.store import Database, Store
from gemma_chat.store.repository import Conversation, Message

PER_CONVERSATION = 20
BIG = 2_000  # messages in the conversation that is opened
COMMON = "python"  # third in the word ranking: in most messages
RARE = "quetzalcoatl"  # in 1 message in 20,000
HEAD = ["the", "and", "python", "function", "explain", "magnets", "list", "error", "data"]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ten",
    "ra",
    "vo",
    "su",
    "pel",
    "dor",
    "an",
    "is",
    "ex",
    "tu",
    "ber",
    "gon",
    "li",
    "ma",
    "qua",
    "zen",
    "fi",
]


def vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    """A few real words at the head, then made-up ones; drawn Zipf-like (1/rank)."""
    made: set[str] = set()
    while len(made) < size:
        made.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return HEAD + sorted(made - set(HEAD))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def build(path: Path, conversations: int) -> tuple[str, int]:
    """Write the history; returns (the big conversation's id, messages written)."""
    rng = random.Random(12)
    words = vocabulary(rng)
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    store = Store(Database(path))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    big_id = f"c_{conversations // 2:06d}"
    batch: list[tuple[Conversation, list[Message]]] = []
    written = 0
    for c in range(conversations):
        cid = f"c_{c:06d}"
        began = start + timedelta(minutes=7 * c)
        thread = []
        for i in range(BIG if cid == big_id else PER_CONVERSATION):
            role = "user" if i % 2 == 0 else "assistant"
            n = rng.randint(8, 30) if role == "user" else rng.randint(40, 120)
            text = " ".join(rng.choices(words, cum_weights=cumulative, k=n))
            if (written + i) % 20_000 == 7_777:
                text += f" {RARE}"
            at = iso(began + timedelta(seconds=i))
            thread.append(Message(f"m_{c:06d}_{i:05d}", cid, role, text, "complete", at))
        title = " ".join(rng.choices(words, cum_weights=cumulative, k=5)).capitalize()
        batch.append(
            (
                Conversation(
                    cid, title, "chat", "embedded", thread[0].created_at, thread[-1].created_at
                ),
                thread,
            )
        )
        written += len(thread)
        if len(batch) == 500:
            store.import_history(batch)
            batch = []
    if batch:
        store.import_history(batch)
    store.db.close()
    return big_id, written


# The server in its own process, as a user runs it (no model loaded: none is needed here).
SERVE = """
import sys
from gemma_chat.config import Settings
from gemma_chat.server.runner import ServerRun
settings = Settings(data_dir=sys.argv[1], model="embedded", port=0, preload=False)
ServerRun(settings).run(open_browser=False)
"""


def serve(data_dir: Path) -> AppProcess:
    """Start the server on 127.0.0.1, not loading the model."""
    return start_app(data_dir, argv=["-c", SERVE, str(data_dir)], log=data_dir / "server.log")


class Client:
    """One kept-alive connection with the token, reading each body whole: the stdlib's
    http.client reads a 1 MB body in one call, where httpx's parser spent about as long
    as the server did, time a browser would not spend."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: str) -> bytes:
        self.conn.request(
            "GET", f"{path}?{urlencode(params)}" if params else path, headers=self.headers
        )
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return body

    def json(self, path: str, **params: str) -> Any:
        return json.loads(self.get(path, **params))


def timed(call: Callable[[], bytes], reps: int) -> list[float]:
    for _ in range(3):  # warm-up: caches, first-use imports
        call()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 conversations")
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    count = args.conversations or (2_000 if args.quick else 10_000)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), model="embedded", port=0, preload=False)
        began = time.perf_counter()
        big_id, messages = build(settings.db_path, count)
        build_s = time.perf_counter() - began
        print(f"built {count:,} conversations, {messages:,} messages in {build_s:.1f} s")
        server = serve(settings.data_dir)
        try:
            client = Client(server.url, server.token)
            opened = client.json(f"/api/conversations/{big_id}")
            assert len(opened["messages"]) == BIG, len(opened["messages"])
            common = client.json("/api/conversations", q=COMMON)
            rare = client.json("/api/conversations", q=RARE)
            assert common["conversations"] and rare["conversations"]
            checks = [
                ("list first page", "< 50", lambda: client.get("/api/conversations")),
                (
                    f"open {BIG:,}-message conversation",
                    "< 50",
                    lambda: client.get(f"/api/conversations/{big_id}"),
                ),
                (
                    f"search common word ({COMMON!r})",
                    "< 100",
                    lambda: client.get("/api/conversations", q=COMMON),
                ),
                (
                    f"search rare word ({RARE!r})",
                    "< 100",
                    lambda: client.get("/api/conversations", q=RARE),
                ),
            ]
            rows = []
            for metric, target, call in checks:
                times = timed(call, args.reps)
                value = p95(times)
                ok = value < float(target.split()[1])
                rows.append((metric, statistics.median(times), value, target, ok))
        finally:
            server.stop()

    print(f"\n{'metric':44} {'p50 ms':>8} {'p95 ms':>8}  target  ok")
    for metric, median, value, target, ok in rows:
        print(f"{metric:44} {median:8.1f} {value:8.1f}  {target:6}  {'yes' if ok else 'NO'}")
    print(
        f"(common word: {COMMON!r} order {common['order']!r}; rare word: "
        f"{rare['total']} conversations)"
    )
    if args.json:
        results = []
        for metric, median, value, target, ok in rows:
            results.append(
                {
                    "metric": f"{metric} p95",
                    "value": round(value, 2),
                    "unit": "ms",
                    "target": target,
                    "ok": ok,
                }
            )
            results.append(
                {
                    "metric": f"{metric} p50",
                    "value": round(median, 2),
                    "unit": "ms",
                    "target": None,
                    "ok": True,
                }
            )
        results.append(
            {"metric": "build", "value": round(build_s, 1), "unit": "s", "target": None, "ok": True}
        )
        args.json.write_text(json.dumps({"name": "history_scale", "results": results}, indent=2))


if __name__ == "__main__":
    main()
