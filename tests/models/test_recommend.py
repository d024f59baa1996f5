"""The one recommendation doctor and the picker share: memory fit, estimated speed, context."""

from __future__ import annotations

import pytest

from gemma_chat.models import catalogue, recommend
from gemma_chat.models.catalogue import DOWNLOADED_CONTEXT
from gemma_chat.models.doctor import build_report
from gemma_chat.models.fit import plan
from gemma_chat.models.hardware import GPU, Hardware, apple_working_set
from gemma_chat.models.library import describe_entry, recommended
from gemma_chat.models.recommend import (
    MIN_TOKENS_PER_S,
    Recommendation,
    bytes_per_token,
    estimate_tokens_per_s,
    runtime_context,
)

GB = 10**9
GIB = 1024**3
BIG = ("gemma-4-26b-a4b", "gemma-4-31b")


def cpu_box(ram_total: int, ram_free: int, cores: int) -> Hardware:
    return Hardware("Linux", "x86_64", ram_total, ram_free, cores, cores)


def gpu_box(gpu: GPU, ram_free: int = 56 * GB, cores: int = 16) -> Hardware:
    return Hardware("Linux", "x86_64", 64 * GIB, ram_free, cores, cores * 2, (gpu,))


def mac(chip: str, ram: int, ram_free: int) -> Hardware:
    working_set = apple_working_set(ram)
    gpu = GPU(f"{chip} GPU", "apple", working_set, min(ram_free, working_set), unified=True)
    return Hardware("Darwin", "arm64", ram, ram_free, 10, 10, (gpu,))


def best(hardware: Hardware) -> Recommendation:
    rec = recommend.recommend(hardware)
    assert rec is not None
    return rec


def test_two_cpu_cores_get_a_small_model_and_are_told_it_is_slow():
    """The machine this was written on: 26B-A4B fits in 24 GB but decodes at ~3 tokens/s."""
    rec = best(cpu_box(24 * GIB, 22 * GB, 2))
    assert rec.spec not in BIG
    assert rec.spec == "gemma-4-e2b"  # the fastest Gemma 4 that fits
    assert rec.verdict == "fits" and not rec.fast_enough
    assert 2 < rec.tokens_per_s < MIN_TOKENS_PER_S
    assert rec.context == 32_768 == runtime_context(catalogue.get(rec.spec))
    assert "2 CPU cores" in rec.why and "slow" in rec.why
    assert rec.size_bytes == rec.plan.weights_bytes + rec.plan.mmproj_bytes


def test_the_16gb_laptop_gets_e4b_at_a_usable_speed():
    rec = best(cpu_box(16 * GIB, 12 * GB, 8))
    assert rec.spec == "gemma-4-e4b" and rec.quant == "Q4_K_M"
    assert rec.fast_enough and rec.tokens_per_s >= MIN_TOKENS_PER_S
    # 12B fits too but is dense: the reason it was passed over is in the one line.
    assert "Gemma 4 12B Unified would fit too" in rec.why
    assert "8 CPU cores" in rec.why


def test_many_cpu_cores_make_the_moe_model_worth_it():
    """26B-A4B reads only its 3.8B active parameters per token: fast enough on 16 cores."""
    rec = best(cpu_box(64 * GIB, 48 * GB, 16))
    assert rec.spec == "gemma-4-26b-a4b" and rec.fast_enough
    assert rec.plan.offload == "none"


def test_a_24gb_gpu_runs_the_dense_flagship_on_the_gpu():
    gpu = GPU("NVIDIA GeForce RTX 4090", "nvidia", 24 * GIB, 23 * GIB)
    rec = best(gpu_box(gpu))
    assert rec.spec == "gemma-4-31b" and rec.fast_enough
    assert rec.plan.offload == "full"
    assert rec.tokens_per_s > 20
    assert "on the GPU (NVIDIA GeForce RTX 4090)" in rec.why


def test_a_small_gpu_with_partial_offload_is_judged_on_its_cpu_share():
    gpu = GPU("NVIDIA GeForce RTX 4070", "nvidia", 12 * GIB, 11 * GIB)
    rec = best(gpu_box(gpu, ram_free=24 * GB, cores=8))
    assert rec.fast_enough
    assert rec.spec != "gemma-4-31b"  # half of a dense 31B on 8 CPU cores is ~3 tokens/s
    if rec.plan.offload == "partial":
        assert "layers on the GPU" in rec.why


