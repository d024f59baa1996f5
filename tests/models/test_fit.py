"""The memory planner: hand-computed KV figures, published sizes, verdicts and advice."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import Architecture
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.fit import (
    DEFAULT_CONTEXT,
    context_ladder,
    kv_cache_bytes,
    layers_from_architecture,
    layers_from_gguf,
    plan,
    plan_for_gguf,
)
from gemma_chat.models.gguf_meta import read_gguf_meta
from gemma_chat.models.hardware import GPU, Hardware, apple_working_set

GB = 10**9
GIB = 1024**3


def machine(
    ram_free: int = 12 * GB, ram_total: int = 16 * GIB, gpus: tuple[GPU, ...] = ()
) -> Hardware:
    system, arch = ("Darwin", "arm64") if any(g.unified for g in gpus) else ("Linux", "x86_64")
    return Hardware(system, arch, ram_total, ram_free, 8, 16, gpus)


LAPTOP_16GB = machine()  # the design target: 16 GB with about 12 GB free


# --- the design target ----------------------------------------------------------------------


def test_16gb_laptop_runs_e4b_at_32k_but_not_31b():
    e4b = plan("gemma-4-e4b", quant="Q4_K_M", context=32_768, hardware=LAPTOP_16GB)
    assert e4b.verdict == "fits", e4b.message
    assert e4b.message.startswith("Fits: needs ")
    assert e4b.message.endswith(" of 12 GB free")
    big = plan("gemma-4-31b", quant="Q4_K_M", context=32_768, hardware=LAPTOP_16GB)
    assert big.verdict == "wont_fit"
    assert big.message.startswith("Won't fit: needs ")
    assert big.recommendations.quant is None and big.recommendations.context is None


# --- published figures ------------------------------------------------------------------------

# Google's "Gemma 4 inference memory requirements" table (ai.google.dev/gemma/docs/core),
# GB per precision: (SFP8, Q4_0).
GOOGLE_TABLE = {
    "gemma-4-e2b": (5.7, 2.9),
    "gemma-4-e4b": (8.9, 4.5),
    "gemma-4-12b": (13.4, 6.7),
    "gemma-4-26b-a4b": (28.8, 14.4),
    "gemma-4-31b": (34.9, 17.5),
}


@pytest.mark.parametrize(("model_id", "published"), GOOGLE_TABLE.items())
def test_catalogue_weights_match_googles_memory_table(model_id, published):
    sfp8, q4_0 = published
    source = catalogue.get(model_id).source()
    assert source.quant("Q4_0").size_bytes / GB == pytest.approx(q4_0, rel=0.10)
    assert source.quant("Q8_0").size_bytes / GB == pytest.approx(sfp8, rel=0.15)
    # Q4_K_M keeps some tensors at higher precision: between the 4- and 8-bit files.
    sizes = [source.quant(n).size_bytes for n in ("Q4_0", "Q4_K_M", "Q8_0")]
    assert sizes == sorted(sizes)


def test_weights_scale_with_parameters():
    """A Q4_0 GGUF stores 4.5 bits per parameter: the catalogue's sizes and parameter counts
    must agree for the models whose weights are all in the text decoder."""
    for model_id in ("gemma-4-12b", "gemma-4-26b-a4b", "gemma-4-31b"):
        entry = catalogue.get(model_id)
        bits = entry.source().quant("Q4_0").size_bytes * 8 / (entry.params_b * 1e9)
        assert 4.3 < bits < 5.2, (model_id, bits)


def test_gemma_4_12b_kv_matches_the_published_per_token_cost():
    """Published derivation for Gemma 4 12B at q8_0: 8 global layers x K+V x 1 head x 512
    = 8192 values = 8704 bytes per token, plus a fixed sliding pool of
    40 x 2 x 8 x 256 x 1024 x 34/32 = 178,257,920 bytes."""
    layers = layers_from_architecture(catalogue.get("gemma-4-12b").architecture)
    for ctx in (4_096, 32_768, 262_144):
        assert kv_cache_bytes(layers, ctx, "q8_0") == 178_257_920 + 8_704 * ctx


# --- KV cache by hand ---------------------------------------------------------------------------

TINY = Architecture(
    n_layers=4,
    n_global_layers=2,
    sliding_window=100,
    n_kv_heads=2,
    head_dim=8,
    global_head_dim=16,
    global_kv_heads=1,
)


def test_tiny_architecture_by_hand():
    layers = layers_from_architecture(TINY)
    assert [layer.window for layer in layers] == [100, 0, 100, 0]  # S G S G
    # sliding: 2 layers x 2 heads x (8 + 8) x 100 tokens x 2 bytes = 12,800
    # global:  2 layers x 1 head  x (16 + 16) x 1000 tokens x 2 bytes = 128,000
    assert kv_cache_bytes(layers, 1_000) == 12_800 + 128_000
    # below the window, sliding layers hold only the context
    assert kv_cache_bytes(layers, 50) == 2 * 2 * 16 * 50 * 2 + 2 * 1 * 32 * 50 * 2


def test_kv_shared_layers_have_no_cache():
    shared = Architecture(**{**_fields(TINY), "kv_shared_layers": 1})
    assert len(layers_from_architecture(shared)) == 3
    assert kv_cache_bytes(layers_from_architecture(shared), 1_000) == 12_800 + 64_000


def test_sliding_window_reduces_kv_against_all_global():
    arch = catalogue.get("gemma-4-31b").architecture
    all_global = Architecture(**{**_fields(arch), "n_global_layers": arch.n_layers})
    hybrid = kv_cache_bytes(layers_from_architecture(arch), 131_072)
    dense = kv_cache_bytes(layers_from_architecture(all_global), 131_072)
    assert hybrid < dense / 4
    # at a context no longer than the window both layouts keep the same tokens
    small = Architecture(**{**_fields(TINY), "global_head_dim": None, "global_kv_heads": None})
    small_global = Architecture(**{**_fields(small), "n_global_layers": 4})
    assert kv_cache_bytes(layers_from_architecture(small), 100) == kv_cache_bytes(
        layers_from_architecture(small_global), 100
    )


@pytest.mark.parametrize(("kv_type", "ratio"), [("q8_0", 34 / 64), ("q4_0", 18 / 64)])
def test_quantised_kv_ratios(kv_type, ratio):
    layers = layers_from_architecture(catalogue.get("gemma-4-e4b").architecture)
    f16 = kv_cache_bytes(layers, 65_536, "f16")
    assert kv_cache_bytes(layers, 65_536, kv_type) == pytest.approx(f16 * ratio)


def test_e4b_kv_by_hand():
    """E4B: 24 layers own a cache (18 shared); 4 of them global (512-dim, 2 heads)."""
    layers = layers_from_architecture(catalogue.get("gemma-4-e4b").architecture)
    assert len(layers) == 24 and sum(1 for layer in layers if not layer.window) == 4
    swa = 20 * 2 * 2 * 256 * 512 * 2
    full = 4 * 2 * 2 * 512 * 32_768 * 2
    assert kv_cache_bytes(layers, 32_768) == swa + full


def test_context_ladder():
    assert context_ladder(131_072) == [2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 131_072]
    assert context_ladder(8_192) == [2_048, 4_096, 8_192]
    assert context_ladder(40_000)[-2:] == [32_768, 40_000]


# --- verdicts and budgets ---------------------------------------------------------------------


def test_verdict_thresholds():
    total = plan("gemma-4-e2b", context=8_192, hardware=LAPTOP_16GB).total_bytes
    assert plan("gemma-4-e2b", context=8_192, hardware=machine(int(total / 0.8))).verdict == "fits"
    tight = plan("gemma-4-e2b", context=8_192, hardware=machine(int(total / 0.9)))
    assert tight.verdict == "tight" and tight.message.startswith("Tight: ")
    assert plan("gemma-4-e2b", context=8_192, hardware=machine(total - 1)).verdict == "wont_fit"
    assert plan("gemma-4-e2b", context=8_192, hardware=machine(0)).verdict == "wont_fit"


def test_totals_add_up_and_mmproj_is_optional():
    with_proj = plan("gemma-4-e4b", context=16_384, hardware=LAPTOP_16GB)
    entry = catalogue.get("gemma-4-e4b")
    assert with_proj.weights_bytes == entry.source().quant("Q4_K_M").size_bytes
    assert with_proj.mmproj_bytes == entry.source().mmproj.size_bytes
    assert with_proj.total_bytes == (
        with_proj.weights_bytes
        + with_proj.mmproj_bytes
        + with_proj.kv_cache_bytes
        + with_proj.overhead_bytes
    )
    text_only = plan("gemma-4-e4b", context=16_384, hardware=LAPTOP_16GB, with_mmproj=False)
    assert text_only.mmproj_bytes == 0
    assert text_only.total_bytes < with_proj.total_bytes


def test_partial_and_full_gpu_offload():
    small_gpu = machine(gpus=(GPU("RTX 3050", "nvidia", 4 * GIB, 4 * GIB),))
    partial = plan("gemma-4-12b", context=8_192, hardware=small_gpu)
    assert partial.budget == "vram+ram"
    assert partial.offload == "partial"
    assert 0 < partial.n_gpu_layers < partial.n_layers == 48
    assert partial.available_bytes == 4 * GIB + 12 * GB
    assert "free VRAM" in partial.message
    assert any("layers fit in free VRAM" in note for note in partial.notes)

    big_gpu = machine(gpus=(GPU("RTX 4090", "nvidia", 24 * GIB, 23 * GIB),))
    full = plan("gemma-4-12b", context=8_192, hardware=big_gpu)
    assert full.offload == "full" and full.n_gpu_layers == 48
    assert full.recommendations.n_gpu_layers == 48

    cpu = plan("gemma-4-12b", context=8_192, hardware=LAPTOP_16GB)
    assert cpu.offload == "none" and cpu.n_gpu_layers == 0 and cpu.budget == "ram"


def test_apple_unified_memory_budget():
    ram = 16 * GIB
    mac = machine(
        ram_free=13 * GB,
        ram_total=ram,
        gpus=(GPU("Apple M3 GPU", "apple", apple_working_set(ram), 13 * GB, unified=True),),
    )
    result = plan("gemma-4-e4b", context=32_768, hardware=mac)
    assert result.budget == "unified"
    assert result.available_bytes == min(13 * GB, apple_working_set(ram))
    assert result.offload == "full" and result.n_gpu_layers == 42
    assert "unified memory" in result.message


# --- recommendations -------------------------------------------------------------------------


def test_recommendations_on_the_16gb_laptop():
    result = plan("gemma-4-e4b", quant="Q4_K_M", context=32_768, hardware=LAPTOP_16GB)
    recs = result.recommendations
    assert recs.kv_type == "f16"
    assert recs.context in context_ladder(131_072) and recs.context >= 32_768
    assert plan("gemma-4-e4b", context=recs.context, hardware=LAPTOP_16GB).verdict == "fits"
    bigger = [c for c in context_ladder(131_072) if c > recs.context]
    for ctx in bigger:
        assert plan("gemma-4-e4b", context=ctx, hardware=LAPTOP_16GB).verdict != "fits"
    assert recs.quant is not None
    best = plan("gemma-4-e4b", quant=recs.quant, context=32_768, hardware=LAPTOP_16GB)
    assert best.verdict == "fits"


def test_kv_type_recommendation_when_f16_does_not_fit():
    f16 = plan("gemma-4-e4b", context=131_072, hardware=LAPTOP_16GB)
    q8 = plan("gemma-4-e4b", context=131_072, kv_type="q8_0", hardware=LAPTOP_16GB)
    assert q8.kv_cache_bytes < f16.kv_cache_bytes
    assert any("flash attention" in note for note in q8.notes)
    # free memory between the two totals: f16 no longer fits, q8_0 still does
    hw = machine(int((q8.total_bytes + 0.1 * GB) / 0.85))
    result = plan("gemma-4-e4b", context=131_072, hardware=hw)
    assert result.verdict != "fits"
    assert result.recommendations.kv_type == "q8_0"


def test_quant_from_a_second_source():
    result = plan("gemma-4-26b-a4b", quant="ud-q4_k_m", context=8_192, hardware=LAPTOP_16GB)
    assert result.quant == "UD-Q4_K_M"
    assert result.mmproj_bytes == catalogue.get("gemma-4-26b-a4b").gguf[1].mmproj.size_bytes


def test_errors_and_clamping():
    with pytest.raises(KeyError, match="known models"):
        plan("gemma-9", hardware=LAPTOP_16GB)
    with pytest.raises(KeyError, match="choose one of"):
        plan("gemma-4-e4b", quant="Q1_X", hardware=LAPTOP_16GB)
    with pytest.raises(ValueError, match="KV cache type"):
        plan("gemma-4-e4b", kv_type="f8", hardware=LAPTOP_16GB)
    with pytest.raises(ValueError, match="positive"):
        plan("gemma-4-e4b", context=-5, hardware=LAPTOP_16GB)
    clamped = plan("gemma-3n-e4b", context=1_000_000, hardware=LAPTOP_16GB)
    assert clamped.context == clamped.max_context == 32_768
    assert any("at most" in note for note in clamped.notes)
    assert plan("gemma-4-e4b", hardware=LAPTOP_16GB).context == DEFAULT_CONTEXT


def test_as_dict_is_json_ready_for_the_api():
    data = plan("gemma-4-e4b", context=32_768, hardware=LAPTOP_16GB).as_dict()
    json.dumps(data)
    for key in (
        "model",
        "quant",
        "context",
        "kv_type",
        "verdict",
        "message",
        "weights_bytes",
        "mmproj_bytes",
        "kv_cache_bytes",
        "overhead_bytes",
        "total_bytes",
        "available_bytes",
        "budget",
        "n_gpu_layers",
        "offload",
        "recommendations",
        "usage_ratio",
        "notes",
    ):
        assert key in data
    assert set(data["recommendations"]) == {"quant", "context", "kv_type", "n_gpu_layers"}
    assert 0 < data["usage_ratio"] < 0.85


# --- local GGUF files ------------------------------------------------------------------------


def _write_gemma4_like(path: Path) -> Path:
    writer = gguf.GGUFWriter(path, "gemma4")
    writer.add_block_count(6)
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv([2, 2, 2, 2, 2, 1])
    writer.add_key_length(32)
    writer.add_value_length(32)
    writer.add_key_length_swa(16)
    writer.add_value_length_swa(16)
    writer.add_sliding_window(128)
    writer.add_sliding_window_pattern([True, True, False, True, True, False])
    writer.add_shared_kv_layers(2)
    writer.add_tensor("token_embd.weight", np.zeros((16, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_plan_for_a_synthetic_gguf(tmp_path: Path):
    path = _write_gemma4_like(tmp_path / "tiny.gguf")
    layers = layers_from_gguf(read_gguf_meta(path))
    assert [(lay.kv_heads, lay.key_dim, lay.window) for lay in layers] == [
        (2, 16, 128),
        (2, 16, 128),
        (2, 32, 0),
        (2, 16, 128),
    ]  # the last two layers share KV; the 1-head layer is one of them
    result = plan_for_gguf(path, context=4_096, hardware=LAPTOP_16GB)
    swa = 3 * 2 * (16 + 16) * 128 * 2
    full = 1 * 2 * (32 + 32) * 4_096 * 2
    assert result.kv_cache_bytes == swa + full
    assert result.weights_bytes == path.stat().st_size
    assert result.model == f"gguf:{path}"
    assert result.max_context == 4_096
    assert result.verdict == "fits"
    assert result.recommendations.quant is None  # one file: nothing to choose between


def test_plan_for_gguf_with_a_projector(tmp_path: Path):
    path = _write_gemma4_like(tmp_path / "tiny.gguf")
    projector = tmp_path / "mmproj.gguf"
    projector.write_bytes(b"\0" * 12_345)
    result = plan_for_gguf(path, mmproj=projector, hardware=LAPTOP_16GB)
    assert result.mmproj_bytes == 12_345


def test_embedded_model_file_and_catalogue_agree():
    from_file = plan_for_gguf(embedded_model_path(), hardware=LAPTOP_16GB)
    from_catalogue = plan("embedded", hardware=LAPTOP_16GB)
    assert from_file.context == from_catalogue.context == 8_192
    assert from_file.kv_cache_bytes == from_catalogue.kv_cache_bytes == 30 * 3 * 128 * 8_192 * 2
    assert from_file.weights_bytes == from_catalogue.weights_bytes
    assert from_file.quant == from_catalogue.quant == "Q4_1"
    assert from_catalogue.verdict == "fits"


def test_plan_for_gguf_rejects_other_files(tmp_path: Path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ValueError, match="not a GGUF"):
        plan_for_gguf(junk, hardware=LAPTOP_16GB)


def _fields(arch: Architecture) -> dict:
    return {name: getattr(arch, name) for name in Architecture.__slots__}
