"""What this machine has for running models: RAM, CPU cores and GPUs with their free memory.

Detection shells out to the vendors' own tools (nvidia-smi, rocm-smi) with short timeouts and
treats any failure as "no such GPU"; the parsers are separate so tests can feed canned output.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import psutil

Vendor = Literal["nvidia", "amd", "apple"]
MIB = 1024 * 1024
TOOL_TIMEOUT_S = 3.0

# Metal lets one process wire roughly 2/3 of RAM on small Macs and about 3/4 on larger ones
# (MTLDevice.recommendedMaxWorkingSetSize); beyond that the GPU cannot use the memory.
APPLE_SMALL_RAM = 36 * 1024**3

Runner = Callable[[Sequence[str]], str | None]


@dataclass(frozen=True, slots=True)
class GPU:
    name: str
    vendor: Vendor
    total_bytes: int
    free_bytes: int
    unified: bool = False  # shares system RAM (Apple Silicon): not extra memory


@dataclass(frozen=True, slots=True)
class Hardware:
    system: str  # platform.system(): "Linux", "Darwin", "Windows"
    machine: str  # platform.machine(): "x86_64", "arm64", ...
    ram_total_bytes: int
    ram_available_bytes: int
    cpu_physical_cores: int
    cpu_logical_cores: int
    gpus: tuple[GPU, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine == "arm64"

    @property
    def unified_memory(self) -> bool:
        return any(gpu.unified for gpu in self.gpus)

    @property
    def discrete_gpus(self) -> tuple[GPU, ...]:
        return tuple(gpu for gpu in self.gpus if not gpu.unified)

    @property
    def vram_free_bytes(self) -> int:
        """Free memory on discrete GPUs (llama.cpp can split layers across them)."""
        return sum(gpu.free_bytes for gpu in self.discrete_gpus)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["apple_silicon"] = self.apple_silicon
        data["unified_memory"] = self.unified_memory
        data["vram_free_bytes"] = self.vram_free_bytes
        return data


def apple_working_set(ram_total_bytes: int) -> int:
    """Metal's default GPU working-set limit for a Mac with this much RAM."""
    share = 2 / 3 if ram_total_bytes <= APPLE_SMALL_RAM else 3 / 4
    return int(ram_total_bytes * share)


def parse_nvidia_smi(output: str) -> list[GPU]:
    """Parse nvidia-smi's `--query-gpu=name,memory.total,memory.free` CSV (MiB, no header)."""
    gpus = []
    for line in output.splitlines():
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3:
            continue
        name, total, free = parts
        try:
            gpus.append(
                GPU(
                    name=name,
                    vendor="nvidia",
                    total_bytes=int(float(total) * MIB),
                    free_bytes=int(float(free) * MIB),
                )
            )
        except ValueError:  # "[N/A]" on some virtualised or MIG devices
            continue
    return gpus


def parse_rocm_smi(output: str) -> list[GPU]:
    """Parse `rocm-smi --showmeminfo vram --showproductname --json`."""
    try:
        cards = json.loads(output)
    except ValueError:
        return []
    gpus = []
    for card_id, info in cards.items() if isinstance(cards, dict) else ():
        if not isinstance(info, dict):
            continue
        try:
            total = int(info["VRAM Total Memory (B)"])
            used = int(info.get("VRAM Total Used Memory (B)", 0))
        except (KeyError, ValueError):
            continue
        name = str(info.get("Card Series") or info.get("Card series") or card_id)
        gpus.append(GPU(name=name, vendor="amd", total_bytes=total, free_bytes=total - used))
    return gpus


def detect(run: Runner | None = None) -> Hardware:
    """Probe this machine; `run` replaces subprocess execution in tests."""
    run = run or _run_tool
    memory = psutil.virtual_memory()
    system, machine = platform.system(), platform.machine().lower()
    if machine == "aarch64" and system == "Darwin":
        machine = "arm64"
    gpus: list[GPU] = []
    notes: list[str] = []
    if system == "Darwin" and machine == "arm64":
        working_set = apple_working_set(memory.total)
        gpus.append(
            GPU(
                name=_apple_chip(run) or "Apple Silicon GPU",
                vendor="apple",
                total_bytes=working_set,
                free_bytes=min(memory.available, working_set),
                unified=True,
            )
        )
        notes.append(
            "Unified memory: the GPU shares RAM and Metal lets it use about "
            f"{working_set / 1e9:.1f} GB of it."
        )
    else:
        nvidia = run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,memory.free",
                "--format=csv,noheader,nounits",
            ]
        )
        gpus.extend(parse_nvidia_smi(nvidia or ""))
        if not gpus:
            amd = run(["rocm-smi", "--showmeminfo", "vram", "--showproductname", "--json"])
            gpus.extend(parse_rocm_smi(amd or ""))
    return Hardware(
        system=system,
        machine=machine,
        ram_total_bytes=memory.total,
        ram_available_bytes=memory.available,
        cpu_physical_cores=psutil.cpu_count(logical=False) or psutil.cpu_count() or 1,
        cpu_logical_cores=psutil.cpu_count() or 1,
        gpus=tuple(gpus),
        notes=tuple(notes),
    )


def _apple_chip(run: Runner) -> str | None:
    brand = run(["sysctl", "-n", "machdep.cpu.brand_string"])
    return f"{brand.strip()} GPU" if brand and brand.strip() else None


def _run_tool(argv: Sequence[str]) -> str | None:
    """stdout of a vendor tool, or None when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