def test_apple_silicon_uses_the_chips_bandwidth():
    rec = best(mac("Apple M2 Pro", 32 * GIB, 26 * GB))
    assert rec.fast_enough and "unified memory" in rec.why and "Apple M2 Pro" in rec.why
    assert rec.spec not in ("gemma-4-e2b",)
    # A base M1 moves a third of the bytes per second: a smaller or equal choice.
    slow = best(mac("Apple M1", 32 * GIB, 26 * GB))
    order = recommend.QUALITY_ORDER
    assert order.index(slow.spec) >= order.index(rec.spec)


def test_nothing_fits():
    assert recommend.recommend(cpu_box(4 * GIB, 2 * GB, 4)) is None


def test_speed_model():
    moe = catalogue.get("gemma-4-26b-a4b")
    assert bytes_per_token(moe, 26 * GB) == pytest.approx(3.8 * GB)
    dense = catalogue.get("gemma-4-31b")
    assert bytes_per_token(dense, 18 * GB) == 18 * GB
    hw = cpu_box(64 * GIB, 60 * GB, 2)
    fit = plan(dense, hardware=hw)
    # 2 cores x 4 GB/s over the whole file each token.
    assert estimate_tokens_per_s(dense, fit, hw) == pytest.approx(8 * GB / fit.weights_bytes)
    many = cpu_box(64 * GIB, 60 * GB, 64)
    capped = estimate_tokens_per_s(dense, plan(dense, hardware=many), many)
    assert capped == pytest.approx(recommend.CPU_BYTES_PER_S_MAX / fit.weights_bytes)


@pytest.mark.parametrize(
    ("name", "gbps"),
    [
        ("NVIDIA GeForce RTX 4070 Ti", 504),
        ("NVIDIA GeForce RTX 4070", 504),
        ("NVIDIA A100-SXM4-80GB", 1555),
        ("NVIDIA A10G", recommend.DEFAULT_GPU_GBPS),
        ("Tesla T4", 320),
        ("NVIDIA L40S", 864),
        ("Radeon RX 7900 XTX", 960),
        ("Some Future GPU", recommend.DEFAULT_GPU_GBPS),
    ],
)
def test_gpu_bandwidth_table(name: str, gbps: int):
    assert recommend._lookup_gpu(name) == gbps


@pytest.mark.parametrize(
    ("name", "gbps"),
    [
        ("Apple M1 GPU", 68),
        ("Apple M3 Max GPU", 300),
        ("Apple M4 Pro GPU", 273),
        ("Apple M9 Hyper GPU", recommend.DEFAULT_APPLE_GBPS),
        ("Apple Silicon GPU", recommend.DEFAULT_APPLE_GBPS),
    ],
)
def test_apple_bandwidth_table(name: str, gbps: int):
    assert recommend._lookup_apple(name) == gbps


def test_one_context_everywhere():
    """The runtime's cap, the picker's fit, doctor's table and the recommendation agree."""
    hw = cpu_box(24 * GIB, 22 * GB, 2)
    rec = best(hw)
    report = build_report(hw, engines=[])
    assert report.recommendation is not None
    assert report.recommendation.context == rec.context
    for check in report.models:
        entry = catalogue.get(check.plan.model)
        assert check.plan.context == min(entry.context_length, DOWNLOADED_CONTEXT)
        shown = describe_entry(entry, set(), hw)
        assert shown["fit"]["context"] == check.plan.context
        assert shown["tokens_per_s"] == round(check.tokens_per_s, 1)


def test_the_pickers_recommended_object():
    hw = cpu_box(16 * GIB, 12 * GB, 8)
    listing = [describe_entry(e, set(), hw) for e in catalogue.all_entries()]
    data = recommended(listing, hw)
    assert data is not None
    assert set(data) == {
        "spec",
        "name",
        "quant",
        "size_bytes",
        "context",
        "tokens_per_s",
        "verdict",
        "fast_enough",
        "why",
        "installed",
    }
    assert data["spec"] == "gemma-4-e4b" and data["installed"] is False
    entry = catalogue.get("gemma-4-e4b")
    have = [describe_entry(entry, {"Q4_K_M"}, hw)]
    assert recommended(have, hw)["installed"] is True  # type: ignore[index]
    other_quant = [describe_entry(entry, {"Q8_0"}, hw)]
    assert recommended(other_quant, hw)["installed"] is False  # type: ignore[index]
    assert recommended(listing, None) is None
