"""History at scale: list, open and search a large history through the real HTTP API.

Builds a database of 10,000 conversations x 20 messages (one of them 2,000 messages long)
in a temporary folder through the store (Store.import_history: one transaction), starts
the app on 127.0.0.1 in this process (uvicorn in a thread, as the tests do; no model is
loaded), and times each request from the client, token included, as a script would see it.

Targets (p95): list the first page < 50 ms, open the 2,000-message conversation < 50 ms,
search < 100 ms (a common word, matched by most messages, and a rare one).

    uv run python benchmarks/history_scale.py [--quick] [--reps 40] [--json PATH]

--quick builds 2,000 conversations instead of 10,000.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from gemma_chat.config import Settings
from gemma_chat.server.runner import ServerRun
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


def timed(call: Callable[[], httpx.Response], reps: int) -> list[float]:
    for _ in range(3):  # warm-up: caches, first-use imports
        call().raise_for_status()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
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
        server = ServerRun(settings).start_in_thread()
        try:
            with server.client(timeout=60) as client:
                opened = client.get(f"/api/conversations/{big_id}").json()
                assert len(opened["messages"]) == BIG, len(opened["messages"])
                common = client.get("/api/conversations", params={"q": COMMON}).json()
                rare = client.get("/api/conversations", params={"q": RARE}).json()
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
                        lambda: client.get("/api/conversations", params={"q": COMMON}),
                    ),
                    (
                        f"search rare word ({RARE!r})",
                        "< 100",
                        lambda: client.get("/api/conversations", params={"q": RARE}),
                    ),
                ]
                rows = []
                for metric, target, call in checks:
                    times = timed(call, args.reps)
                    value = p95(times)
                    rows.append(
                        (
                            metric,
                            statistics.median(times),
                            value,
                            target,
                            value < float(target.split()[1]),
                        )
                    )
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
