"""Will this model run here? Memory needed (weights, KV cache, overhead) against memory free.

The estimate is deliberately simple and errs on the safe side:

* weights: the GGUF file size (plus the mmproj projector when image/audio input is on);
* KV cache: for every layer that keeps its own cache, K and V for each KV head, holding the
  whole context on global layers and only `sliding_window` tokens on sliding-window layers
  (layers that share an earlier layer's cache add nothing);
* overhead: 512 MiB for the runtime and llama.cpp's compute buffer at its default 512-token
  micro-batch (dominated by logits over Gemma's 262K vocabulary), 2 % of the weights for
  alignment and repacking, and 4 KiB per context token for the attention mask and scratch.

The verdict compares the total with free RAM, free VRAM plus free RAM (partial GPU offload),
or Metal's share of unified memory on Apple Silicon. Over 85 % of what is free is "tight".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import Architecture, CatalogueEntry, GGUFQuant, GGUFSource
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.gguf_meta import GGUFMeta, read_gguf_meta
from gemma_chat.models.hardware import Hardware, detect
from gemma_chat.util.units import format_bytes

Verdict = Literal["fits", "tight", "wont_fit"]
Budget = Literal["ram", "vram+ram", "unified"]
Offload = Literal["full", "partial", "none"]

MIB = 1024 * 1024
TIGHT_RATIO = 0.85
BASE_OVERHEAD_BYTES = 512 * MIB
WEIGHTS_OVERHEAD_SHARE = 0.02
PER_TOKEN_OVERHEAD_BYTES = 4 * 1024
DEFAULT_CONTEXT = 32_768
MIN_CONTEXT = 2_048

# Bytes per stored value as (numerator, denominator): ggml's q8_0 packs 32 values into
# 34 bytes (32 int8 + one f16 scale), q4_0 into 18 bytes (16 bytes of nibbles + the scale).
KV_TYPES: dict[str, tuple[int, int]] = {"f16": (2, 1), "q8_0": (34, 32), "q4_0": (18, 32)}


@dataclass(frozen=True, slots=True)
class LayerKV:
    """The cache one layer keeps: `window` tokens (0 = the whole context)."""

    kv_heads: int
    key_dim: int
    value_dim: int
    window: int = 0


@dataclass(frozen=True, slots=True)
class Recommendations:
    quant: str | None  # largest quantisation that fits at the requested context
    context: int | None  # largest power-of-two context that fits with the chosen quant
    kv_type: str | None  # least lossy KV cache type that fits
    n_gpu_layers: int  # layers to offload (llama.cpp n_gpu_layers); 0 without a usable GPU


@dataclass(frozen=True, slots=True)
class FitPlan:
    model: str  # catalogue id or gguf:PATH
    name: str
    quant: str | None
    context: int
    max_context: int
    kv_type: str
    weights_bytes: int
    mmproj_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    total_bytes: int
    available_bytes: int
    budget: Budget
    ram_available_bytes: int
    vram_free_bytes: int
    verdict: Verdict
    message: str
    n_layers: int
    n_gpu_layers: int
    offload: Offload
    recommendations: Recommendations
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usage_ratio(self) -> float:
        return self.total_bytes / self.available_bytes if self.available_bytes > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        ratio = self.usage_ratio
        data["usage_ratio"] = round(ratio, 4) if ratio != float("inf") else None
        return data


# --- KV cache -----------------------------------------------------------------------------


def layers_from_architecture(arch: Architecture) -> tuple[LayerKV, ...]:
    """Layers with their own cache. Global layers are taken to close each group of
    n_layers / n_global_layers layers (Gemma's SSSSF... layout); trailing KV-shared layers
    are dropped."""
    own = arch.n_layers - arch.kv_shared_layers
    if arch.sliding_window <= 0 or arch.n_global_layers >= arch.n_layers:
        period = 1
    else:
        period = max(1, round(arch.n_layers / max(1, arch.n_global_layers)))
    layers = []
    for index in range(own):
        is_global = period == 1 or (index + 1) % period == 0
        if is_global:
            dim = arch.global_head_dim or arch.head_dim
            heads = arch.global_kv_heads or arch.n_kv_heads
            layers.append(LayerKV(heads, dim, dim, 0))
        else:
            dim, window = arch.head_dim, arch.sliding_window
            layers.append(LayerKV(arch.n_kv_heads, dim, dim, window))
    return tuple(layers)


def layers_from_gguf(meta: GGUFMeta) -> tuple[LayerKV, ...]:
    """Layers with their own cache, from GGUF metadata (per-layer head counts honoured)."""
    swa = meta.swa_layers()
    own = meta.n_layers - meta.shared_kv_layers
    default_dim = meta.head_dim() or 0
    layers = []
    for index in range(max(0, own)):
        heads = meta.head_count_kv[index] if index < len(meta.head_count_kv) else meta.head_count
        if not heads:  # recurrent or attention-free layer (hybrid models): no KV cache
            continue
        if swa[index]:
            key = meta.key_length_swa or default_dim
            value = meta.value_length_swa or meta.key_length_swa or meta.value_length or key
            layers.append(LayerKV(heads, key, value, meta.sliding_window or 0))
        else:
            key = default_dim
            value = meta.value_length or key
            layers.append(LayerKV(heads, key, value, 0))
    return tuple(layers)


def kv_cache_bytes(layers: Sequence[LayerKV], context: int, kv_type: str = "f16") -> int:
    """K and V for every cached token of every layer, in the given cache type."""
    numerator, denominator = _kv_type(kv_type)
    total = 0
    for layer in layers:
        tokens = min(context, layer.window) if layer.window else context
        values = layer.kv_heads * (layer.key_dim + layer.value_dim) * tokens
        total += -(-values * numerator // denominator)  # ceiling: whole blocks
    return total


def overhead_bytes(weights_bytes: int, context: int) -> int:
    return (
        BASE_OVERHEAD_BYTES
        + int(weights_bytes * WEIGHTS_OVERHEAD_SHARE)
        + context * PER_TOKEN_OVERHEAD_BYTES
    )


def context_ladder(max_context: int, start: int = MIN_CONTEXT) -> list[int]:
    """Powers of two from `start` up to the model's maximum (which is always included)."""
    steps = []
    size = start
    while size < max_context:
        steps.append(size)
        size *= 2
    steps.append(max_context)
    return steps


# --- Planning -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Model:
    """What planning needs, whichever way the model was named."""

    spec: str
    name: str
    layers: tuple[LayerKV, ...]
    n_layers: int
    max_context: int
    quant: str | None
    weights_bytes: int
    mmproj_bytes: int
    quants: tuple[GGUFQuant, ...] = ()  # the alternatives, for recommendations


def plan(
    model: CatalogueEntry | str,
    *,
    quant: str | None = None,
    context: int | None = None,
    kv_type: str = "f16",
    hardware: Hardware | None = None,
    with_mmproj: bool = True,
) -> FitPlan:
    """Plan a catalogue model (entry or id) at one quantisation, context and KV cache type.

    KeyError for an unknown model or quantisation, ValueError for a bad KV type or context.
    """
    entry = catalogue.get(model) if isinstance(model, str) else model
    return _plan(_from_entry(entry, quant, with_mmproj), context, kv_type, hardware)


def plan_for_gguf(
    path: str | Path,
    *,
    context: int | None = None,
    kv_type: str = "f16",
    hardware: Hardware | None = None,
    mmproj: str | Path | None = None,
) -> FitPlan:
    """Plan a local GGUF file from its own metadata; ValueError if it is not a GGUF."""
    meta = read_gguf_meta(path)
    mmproj_bytes = Path(mmproj).stat().st_size if mmproj else 0
    model = _Model(
        spec=f"gguf:{meta.path}",
        name=meta.name or Path(meta.path).name,
        layers=layers_from_gguf(meta),
        n_layers=meta.n_layers,
        max_context=meta.context_length or DEFAULT_CONTEXT,
        quant=meta.quant_name,
        weights_bytes=meta.file_size,
        mmproj_bytes=mmproj_bytes,
    )
    return _plan(model, context, kv_type, hardware)


def _from_entry(entry: CatalogueEntry, quant: str | None, with_mmproj: bool) -> _Model:
    if entry.architecture is None:
        raise ValueError(f"{entry.id} has no architecture data to plan with")
    if entry.gguf:
        chosen, source = _find_quant(entry, quant)
        weights, name, quants = chosen.size_bytes, chosen.name, source.quants
        mmproj_bytes = source.mmproj.size_bytes if (with_mmproj and source.mmproj) else 0
    elif entry.builtin:
        path = _builtin_path()  # e.g. SmolLM2-135M-Instruct.Q4_1.gguf
        weights, name, mmproj_bytes, quants = path.stat().st_size, path.stem.rsplit(".")[-1], 0, ()
    else:
        raise ValueError(f"{entry.id} has no GGUF files to plan with")
    return _Model(
        spec=entry.id,
        name=entry.name,
        layers=layers_from_architecture(entry.architecture),
        n_layers=entry.architecture.n_layers,
        max_context=entry.context_length,
        quant=name,
        weights_bytes=weights,
        mmproj_bytes=mmproj_bytes,
        quants=quants,
    )


def _find_quant(entry: CatalogueEntry, quant: str | None) -> tuple[GGUFQuant, GGUFSource]:
    """The quantisation in the preferred source, else in any source that publishes it."""
    if quant is None:
        return entry.gguf[0].quant(), entry.gguf[0]
    for source in entry.gguf:
        try:
            return source.quant(quant), source
        except KeyError:
            continue
    known = sorted({q.name for s in entry.gguf for q in s.quants})
    raise KeyError(f"{entry.id} has no quantisation {quant!r}; choose one of: {', '.join(known)}")


def _builtin_path() -> Path:
    return embedded_model_path()


def _plan(model: _Model, context: int | None, kv_type: str, hardware: Hardware | None) -> FitPlan:
    _kv_type(kv_type)
    if context is not None and context <= 0:
        raise ValueError("context must be a positive number of tokens")
    hardware = hardware or detect()
    ctx = min(context or DEFAULT_CONTEXT, model.max_context)
    notes = []
    if context and context > model.max_context:
        notes.append(f"{model.name} supports at most {model.max_context:,} tokens of context.")
    if kv_type != "f16":
        notes.append("A quantised KV cache needs flash attention in llama.cpp (-fa on).")
    base = _measure(model, ctx, kv_type, hardware)
    recs = Recommendations(
        quant=_best_quant(model, ctx, kv_type, hardware),
        context=_best_context(model, kv_type, hardware),
        kv_type=_best_kv_type(model, ctx, hardware),
        n_gpu_layers=base.n_gpu_layers,
    )
    if base.offload == "partial":
        notes.append(
            f"Only {base.n_gpu_layers} of {model.n_layers} layers fit in free VRAM; "
            "the rest run on the CPU, which is slower."
        )
    return replace(base, recommendations=recs, notes=tuple(notes))


def _measure(model: _Model, ctx: int, kv_type: str, hardware: Hardware) -> FitPlan:
    """The numbers and verdict for one configuration (recommendations left empty)."""
    weights = model.weights_bytes + model.mmproj_bytes
    kv = kv_cache_bytes(model.layers, ctx, kv_type)
    overhead = overhead_bytes(weights, ctx)
    total = weights + kv + overhead
    budget, available = _available(hardware)
    n_gpu, offload = _offload(model, weights, kv, overhead, hardware)
    verdict = _verdict(total, available)
    return FitPlan(
        model=model.spec,
        name=model.name,
        quant=model.quant,
        context=ctx,
        max_context=model.max_context,
        kv_type=kv_type,
        weights_bytes=model.weights_bytes,
        mmproj_bytes=model.mmproj_bytes,
        kv_cache_bytes=kv,
        overhead_bytes=overhead,
        total_bytes=total,
        available_bytes=available,
        budget=budget,
        ram_available_bytes=hardware.ram_available_bytes,
        vram_free_bytes=hardware.vram_free_bytes,
        verdict=verdict,
        message=_message(verdict, total, available, budget, hardware),
        n_layers=model.n_layers,
        n_gpu_layers=n_gpu,
        offload=offload,
        recommendations=Recommendations(None, None, None, n_gpu),
    )


def _available(hardware: Hardware) -> tuple[Budget, int]:
    if hardware.unified_memory:
        working_set = max(gpu.total_bytes for gpu in hardware.gpus if gpu.unified)
        return "unified", min(hardware.ram_available_bytes, working_set)
    if hardware.vram_free_bytes > 0:
        return "vram+ram", hardware.vram_free_bytes + hardware.ram_available_bytes
    return "ram", hardware.ram_available_bytes


def _offload(
    model: _Model, weights: int, kv: int, overhead: int, hardware: Hardware
) -> tuple[int, Offload]:
    """How many layers go to the GPU: all of them on unified memory; on a discrete GPU as
    many as fit in free VRAM after the compute buffer and the projector."""
    if hardware.unified_memory:
        return model.n_layers, "full"
    vram = hardware.vram_free_bytes
    if vram <= 0 or model.n_layers <= 0:
        return 0, "none"
    per_layer = (model.weights_bytes + kv) / model.n_layers
    usable = vram - overhead - model.mmproj_bytes
    layers = max(0, min(model.n_layers, int(usable // per_layer))) if per_layer > 0 else 0
    if layers == model.n_layers:
        return layers, "full"
    return layers, ("partial" if layers else "none")


def _verdict(total: int, available: int) -> Verdict:
    if available <= 0 or total > available:
        return "wont_fit"
    return "fits" if total <= available * TIGHT_RATIO else "tight"


def _message(verdict: Verdict, total: int, available: int, budget: Budget, hw: Hardware) -> str:
    if budget == "vram+ram":
        vram, ram = format_bytes(hw.vram_free_bytes), format_bytes(hw.ram_available_bytes)
        free = f"{vram} free VRAM + {ram} free RAM"
    elif budget == "unified":
        free = f"{format_bytes(available)} of unified memory usable by the GPU"
    else:
        free = f"{format_bytes(available)} free"
    if verdict == "fits":
        return f"Fits: needs {format_bytes(total)} of {free}"
    if verdict == "tight":
        return (
            f"Tight: needs {format_bytes(total)} of {free}; "
            "close other apps or use a smaller context"
        )
    return f"Won't fit: needs {format_bytes(total)}, but only {free}"


def _best_quant(model: _Model, ctx: int, kv_type: str, hardware: Hardware) -> str | None:
    best_tight = None
    for quant in sorted(model.quants, key=lambda q: q.size_bytes, reverse=True):
        candidate = replace(model, quant=quant.name, weights_bytes=quant.size_bytes)
        verdict = _measure(candidate, ctx, kv_type, hardware).verdict
        if verdict == "fits":
            return quant.name
        if verdict == "tight" and best_tight is None:
            best_tight = quant.name
    return best_tight


def _best_context(model: _Model, kv_type: str, hardware: Hardware) -> int | None:
    best = None
    for ctx in context_ladder(model.max_context):
        if _measure(model, ctx, kv_type, hardware).verdict != "fits":
            break  # memory only grows with context
        best = ctx
    return best


def _best_kv_type(model: _Model, ctx: int, hardware: Hardware) -> str | None:
    for kv_type in KV_TYPES:
        if _measure(model, ctx, kv_type, hardware).verdict == "fits":
            return kv_type
    return None


def _kv_type(kv_type: str) -> tuple[int, int]:
    try:
        return KV_TYPES[kv_type]
    except KeyError:
        raise ValueError(
            f"Unknown KV cache type {kv_type!r}; use one of: {', '.join(KV_TYPES)}"
        ) from None
