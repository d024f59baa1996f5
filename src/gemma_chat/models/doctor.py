"""`gemma-chat doctor`: what this machine can run, which engines it has, and what to pick.

The recommendation walks the Gemma 4 catalogue from the most capable model down and takes
the first that fits at a useful context; on a machine without a GPU it tries the models
that are fast on a CPU first (few active parameters), since a dense 31B at two tokens a
second is not a good answer even when it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.console import Console
from rich.table import Table

from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import CatalogueEntry
from gemma_chat.models.engines import Engine, probe_engines_sync
from gemma_chat.models.fit import DEFAULT_CONTEXT, FitPlan, plan
from gemma_chat.models.hardware import Hardware, detect

QUALITY_ORDER = ("gemma-4-31b", "gemma-4-26b-a4b", "gemma-4-12b", "gemma-4-e4b", "gemma-4-e2b")
# Without a GPU, models are ranked by the parameters each token touches.
CPU_ORDER = ("gemma-4-26b-a4b", "gemma-4-e4b", "gemma-4-12b", "gemma-4-e2b", "gemma-4-31b")
GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class DoctorReport:
    hardware: Hardware
    engines: tuple[Engine, ...]
    models: tuple[FitPlan, ...]  # each Gemma 4 model at its default quant and 32K context
    recommendation: FitPlan | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hardware": self.hardware.as_dict(),
            "engines": [engine.as_dict() for engine in self.engines],
            "models": [model.as_dict() for model in self.models],
            "recommendation": self.recommendation.as_dict() if self.recommendation else None,
        }


def has_gpu(hardware: Hardware) -> bool:
    return hardware.unified_memory or hardware.vram_free_bytes > 0


def candidates(hardware: Hardware) -> list[CatalogueEntry]:
    order = QUALITY_ORDER if has_gpu(hardware) else CPU_ORDER
    return [catalogue.get(model_id) for model_id in order]


def recommend(hardware: Hardware) -> FitPlan | None:
    """The best Gemma 4 model, quantisation and context that fit. With a discrete GPU the
    choice is first made against free VRAM alone, so a model that runs entirely on the GPU
    wins over a larger one split with the CPU (which is several times slower)."""
    if hardware.vram_free_bytes > 0 and not hardware.unified_memory:
        vram_only = replace(hardware, ram_available_bytes=0)
        for entry in candidates(hardware):
            chosen = _best_plan(entry, vram_only)
            if chosen is not None:  # re-plan for the real figures (RAM counted again)
                return plan(entry, quant=chosen.quant, context=chosen.context, hardware=hardware)
    for entry in candidates(hardware):
        chosen = _best_plan(entry, hardware)
        if chosen is not None:
            return chosen
    return None


def _best_plan(entry: CatalogueEntry, hardware: Hardware) -> FitPlan | None:
    """The largest quantisation that fits at 32K, then the largest context at that quant."""
    first = plan(entry, context=DEFAULT_CONTEXT, hardware=hardware)
    quant = first.recommendations.quant
    if quant is None:
        return None
    at_quant = plan(entry, quant=quant, context=DEFAULT_CONTEXT, hardware=hardware)
    if at_quant.verdict != "fits":
        return None
    context = at_quant.recommendations.context or at_quant.context
    return plan(entry, quant=quant, context=context, hardware=hardware)


def build_report(
    hardware: Hardware | None = None,
    engines: Sequence[Engine] | None = None,
    probe_engines: bool = True,
) -> DoctorReport:
    hardware = hardware or detect()
    if engines is None:
        engines = probe_engines_sync() if probe_engines else ()
    models = tuple(
        plan(model_id, context=DEFAULT_CONTEXT, hardware=hardware) for model_id in QUALITY_ORDER
    )
    return DoctorReport(hardware, tuple(engines), models, recommend(hardware))


def render_report(report: DoctorReport, console: Console) -> None:
    """Print the report for people; `DoctorReport.as_dict` is the machine-readable form."""
    console.print(_hardware_table(report.hardware))
    if report.engines:
        console.print(_engines_table(report.engines))
    console.print(_models_table(report.models))
    best = report.recommendation
    if best is None:
        console.print(
            "[bold red]No Gemma 4 model fits in the memory free right now.[/] "
            "Close other apps, or use the built-in model: [bold]gemma-chat --model embedded[/]"
        )
        return
    console.print(
        f"[bold green]Recommended:[/] [bold]{best.name}[/] ({best.quant}, "
        f"{best.context:,}-token context, {_offload_text(best)}). {best.message}."
    )
    console.print(f"Run it with: [bold]gemma-chat --model {best.model}[/]")
    for note in best.notes:
        console.print(f"[dim]{note}[/]")


def _hardware_table(hw: Hardware) -> Table:
    table = Table(title="Hardware", show_header=False, title_justify="left")
    table.add_row("System", f"{hw.system} {hw.machine}")
    table.add_row("CPU", f"{hw.cpu_physical_cores} cores ({hw.cpu_logical_cores} threads)")
    table.add_row("RAM", f"{_gb(hw.ram_available_bytes)} free of {_gb(hw.ram_total_bytes)}")
    if not hw.gpus:
        table.add_row("GPU", "none found (models run on the CPU)")
    for gpu in hw.gpus:
        memory = (
            f"unified, up to {_gb(gpu.total_bytes)} for the GPU"
            if gpu.unified
            else f"{_gb(gpu.free_bytes)} free of {_gb(gpu.total_bytes)}"
        )
        table.add_row("GPU", f"{gpu.name} ({memory})")
    for note in hw.notes:
        table.add_row("", f"[dim]{note}[/]")
    return table


def _engines_table(engines: Sequence[Engine]) -> Table:
    table = Table(title="Engines", title_justify="left")
    for column in ("engine", "status", "use with --model", "details"):
        table.add_column(column)
    for engine in engines:
        status = "[green]found[/]" if engine.available else "[dim]not found[/]"
        if engine.available and engine.version:
            status += f" {engine.version}"
        table.add_row(engine.name, status, engine.spec or "", engine.detail)
    return table


def _models_table(models: Sequence[FitPlan]) -> Table:
    table = Table(title=f"Gemma 4 at {DEFAULT_CONTEXT // 1024}K context", title_justify="left")
    for column in ("model", "quant", "needs", "verdict"):
        table.add_column(column)
    styles = {"fits": "green", "tight": "yellow", "wont_fit": "red"}
    for p in models:
        verdict = f"[{styles[p.verdict]}]{p.verdict.replace('_', ' ')}[/]"
        table.add_row(p.model, p.quant or "", _gb(p.total_bytes), verdict)
    return table


def _offload_text(p: FitPlan) -> str:
    if p.budget == "unified":
        return "on the GPU (unified memory)"
    if p.offload == "full":
        return "all layers on the GPU"
    if p.offload == "partial":
        return f"{p.n_gpu_layers} of {p.n_layers} layers on the GPU"
    return "on the CPU"


def _gb(size: int) -> str:
    return f"{size / GB:.1f} GB"
