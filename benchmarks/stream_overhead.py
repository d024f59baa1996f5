"""Decode speed through the HTTP SSE API versus llama-cpp-python called directly.

Both paths run the embedded model with the same prompt, the same greedy sampling and the
same thread count, in one run, alternating so that machine noise hits both alike. The
server runs as its own process, as a user would run it. Decode tokens/s is
(tokens - 1) / (time from first to last token), measured where the tokens arrive: the
HTTP client for the API path, the Python loop for the direct path.

Target: ratio (API / direct) >= 0.97.

    uv run python benchmarks/stream_overhead.py [--reps 3] [--quick] [--json PATH]

--quick is one measured pair (--reps 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from app_process import model_loaded, start_app
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from report import result, write

from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import EMBEDDED_DEFAULTS, EMBEDDED_REPEAT_PENALTY
from gemma_chat.runtimes.llama import physical_cores

PROMPT = "Write a long, detailed story about a dragon who learns to cook. Use many paragraphs."
CONTEXT = 8192
TARGET_RATIO = 0.97


def direct_run(llm: Llama, prompt_tokens: list[int], max_tokens: int) -> tuple[int, float]:
    """llama-cpp-python's own generate loop, detokenizing each token as an app would."""
    eos = llm.token_eos()
    stamps: list[float] = []
    pieces: list[bytes] = []
    for token in llm.generate(
        prompt_tokens,
        temp=0.0,
        top_k=EMBEDDED_DEFAULTS.top_k or 40,
        top_p=EMBEDDED_DEFAULTS.top_p or 0.95,
        min_p=0.0,
        repeat_penalty=EMBEDDED_REPEAT_PENALTY,
    ):
        if token == eos or len(stamps) >= max_tokens:
            break
        pieces.append(llm.detokenize([token]))
        stamps.append(time.perf_counter())
    return len(stamps), (len(stamps) - 1) / (stamps[-1] - stamps[0])


def api_run(client: httpx.Client) -> tuple[int, float]:
    conversation = client.post("/api/conversations", json={"mode": "chat"}).json()
    stamps: list[float] = []
    tokens = 0
    with client.stream(
        "POST", f"/api/conversations/{conversation['id']}/messages", json={"content": PROMPT}
    ) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "text":
                stamps.append(time.perf_counter())
            elif line.startswith("data:") and event == "turn.end":
                tokens = json.loads(line[5:])["message"]["stats"]["completion_tokens"]
    return tokens, (tokens - 1) / (stamps[-1] - stamps[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one measured pair (--reps 1)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps

    threads = physical_cores()
    llm = Llama(
        str(embedded_model_path()),
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm.detokenize([llm.token_eos()], special=True).decode(),
        bos_token=llm.detokenize([llm.token_bos()], special=True).decode(),
    )
    rendered = formatter(messages=[{"role": "user", "content": PROMPT}])
    prompt_tokens = llm.tokenize(
        rendered.prompt.encode(), add_bos=not rendered.added_special, special=True
    )
    max_tokens = EMBEDDED_DEFAULTS.max_tokens or 1024

    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), timeout=120, ready=model_loaded)
        try:
            direct: list[float] = []
            api: list[float] = []
            with httpx.Client(
                base_url=app.url,
                headers=app.headers,
                timeout=300,
                trust_env=False,
            ) as client:
                api_run(client)  # warm-up both paths once
                direct_run(llm, prompt_tokens, max_tokens)
                attempts = 0
                while len(direct) < reps and attempts < 2 * reps:
                    attempts += 1
                    n_direct, rate_direct = direct_run(llm, prompt_tokens, max_tokens)
                    n_api, rate_api = api_run(client)
                    if n_direct != n_api:
                        # Greedy decoding can still diverge between processes (float
                        # rounding in threaded kernels); rates over different lengths
                        # are not comparable, so such a pair is left out.
                        print(f"pair skipped: token counts differ ({n_direct} vs {n_api})")
                        continue
                    direct.append(rate_direct)
                    api.append(rate_api)
                    print(
                        f"rep {len(direct)}: {n_direct} tokens  direct {rate_direct:6.1f} tok/s"
                        f"  api {rate_api:6.1f} tok/s  ratio {rate_api / rate_direct:.3f}"
                    )
                if not direct:
                    raise SystemExit("no comparable pair of runs")
        finally:
            app.stop()

    ratio = statistics.median(api) / statistics.median(direct)
    pair_ratios = [a / d for a, d in zip(api, direct, strict=True)]
    print(
        f"\nthreads={threads}  median direct {statistics.median(direct):.1f} tok/s"
        f"  median api {statistics.median(api):.1f} tok/s"
    )
    print(f"median of per-pair ratios = {statistics.median(pair_ratios):.3f}")
    ok = ratio >= TARGET_RATIO
    print(
        f"ratio api/direct = {ratio:.3f}  (target >= {TARGET_RATIO:g}: {'PASS' if ok else 'FAIL'})"
    )
    write(
        args.json,
        "stream_overhead",
        [
            result("decode ratio api/direct", ratio, "x", f">= {TARGET_RATIO:g}", ok),
            result("median of per-pair ratios", statistics.median(pair_ratios), "x"),
            result("decode, direct (median)", statistics.median(direct), "tok/s"),
            result("decode, API (median)", statistics.median(api), "tok/s"),
        ],
        threads=threads,
        pairs=[{"direct": d, "api": a} for d, a in zip(direct, api, strict=True)],
    )


if __name__ == "__main__":
    main()
