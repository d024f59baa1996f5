"""Time to first token, round after round, as one chat grows past the model's context.

One conversation on the built-in model (8,192-token context, 1,024 kept for the reply)
gets a ~400-token message per round through the HTTP API, as a user would send them,
and each round's time to first token is taken where the client sees it. The server runs
in its own process. Once the context budget starts trimming (a `context` event), every
round is compared with the last rounds before the limit (the median of three), in the
same run.

Target: every round past the limit within 1.5x of the last rounds before it.

`--build` measures Build rounds the same way, in-process: each round the model's reply
and a ~300-token tool result (every fourth round a new request instead) join the prompt,
which goes through the same context budget (chat/context_budget.py) and engine as the
agent loop's rounds.

    uv run python benchmarks/long_context.py [--rounds 34] [--build] [--json PATH]

To measure another checkout side by side, run it with PYTHONPATH=OTHER/src.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from app_process import model_loaded, start_app
from httpx_sse import EventSource

TARGET_RATIO = 1.5
# ~400 tokens of varied prose a round, so no two rounds' messages are alike.
TOPICS = (
    "harbour",
    "orchard",
    "library",
    "glacier",
    "market",
    "observatory",
    "vineyard",
    "railway",
    "lighthouse",
    "bakery",
)


def message(round_: int) -> str:
    topic = TOPICS[round_ % len(TOPICS)]
    sentences = [
        f"Note {round_} is about the {topic} and what happened there on day {round_ + d}."
        f" The keeper counted {round_ * 7 + d} visitors, wrote down the weather, and"
        f" fixed a door that had been stuck since the season began."
        for d in range(12)
    ]
    return " ".join(sentences) + "\nReply with one short sentence about this note."


def send(client: httpx.Client, conversation: str, text: str) -> dict[str, Any]:
    """One round: time to first token as the client sees it, and what the server said."""
    began = time.perf_counter()
    first: float | None = None
    trimmed = 0
    stats: dict[str, Any] = {}
    url = f"/api/conversations/{conversation}/messages"
    with client.stream("POST", url, json={"content": text}) as response:
        response.raise_for_status()
        for sse in EventSource(response).iter_sse():
            if sse.event in ("text", "thinking") and first is None:
                first = time.perf_counter() - began
            elif sse.event == "context":
                trimmed = sse.json()["trimmed"]
            elif sse.event == "turn.end":
                stats = sse.json()["message"].get("stats") or {}
    return {
        "ttft_s": first if first is not None else time.perf_counter() - began,
        "trimmed": trimmed,
        "prompt_tokens": stats.get("prompt_tokens", 0),
        "cached_tokens": stats.get("cached_tokens", 0),
    }


def tool_result(round_: int) -> str:
    body = "\n".join(
        f"  <li data-step='{round_}-{line}'>Step {line} of task {round_}: check the "
        f"{TOPICS[(round_ + line) % len(TOPICS)]} list and mark it done.</li>"
        for line in range(8)
    )
    return f'<tool_result name="read_file" ok="true">\n<ul>\n{body}\n</ul>\n</tool_result>'


def build_rounds(rounds: int) -> list[dict[str, Any]]:
    """Build rounds on the built-in model, in-process, through the context budget."""
    import asyncio

    from gemma_chat.chat.context_budget import fit_to_context, reply_tokens
    from gemma_chat.models.registry import create_runtime
    from gemma_chat.runtimes.base import CancelToken, ChatMessage, Finish, GenerationOptions

    async def run() -> list[dict[str, Any]]:
        runtime = create_runtime("embedded")
        await runtime.load()
        options = GenerationOptions(max_tokens=48, temperature=0)
        history = [
            ChatMessage("system", "You build web pages with actions."),
            ChatMessage("user", "Make a checklist page for my tasks."),
        ]
        results = []
        for i in range(rounds):
            fitted = await fit_to_context(runtime, history, reply_tokens(runtime, options))
            began, first, text, usage = time.perf_counter(), None, "", None
            async for delta in runtime.stream(fitted.messages, options, CancelToken()):
                if first is None and getattr(delta, "text", ""):
                    first = time.perf_counter() - began
                text += getattr(delta, "text", "")
                if isinstance(delta, Finish):
                    usage = delta.usage
            # Turns of four rounds: a request, then three rounds of tool results.
            follow = (
                f"Request {i}: now add {TOPICS[i % len(TOPICS)]} items."
                if i % 4 == 3
                else tool_result(i)
            )
            history += [ChatMessage("assistant", text or "ok"), ChatMessage("user", follow)]
            results.append(
                {
                    "ttft_s": first if first is not None else time.perf_counter() - began,
                    "trimmed": fitted.trimmed,
                    "prompt_tokens": usage.prompt_tokens if usage else 0,
                    "cached_tokens": usage.cached_tokens if usage else 0,
                }
            )
            show(i, results[-1])
        await runtime.close()
        return results

    return asyncio.run(run())


def show(i: int, result: dict[str, Any]) -> None:
    print(
        f"round {i + 1:2d}  ttft {result['ttft_s']:6.2f} s  prompt "
        f"{result['prompt_tokens']:5d}  cached {result['cached_tokens']:5d}"
        f"  {'trimmed ' + str(result['trimmed']) if result['trimmed'] else ''}",
        flush=True,
    )


def chat_rounds(rounds: int) -> list[dict[str, Any]]:
    """Chat rounds through the HTTP API of a server in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), ready=model_loaded)
        client = app.client()
        try:
            conversation = client.post("/api/conversations", json={"mode": "chat"}).json()["id"]
            results = []
            for i in range(rounds):
                results.append(send(client, conversation, message(i)))
                show(i, results[-1])
            return results
        finally:
            client.close()
            app.stop()


def main(build: bool = False) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=34)
    parser.add_argument("--quick", action="store_true", help="24 rounds")
    parser.add_argument(
        "--build", action="store_true", default=build, help="Build rounds, in-process"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    rounds = 24 if args.quick else args.rounds
    results = build_rounds(rounds + 16) if args.build else chat_rounds(rounds)

    limit = next((i for i, r in enumerate(results) if r["trimmed"]), None)
    if limit is None or limit == 0 or limit == len(results) - 1:
        raise SystemExit("the conversation never went past the context limit: add --rounds")
    # The last three rounds before the limit (one round alone is at the mercy of noise).
    before = statistics.median(r["ttft_s"] for r in results[max(limit - 3, 0) : limit])
    past = [r["ttft_s"] for r in results[limit:]]
    worst, median = max(past) / before, statistics.median(past) / before
    ok = worst <= TARGET_RATIO
    print(
        f"\nlast rounds before the limit (median of 3): {before:.2f} s; {len(past)} rounds"
        f" past it: median {statistics.median(past):.2f} s, worst {max(past):.2f} s"
    )
    print(f"worst ratio {worst:.2f}, median ratio {median:.2f} (target <= {TARGET_RATIO})")
    report = {
        "name": "long_context_build" if args.build else "long_context",
        "results": [
            {"metric": "ttft before the limit (last 3)", "value": round(before, 3), "unit": "s"},
            {
                "metric": "ttft past the limit, worst / before",
                "value": round(worst, 3),
                "unit": "x",
                "target": f"<= {TARGET_RATIO}",
                "ok": ok,
            },
            {
                "metric": "ttft past the limit, median / before",
                "value": round(median, 3),
                "unit": "x",
                "target": f"<= {TARGET_RATIO}",
                "ok": median <= TARGET_RATIO,
            },
        ],
        "rounds": results,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
