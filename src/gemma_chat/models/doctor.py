"""`gemma-chat doctor`: what this machine can run, which engines it has, and what to pick.

The pick is models/recommend.py's, the same one the model picker shows: the most capable
Gemma 4 model that fits at the context the runtime opens it with and decodes fast enough
to use, judged on an estimate of its speed here as well as on memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from gemma_chat.models import catalogue
from gemma_chat.models.engines import Engine, probe_engines_sync
from gemma_chat.models.fit import FitPlan, plan
from gemma_chat.models.hardware import Hardware, detect
from gemma_chat.models.installed import pull_command
from gemma_chat.models.recommend import (
    MIN_TOKENS_PER_S,
    QUALITY_ORDER,
    Recommendation,
    estimate_tokens_per_s,
    recommend,
    runtime_context,
)
from gemma_chat.util.units import format_bytes

__all__ = ["QUALITY_ORDER", "DoctorReport", "build_report", "recommend", "render_report"]


@dataclass(frozen=True, slots=True)
class ModelCheck:
    """One Gemma 4 model at its default quant and the runtime's context, with its speed."""

    plan: FitPlan
    tokens_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.plan.as_dict(), "tokens_per_s": round(self.tokens_per_s, 1)}


@dataclass(frozen=True, slots=True)
class DoctorReport:
    hardware: Hardware
    engines: tuple[Engine, ...]
    models: tuple[ModelCheck, ...]
    recommendation: Recommendation | None

    def as_dict(self) -> dict[str, Any]:
        best = self.recommendation
        return {
            "hardware": self.hardware.as_dict(),
            "engines": [engine.as_dict() for engine in self.engines],
            "models": [model.as_dict() for model in self.models],
            # The fields GET /api/models calls `recommended`, plus the memory plan behind it.
            "recommendation": {**best.as_dict(), "plan": best.plan.as_dict()} if best else None,
        }


def check_model(model_id: str, hardware: Hardware) -> ModelCheck:
    entry = catalogue.get(model_id)
    fit = plan(entry, context=runtime_context(entry), hardware=hardware)
    return ModelCheck(fit, estimate_tokens_per_s(entry, fit, hardware))


def build_report(
    hardware: Hardware | None = None,
    engines: Sequence[Engine] | None = None,
    probe_engines: bool = True,
) -> DoctorReport:
    hardware = hardware or detect()
    if engines is None:
        engines = probe_engines_sync() if probe_engines else ()
    models = tuple(check_model(model_id, hardware) for model_id in QUALITY_ORDER)
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
    label = "[bold green]Recommended:[/]" if best.fast_enough else "[bold yellow]Best here:[/]"
    console.print(
        f"{label} [bold]{best.name}[/] ({best.quant}, {best.context:,}-token context, "
        f"{format_bytes(best.size_bytes)} download), about [bold]{_speed(best.tokens_per_s)}[/] "
        "tokens/s."
    )
    console.print(f"Why: {best.why}.")
    if not best.fast_enough:
        console.print(
            f"[yellow]Expect slow answers (under {MIN_TOKENS_PER_S:g} tokens/s): a machine "
            "with a GPU or more CPU cores would help.[/]"
        )
    default = catalogue.get(best.spec).source()
    quant = None if default is not None and default.default_quant == best.quant else best.quant
    console.print(
        f"Get it with: [bold]{pull_command(best.spec, quant)}[/], then run "
        f"[bold]gemma-chat --model {best.spec}[/]"
    )
    for note in best.plan.notes:
        console.print(f"[dim]{note}[/]")


def _hardware_table(hw: Hardware) -> Table:
    table = Table(title="Hardware", show_header=False, title_justify="left")
    table.add_row("System", f"{hw.system} {hw.machine}")
    table.add_row("CPU", f"{hw.cpu_physical_cores} cores ({hw.cpu_logical_cores} threads)")
    table.add_row(
        "RAM", f"{format_bytes(hw.ram_available_bytes)} free of {format_bytes(hw.ram_total_bytes)}"
    )
    if not hw.gpus:
        table.add_row("GPU", "none found (models run on the CPU)")
    for gpu in hw.gpus:
        memory = (
            f"unified, up to {format_bytes(gpu.total_bytes)} for the GPU"
            if gpu.unified
            else f"{format_bytes(gpu.free_bytes)} free of {format_bytes(gpu.total_bytes)}"
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


def _models_table(models: Sequence[ModelCheck]) -> Table:
    contexts = {check.plan.context for check in models}
    title = "Gemma 4 at " + ", ".join(f"{c // 1024}K" for c in sorted(contexts)) + " context"
    table = Table(title=title, title_justify="left")
    for column in ("model", "quant", "needs", "verdict", "speed (est.)"):
        table.add_column(column)
    styles = {"fits": "green", "tight": "yellow", "wont_fit": "red"}
    for check in models:
        p = check.plan
        verdict = f"[{styles[p.verdict]}]{p.verdict.replace('_', ' ')}[/]"
        speed = f"~{_speed(check.tokens_per_s)} tok/s" if p.verdict != "wont_fit" else ""
        table.add_row(p.model, p.quant or "", format_bytes(p.total_bytes), verdict, speed)
    return table


def _speed(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.0f}" if tokens_per_s >= 10 else f"{tokens_per_s:.1f}"
