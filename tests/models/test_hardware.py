"""Hardware detection: the vendor-tool parsers on canned output, and detect() end to end."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from gemma_chat.models import hardware
from gemma_chat.models.hardware import (
    GPU,
    MIB,
    Hardware,
    apple_working_set,
    detect,
    parse_nvidia_smi,
    parse_rocm_smi,
)

NVIDIA_TWO_GPUS = """NVIDIA GeForce RTX 4090, 24564, 23012
NVIDIA RTX A2000 12GB, 12282, 11900
"""


def test_parse_nvidia_smi():
    gpus = parse_nvidia_smi(NVIDIA_TWO_GPUS)
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA RTX A2000 12GB"]
    assert gpus[0].total_bytes == 24564 * MIB
    assert gpus[0].free_bytes == 23012 * MIB
    assert all(g.vendor == "nvidia" and not g.unified for g in gpus)


def test_parse_nvidia_smi_skips_unreadable_rows():
    assert parse_nvidia_smi("") == []
    assert parse_nvidia_smi("NVIDIA H100 MIG 1g.10gb, [N/A], [N/A]\ngarbage") == []


def test_parse_rocm_smi():
    output = json.dumps(
        {
            "card0": {
                "Card Series": "Radeon RX 7900 XTX",
                "VRAM Total Memory (B)": "25753026560",
                "VRAM Total Used Memory (B)": "1153026560",
            },
            "system": {"Driver version": "6.8"},
        }
    )
    (gpu,) = parse_rocm_smi(output)
    assert gpu.name == "Radeon RX 7900 XTX"
    assert gpu.vendor == "amd"
    assert gpu.total_bytes == 25_753_026_560
    assert gpu.free_bytes == 24_600_000_000
    assert parse_rocm_smi("not json") == []


def test_apple_working_set():
    assert apple_working_set(16 * 1024**3) == int(16 * 1024**3 * 2 / 3)
    assert apple_working_set(64 * 1024**3) == int(64 * 1024**3 * 3 / 4)


def fake_runner(outputs: dict[str, str | None]):
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> str | None:
        calls.append(list(argv))
        return outputs.get(argv[0])

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_detect_with_an_nvidia_gpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(hardware.platform, "system", lambda: "Linux")
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    run = fake_runner({"nvidia-smi": NVIDIA_TWO_GPUS})
    hw = detect(run)
    assert hw.system == "Linux" and not hw.apple_silicon
    assert hw.ram_total_bytes >= hw.ram_available_bytes > 0
    assert hw.cpu_physical_cores >= 1 and hw.cpu_logical_cores >= hw.cpu_physical_cores
    assert len(hw.gpus) == 2
    assert hw.vram_free_bytes == (23012 + 11900) * MIB
    assert not any(call[0] == "rocm-smi" for call in run.calls)  # type: ignore[attr-defined]


def test_detect_falls_back_to_rocm_then_to_no_gpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(hardware.platform, "system", lambda: "Linux")
    rocm = json.dumps(
        {"card0": {"VRAM Total Memory (B)": "1000", "VRAM Total Used Memory (B)": "1"}}
    )
    assert detect(fake_runner({"rocm-smi": rocm})).gpus[0].vendor == "amd"
    hw = detect(fake_runner({}))
    assert hw.gpus == () and hw.vram_free_bytes == 0 and not hw.unified_memory


def test_detect_on_apple_silicon(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(hardware.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(hardware.platform, "machine", lambda: "arm64")
    hw = detect(fake_runner({"sysctl": "Apple M3 Pro\n", "nvidia-smi": NVIDIA_TWO_GPUS}))
    assert hw.apple_silicon and hw.unified_memory
    (gpu,) = hw.gpus
    assert gpu.vendor == "apple" and gpu.unified and gpu.name == "Apple M3 Pro GPU"
    assert gpu.total_bytes == apple_working_set(hw.ram_total_bytes)
    assert gpu.free_bytes <= min(hw.ram_available_bytes, gpu.total_bytes)
    assert hw.vram_free_bytes == 0  # unified memory is not extra memory
    assert "Unified memory" in hw.notes[0]


def test_detect_on_this_machine_never_fails():
    hw = detect()
    assert hw.ram_total_bytes > 0
    data = hw.as_dict()
    assert json.dumps(data)
    assert {"ram_total_bytes", "gpus", "apple_silicon", "vram_free_bytes"} <= set(data)


def test_missing_or_failing_tools_read_as_none(monkeypatch: pytest.MonkeyPatch):
    assert hardware._run_tool(["surely-not-a-real-tool-xyz"]) is None
    assert hardware._run_tool(["false"]) is None
    assert hardware._run_tool(["echo", "hi"]) == "hi\n"


def test_hardware_dataclass_is_easy_to_fake():
    hw = Hardware(
        system="Linux",
        machine="x86_64",
        ram_total_bytes=16 * 1024**3,
        ram_available_bytes=12 * 10**9,
        cpu_physical_cores=8,
        cpu_logical_cores=16,
        gpus=(GPU("RTX", "nvidia", 8 * 1024**3, 7 * 1024**3),),
    )
    assert hw.discrete_gpus == hw.gpus
    assert hw.vram_free_bytes == 7 * 1024**3
