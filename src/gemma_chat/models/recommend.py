"""The one Gemma 4 recommendation that `gemma-chat doctor` and the model picker both show.

A model that fits in memory is not a recommendation if it answers at two tokens a second, so
each candidate is judged on memory (the planner in fit.py, at the context the runtime will
really open it with) and on an estimate of its decode speed. Decoding one token reads every
weight the token touches once, so speed is memory-bandwidth bound:

    tokens/s ≈ effective bandwidth / bytes read per token

where the bytes per token are the file's bytes per parameter times the parameters each token
uses (the active ones for the mixture-of-experts 26B-A4B and the "effective" E-models). We
take the most capable model that fits and reaches MIN_TOKENS_PER_S; if none does, the
fastest that fits, flagged as slow. The estimates are deliberately conservative: they decide
between models several times apart in speed, not the second digit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import DOWNLOADED_CONTEXT, CatalogueEntry
from gemma_chat.models.fit import FitPlan, Verdict, plan
from gemma_chat.models.hardware import Hardware
from gemma_chat.util.units import format_bytes

GB = 1_000_000_000
QUALITY_ORDER = ("gemma-4-31b", "gemma-4-26b-a4b", "gemma-4-12b", "gemma-4-e4b", "gemma-4-e2b")

# Interactive use needs the answer to appear faster than people read it: silent reading is
# about 240 words a minute (Brysbaert 2019, ~4 words/s, ~5.5 tokens/s at ~1.3 tokens per
# word), and Gemma 4 also writes a thinking channel before it answers. 8 tokens/s keeps the
# answer ahead of the reader with some room for that; slower feels like waiting.
MIN_TOKENS_PER_S = 8.0

# CPU decode: llama.cpp's token generation stops scaling after a few threads because DRAM
# bandwidth, not arithmetic, is the limit (ggml-org/llama.cpp#12966, #7812). Measured points:
# a 2-core 2013 i5 ran a 4 GB 7B Q4 at 604 ms/token (~6.6 GB/s, ~3.3 GB/s a core) and a
# Ryzen 5700G with DDR4 at 137 ms/token on 4 threads (~29 GB/s, ~7 GB/s a core), levelling
# off at ~40 GB/s with 6-8 threads (ggml-org/llama.cpp#34, #39). We assume 4 GB/s a physical
# core (cloud vCPUs and laptops on battery sit at the low end) and at most 40 GB/s, about
# 80 % of dual-channel DDR4-3200; many-channel servers do better, which only errs safe.
CPU_BYTES_PER_S_PER_CORE = 4 * GB
CPU_BYTES_PER_S_MAX = 40 * GB

# GPUs reach about half their datasheet bandwidth in llama.cpp decode once kernel launches,
# attention and MoE routing are counted: on an M3 Max (400 GB/s) llama-server decodes Gemma 4
# E4B Q4_K_M at 73 tokens/s and 26B-A4B Q4_K_M at 64 (hiesch.eu/blog/llamacpp-benchmarks-
# speculative-decoding), i.e. 0.4-0.55 of peak by our byte counts; CUDA cards do a little
# better (an RTX 4090 decodes llama 8B Q4_0 at ~150 tokens/s, ~0.7 of 1008 GB/s).
GPU_EFFICIENCY = 0.5

# Datasheet memory bandwidth, GB/s, matched as whole words in the GPU's name (longest first).
# Unknown discrete GPUs get a mid-range figure: anything with enough VRAM to hold a model
# whole is rarely slower, and the ranking only needs the order of magnitude.
GPU_BANDWIDTH_GBPS: dict[str, int] = {
    "h200": 4800,
    "h100": 3350,
    "a100": 1555,
    "l40s": 864,
    "l40": 864,
    "a10": 600,
    "l4": 300,
    "t4": 320,
    "rtx 5090": 1792,
    "rtx 5080": 960,
    "rtx 4090": 1008,
    "rtx 4080": 717,
    "rtx 4070 ti": 504,
    "rtx 4070": 504,
    "rtx 4060 ti": 288,
    "rtx 4060": 272,
    "rtx 3090": 936,
    "rtx 3080": 760,
    "rtx 3070": 448,
    "rtx 3060": 360,
    "rx 7900 xtx": 960,
    "rx 7900 xt": 800,
    "rx 7800 xt": 624,
}
DEFAULT_GPU_GBPS = 400

# Apple Silicon unified memory bandwidth by chip (Apple's specifications; for chips sold in
# two bandwidths, the lower). The chip name comes from `sysctl machdep.cpu.brand_string`
# (hardware.py names the GPU "Apple M2 Pro GPU"); unknown chips get the base M2/M3 figure.
APPLE_BANDWIDTH_GBPS: dict[str, int] = {
    "m1": 68,
    "m1 pro": 200,
    "m1 max": 400,
    "m1 ultra": 800,
    "m2": 100,
    "m2 pro": 200,
    "m2 max": 400,
    "m2 ultra": 800,
    "m3": 100,
    "m3 pro": 150,
    "m3 max": 300,
    "m3 ultra": 819,
    "m4": 120,
    "m4 pro": 273,
    "m4 max": 410,
}
DEFAULT_APPLE_GBPS = 100
_APPLE_CHIP = re.compile(r"\b(m\d+)(?:\s+(pro|max|ultra))?\b")


@dataclass(frozen=True, slots=True)
class Recommendation:
    spec: str  # catalogue id, what `--model` and the picker take
    name: str
    quant: str
    size_bytes: int  # the download: weights plus the image/audio projector
    context: int  # the context the runtime opens the model with (runtime_context)
    tokens_per_s: float  # estimated decode speed at the start of a chat
    verdict: Verdict
    fast_enough: bool  # tokens_per_s >= MIN_TOKENS_PER_S
    why: str  # one line for people
    plan: FitPlan  # the memory plan behind it (offload, layers on the GPU, notes)

    def as_dict(self) -> dict[str, Any]:
        """The fields doctor --json and GET /api/models share (the plan is doctor's extra)."""
        return {
            "spec": self.spec,
            "name": self.name,
            "quant": self.quant,
            "size_bytes": self.size_bytes,
            "context": self.context,
            "tokens_per_s": round(self.tokens_per_s, 1),
            "verdict": self.verdict,
            "fast_enough": self.fast_enough,
            "why": self.why,
        }


def runtime_context(entry: CatalogueEntry) -> int:
    """The context a downloaded catalogue model is opened with, so that what we promise is
    what the runtime does (models/registry.py caps it at DOWNLOADED_CONTEXT)."""
    return min(entry.context_length, DOWNLOADED_CONTEXT)


def bytes_per_token(entry: CatalogueEntry, weights_bytes: int) -> float:
    """Weight bytes one decoded token reads: the file's bytes per parameter times the
    parameters each token uses (all of them for dense models)."""
    active = entry.active_params_b or entry.params_b
    return weights_bytes * min(1.0, active / entry.params_b) if entry.params_b > 0 else 0.0


def cpu_bandwidth(hardware: Hardware) -> float:
    cores = max(1, hardware.cpu_physical_cores)
    return float(min(cores * CPU_BYTES_PER_S_PER_CORE, CPU_BYTES_PER_S_MAX))


def gpu_bandwidth(hardware: Hardware) -> float:
    """Effective bytes/s of the GPU that decodes: the unified one on a Mac, else the slowest
    discrete GPU (llama.cpp runs split layers one GPU after another)."""
    if hardware.unified_memory:
        names = [gpu.name for gpu in hardware.gpus if gpu.unified]
        gbps = _lookup_apple(names[0] if names else "")
    else:
        speeds = [_lookup_gpu(gpu.name) for gpu in hardware.discrete_gpus]
        gbps = min(speeds) if speeds else DEFAULT_GPU_GBPS
    return gbps * GB * GPU_EFFICIENCY


def estimate_tokens_per_s(entry: CatalogueEntry, fit: FitPlan, hardware: Hardware) -> float:
    """Decode speed for a plan: GPU layers at GPU bandwidth, the rest at CPU bandwidth."""
    per_token = bytes_per_token(entry, fit.weights_bytes)
    if per_token <= 0:
        return 0.0
    if fit.budget == "unified":
        return gpu_bandwidth(hardware) / per_token
    on_gpu = fit.n_gpu_layers / fit.n_layers if fit.n_layers and fit.n_gpu_layers else 0.0
    seconds = per_token * (1 - on_gpu) / cpu_bandwidth(hardware)
    if on_gpu:
        seconds += per_token * on_gpu / gpu_bandwidth(hardware)
    return 1 / seconds


def where(fit: FitPlan, hardware: Hardware) -> str:
    """Where the model runs, for `why`: "on 2 CPU cores", "on the GPU (RTX 4090)", ..."""
    if fit.budget == "unified":
        chip = next((g.name for g in hardware.gpus if g.unified), "the GPU")
        return f"on {chip.removesuffix(' GPU')} (unified memory)"
    if fit.offload == "full":
        names = ", ".join(dict.fromkeys(g.name for g in hardware.discrete_gpus))
        return f"on the GPU ({names})"
    count = hardware.cpu_physical_cores
    cores = f"{count} CPU core{'s' if count != 1 else ''}"
    if fit.offload == "partial":
        return f"with {fit.n_gpu_layers} of {fit.n_layers} layers on the GPU, the rest on {cores}"
    return f"on {cores}"


@dataclass(frozen=True, slots=True)
class _Option:
    entry: CatalogueEntry
    fit: FitPlan
    tokens_per_s: float


def recommend(hardware: Hardware, order: Sequence[str] = QUALITY_ORDER) -> Recommendation | None:
    """The most capable Gemma 4 model that fits at the runtime's context and decodes at
    MIN_TOKENS_PER_S or better; else the fastest that fits (fast_enough False); None when
    nothing fits. Each model is tried at its default quantisation (what the picker
    downloads), then at the smaller ones it publishes."""
    best_slow: _Option | None = None
    passed_over: list[_Option] = []  # more capable models that fit but are too slow
    for model_id in order:
        entry = catalogue.find(model_id)
        if entry is None:  # a trimmed catalogue (tests, future builds) recommends what it has
            continue
        fitting = [o for o in _options(entry, hardware) if o.fit.verdict == "fits"]
        fast = next((o for o in fitting if o.tokens_per_s >= MIN_TOKENS_PER_S), None)
        if fast is not None:
            return _recommendation(fast, hardware, passed_over[:1])
        if fitting:
            quickest = max(fitting, key=lambda o: o.tokens_per_s)
            passed_over.append(fitting[0])
            if best_slow is None or quickest.tokens_per_s > best_slow.tokens_per_s:
                best_slow = quickest
    return _recommendation(best_slow, hardware, []) if best_slow else None


def _options(entry: CatalogueEntry, hardware: Hardware) -> list[_Option]:
    source = entry.source()
    if source is None:
        return []
    default = source.quant()
    smaller = sorted(
        (q for q in source.quants if q.size_bytes < default.size_bytes),
        key=lambda q: q.size_bytes,
        reverse=True,
    )
    context = runtime_context(entry)
    options = []
    for quant in (default, *smaller):
        fit = plan(entry, quant=quant.name, context=context, hardware=hardware)
        options.append(_Option(entry, fit, estimate_tokens_per_s(entry, fit, hardware)))
    return options


def _recommendation(
    option: _Option, hardware: Hardware, passed_over: list[_Option]
) -> Recommendation:
    fit = option.fit
    fast = option.tokens_per_s >= MIN_TOKENS_PER_S
    speed = f"about {_speed(option.tokens_per_s)} tokens/s {where(fit, hardware)}"
    needs = f"needs {format_bytes(fit.total_bytes)} of {format_bytes(fit.available_bytes)} free"
    if fast:
        why = f"{needs}; {speed}"
        for other in passed_over:
            why += (
                f"; {other.entry.name} would fit too, but at about "
                f"{_speed(other.tokens_per_s)} tokens/s"
            )
    else:
        why = (
            f"{needs}; {speed}, which is slow: no Gemma 4 model that fits reaches "
            f"{MIN_TOKENS_PER_S:g} tokens/s here, and this is the fastest"
        )
    return Recommendation(
        spec=option.entry.id,
        name=option.entry.name,
        quant=fit.quant or "",
        size_bytes=fit.weights_bytes + fit.mmproj_bytes,
        context=fit.context,
        tokens_per_s=option.tokens_per_s,
        verdict=fit.verdict,
        fast_enough=fast,
        why=why,
        plan=fit,
    )


def _lookup_gpu(name: str) -> int:
    lowered = name.lower()
    for key in sorted(GPU_BANDWIDTH_GBPS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", lowered):
            return GPU_BANDWIDTH_GBPS[key]
    return DEFAULT_GPU_GBPS


def _lookup_apple(name: str) -> int:
    match = _APPLE_CHIP.search(name.lower())
    if match is None:
        return DEFAULT_APPLE_GBPS
    chip = " ".join(part for part in match.groups() if part)
    return APPLE_BANDWIDTH_GBPS.get(chip, DEFAULT_APPLE_GBPS)


def _speed(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.0f}" if tokens_per_s >= 10 else f"{tokens_per_s:.1f}"
