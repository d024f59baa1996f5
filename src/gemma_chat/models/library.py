"""What the model picker shows: the catalogue, what is downloaded, what is in use.

One place joins the catalogue, the download manifest, the runtime pool and the memory
planner into the `Model` JSON of docs/api.md, so the API and the CLI never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gemma_chat.errors import RuntimeFailure
from gemma_chat.models.catalogue import CatalogueEntry
from gemma_chat.models.fit import FitPlan, plan
from gemma_chat.models.hardware import Hardware
from gemma_chat.models.installed import (
    Catalogue,
    InstalledModel,
    default_catalogue,
    list_installed,
    models_dir,
)
from gemma_chat.models.recommend import estimate_tokens_per_s, recommend, runtime_context
from gemma_chat.runtimes.pool import RuntimePool

log = logging.getLogger(__name__)


def _installed(data_dir: Path) -> list[InstalledModel]:
    try:
        return list(list_installed(data_dir))
    except (OSError, ValueError) as exc:  # an unreadable manifest must not break the picker
        log.warning("cannot read the installed-model manifest: %s", exc)
        return []


def _plan(entry: CatalogueEntry, hardware: Hardware | None) -> FitPlan | None:
    """The default quant at the context the runtime opens the model with (as doctor plans)."""
    if hardware is None or entry.architecture is None:
        return None
    try:
        return plan(entry, context=runtime_context(entry), hardware=hardware)
    except (KeyError, ValueError, OSError):
        return None


def _fit(report: FitPlan | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "verdict": report.verdict,
        "message": report.message,
        "required_bytes": report.total_bytes,
        "available_bytes": report.available_bytes,
        "context": report.context,
        "quant": report.quant,
    }


def describe_entry(
    entry: CatalogueEntry,
    installed_quants: set[str],
    hardware: Hardware | None,
) -> dict[str, Any]:
    source = entry.source()
    quants = []
    download = 0
    if source is not None:
        for quant in source.quants:
            quants.append(
                {
                    "name": quant.name,
                    "size_bytes": quant.size_bytes,
                    "installed": quant.name.upper() in installed_quants,
                }
            )
        download = source.quant().size_bytes + (source.mmproj.size_bytes if source.mmproj else 0)
    report = _plan(entry, hardware)
    speed = None
    if report is not None and hardware is not None:
        speed = round(estimate_tokens_per_s(entry, report, hardware), 1)
    return {
        "spec": entry.id,
        "name": entry.name,
        "source": "builtin" if entry.builtin else "catalogue",
        "family": entry.family,
        "installed": entry.builtin or bool(installed_quants),
        "params_b": entry.params_b,
        "active_params_b": entry.active_params_b,
        "modalities": list(entry.modalities),
        "context_length": entry.context_length,
        "thinking": entry.thinking,
        "licence": entry.licence,
        "quants": quants,
        "default_quant": source.default_quant if source else None,
        "download_bytes": download,
        "repo": source.repo if source else None,
        "mlx": list(entry.mlx),
        "description": entry.description,
        "fit": _fit(report),
        "tokens_per_s": speed,
        "error": None,
    }


def describe_spec(pool: RuntimePool, spec: str) -> dict[str, Any]:
    """A model outside the catalogue (gguf:, openai:, ollama:, mlx:, hf:, replay:)."""
    base: dict[str, Any] = {
        "spec": spec,
        "name": spec,
        "source": "installed" if spec.startswith("hf:") else "custom",
        "family": None,
        "installed": True,
        "params_b": None,
        "active_params_b": None,
        "modalities": ["text"],
        "context_length": None,
        "thinking": False,
        "licence": None,
        "quants": [],
        "default_quant": None,
        "download_bytes": 0,
        "repo": None,
        "mlx": [],
        "description": "",
        "fit": None,
        "tokens_per_s": None,
        "error": None,
    }
    try:
        runtime = pool.get(spec)
    except RuntimeFailure as exc:
        return {**base, "error": str(exc)}
    caps = runtime.capabilities
    base.update(
        name=runtime.name,
        modalities=list(caps.modalities),
        context_length=caps.context_length,
        thinking=caps.thinking,
    )
    return base


def describe_pull(record: InstalledModel, data_dir: Path | None) -> dict[str, Any]:
    """One download of a model, with where its files are."""
    root = models_dir(data_dir)
    return {
        **record.to_dict(),
        "spec": record.spec,
        "model_path": str(root / record.files[0].path),
        "mmproj_path": str(root / record.mmproj.path) if record.mmproj else None,
    }


def _describe_download(pool: RuntimePool, record: InstalledModel, data_dir: Path) -> dict[str, Any]:
    """A pulled Hugging Face repo outside the catalogue: named by its repo."""
    return {
        **describe_spec(pool, record.spec),
        "name": record.repo,
        "repo": record.repo,
        "default_quant": record.quant,
        "download_bytes": record.size_bytes,
        "pulls": [describe_pull(record, data_dir)],
    }


def list_models(
    pool: RuntimePool,
    data_dir: Path,
    active: str,
    hardware: Hardware | None,
    extra_specs: Sequence[str] = (),
    entries: Catalogue | None = None,
) -> list[dict[str, Any]]:
    """Every model worth showing: the catalogue, pulled repos, and specs in use.

    The API's picker and `gemma-chat models list` both show this list; each row also
    carries its downloads (`pulls`, with their paths on disk).
    """
    installed = _installed(data_dir)
    pulls: dict[str, list[InstalledModel]] = {}
    for item in installed:
        pulls.setdefault(item.id.lower(), []).append(item)
    models = []
    for entry in (entries or default_catalogue()).all_entries():
        mine = pulls.get(entry.id.lower(), [])
        row = describe_entry(entry, {(p.quant or "").upper() for p in mine}, hardware)
        models.append({**row, "pulls": [describe_pull(p, data_dir) for p in mine]})
    known = {m["spec"].lower() for m in models}
    for item in installed:
        if item.id.lower() not in known and item.spec.lower() not in known:
            models.append(_describe_download(pool, item, data_dir))
            known.add(item.spec.lower())
    for spec in dict.fromkeys([active, *extra_specs]):
        if spec and spec.lower() not in known:
            models.append({**describe_spec(pool, spec), "pulls": []})
            known.add(spec.lower())
    for model in models:
        model["loaded"] = pool.is_loaded(model["spec"])  # as /api/health says
        model["active"] = model["spec"] == active
    return models


def recommended(
    models: Sequence[dict[str, Any]], hardware: Hardware | None
) -> dict[str, Any] | None:
    """The model to suggest on this machine (models/recommend.py, as `gemma-chat doctor`
    says), with `installed` read from the listing so the picker can offer to download it."""
    if hardware is None:
        return None
    best = recommend(hardware)
    if best is None:
        return None
    listed = next((m for m in models if m["spec"] == best.spec), None)
    quants = listed["quants"] if listed else []
    installed = any(q["installed"] and q["name"].upper() == best.quant.upper() for q in quants)
    return {**best.as_dict(), "installed": installed}
