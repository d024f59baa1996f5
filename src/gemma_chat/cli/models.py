"""`gemma-chat models list|pull|rm|info`: the model library from the terminal.

`register(subparsers)` adds the `models` command to the main parser; `run(args)` executes
it. Failures print one line and exit 1; Ctrl+C during a pull stops it cleanly and keeps
the partial file, so the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from gemma_chat.config import Settings
from gemma_chat.errors import DownloadCancelled, ModelError
from gemma_chat.models.download import pull
from gemma_chat.models.installed import (
    Catalogue,
    InstalledModel,
    default_catalogue,
    list_installed,
    models_dir,
    parse_ref,
    pull_command,
    remove,
)
from gemma_chat.models.library import describe_pull, list_models
from gemma_chat.models.ollama_pull import is_ollama_spec, pull_through_ollama
from gemma_chat.models.progress import DownloadProgress
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.util.units import format_bytes, format_duration

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `models` and its actions to the main parser's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        help="where models live (default: $GEMMA_CHAT_HOME or the OS data dir)",
    )
    models = subparsers.add_parser(
        "models", help="list, download, inspect and remove models", parents=[common]
    )
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="the catalogue and what is downloaded", parents=[common]
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    model_help = "catalogue id (gemma-4-e4b) or HF repo (owner/repo, owner/repo:Q8_0, :FILE.gguf)"
    fetch = actions.add_parser(
        "pull", help="download a model (resumes an interrupted download)", parents=[common]
    )
    fetch.add_argument("model", help=model_help)
    fetch.add_argument("--quant", help="quantisation, e.g. Q8_0 (default: the entry's default)")
    delete = actions.add_parser("rm", help="delete a downloaded model's files", parents=[common])
    delete.add_argument("model", help=model_help)
    delete.add_argument("--quant", help="only this quantisation (default: all)")
    info = actions.add_parser(
        "info", help="details, files and local paths of a model", parents=[common]
    )
    info.add_argument("model", help=model_help + ", or a local .gguf path")
    info.add_argument("--quant", help="quantisation to describe")
    info.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(handler=run)
    return models


def run(args: argparse.Namespace, *, catalogue: Catalogue | None = None) -> int:
    """Execute a parsed `models` command; the exit code."""
    err = Console(stderr=True)
    data_dir = args.data_dir.expanduser().resolve() if getattr(args, "data_dir", None) else None
    handlers = {"list": _list, "pull": _pull, "rm": _rm, "info": _info}
    try:
        return handlers[args.models_command](args, data_dir, catalogue or default_catalogue(), err)
    except (ModelError, OSError) as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        return EXIT_ERROR


# --- list ----------------------------------------------------------------------------------


def _listing(catalogue: Catalogue, data_dir: Path | None) -> list[dict[str, Any]]:
    """The same list the app's model picker shows (models/library.py)."""
    root = data_dir or Settings().data_dir
    pool = RuntimePool(lambda spec: create_runtime(spec, root))
    return list_models(pool, root, active="", hardware=None, entries=catalogue)


def _list(args: argparse.Namespace, data_dir: Path | None, catalogue: Catalogue, _: Console) -> int:
    rows = _listing(catalogue, data_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    table = Table(title="Models", title_justify="left")
    for column in ("ID", "Name", "Download", "Status"):
        table.add_column(column)
    for row in rows:
        if row["source"] == "builtin":
            status = "[green]built in[/]"
        elif row["pulls"]:
            status = "[green]" + ", ".join(
                f"{p['quant']} ({format_bytes(p['size_bytes'])})" for p in row["pulls"]
            )
        else:
            status = "[dim]not downloaded[/]"
        size = format_bytes(row["download_bytes"]) if row["download_bytes"] else "-"
        table.add_row(row["spec"], row["name"], size, status)
    Console().print(table)
    Console().print("[dim]Download one with: gemma-chat models pull ID [--quant Q][/]")
    return EXIT_OK


# --- pull ----------------------------------------------------------------------------------


def _eta(seconds: float | None) -> str:
    """As the web UI says it ("1 min"); never "0 s" while something is still to come."""
    return "--:--" if seconds is None else format_duration(max(1.0, seconds))


def _pull(
    args: argparse.Namespace, data_dir: Path | None, catalogue: Catalogue, err: Console
) -> int:
    ollama = is_ollama_spec(args.model)
    if not ollama:
        parse_ref(args.model, quant=args.quant, catalogue=catalogue)  # fail fast, before the bar
    cancel = threading.Event()
    outcome: dict[str, Any] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=False),
        TextColumn("{task.fields[speed]}"),
        TextColumn("ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(args.model, total=None, speed="", eta="--:--")

        def show(p: DownloadProgress) -> None:
            label = f"{p.phase} {p.file}".strip()
            if p.files_total > 1:
                label += f" ({min(p.files_done + 1, p.files_total)}/{p.files_total})"
            bar.update(
                task,
                description=label,
                total=p.total or None,
                completed=p.downloaded,
                speed=f"{format_bytes(p.bytes_per_s)}/s" if p.bytes_per_s else "",
                eta=_eta(p.eta_s),
            )

        finished = threading.Event()

        def work() -> None:
            try:
                if ollama:
                    pull_through_ollama(args.model, show, cancel)
                    outcome["model"] = None
                    return
                outcome["model"] = pull(
                    args.model,
                    data_dir,
                    quant=args.quant,
                    on_progress=show,
                    cancel=cancel,
                    catalogue=catalogue,
                )
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=work, name="gemma-chat-pull", daemon=True).start()
        # Wait on an Event, not Thread.join: an interrupted join can leave the thread
        # looking finished while it still runs.
        while not finished.is_set():
            try:
                finished.wait(0.1)
            except KeyboardInterrupt:
                if cancel.is_set():  # a second Ctrl+C: stop waiting for a stuck request
                    outcome["error"] = DownloadCancelled("interrupted")
                    break
                cancel.set()  # the worker stops at its next chunk and keeps the partial file
    error = outcome.get("error")
    if isinstance(error, DownloadCancelled):
        hint = (
            f"gemma-chat models pull {args.model}"
            if ollama
            else pull_command(args.model, args.quant)
        )
        err.print(f"Stopped. The partial download is kept: run `{hint}` to resume.", soft_wrap=True)
        return EXIT_INTERRUPTED
    if error is not None:
        raise error
    if ollama:
        err.print(
            f"[bold green]Pulled[/] {args.model}. Run it with: gemma-chat --model {args.model}"
        )
        return EXIT_OK
    record: InstalledModel = outcome["model"]
    root = models_dir(data_dir)
    err.print(
        f"[bold green]Pulled[/] {record.id} {record.quant} ({format_bytes(record.size_bytes)}). "
        f"Run it with: gemma-chat --model {record.spec}",
        soft_wrap=True,
        highlight=False,
    )
    print(root / record.files[0].path)
    return EXIT_OK


# --- rm ------------------------------------------------------------------------------------


def _rm(args: argparse.Namespace, data_dir: Path | None, catalogue: Catalogue, _: Console) -> int:
    removal = remove(args.model, data_dir, quant=args.quant, catalogue=catalogue)
    what = (
        ", ".join(f"{r.id} {r.quant}" for r in removal.removed)
        or f"partial downloads of {args.model}"
    )
    print(f"Removed {what}: freed {format_bytes(removal.freed_bytes)}")
    return EXIT_OK


# --- info ----------------------------------------------------------------------------------


def _info(args: argparse.Namespace, data_dir: Path | None, catalogue: Catalogue, _: Console) -> int:
    ref = parse_ref(args.model, quant=args.quant, catalogue=catalogue)
    data: dict[str, Any] = {"spec": ref.id, "kind": ref.kind, "entry": None, "pulls": []}
    if ref.kind == "path":
        assert ref.path is not None
        if not ref.path.is_file():
            raise ModelError(f"no GGUF file at {ref.path}")
        data["path"] = str(ref.path)
        data["size_bytes"] = ref.path.stat().st_size
        data["mmproj_path"] = str(ref.mmproj) if ref.mmproj else None
        data["gguf"] = _gguf(ref.path)
    else:
        pulls = [p for p in list_installed(data_dir) if p.id.lower() == ref.id.lower()]
        if ref.quant:
            pulls = [p for p in pulls if p.quant.upper() == ref.quant.upper()]
        data["repo"] = ref.repo
        data["entry"] = asdict(ref.entry) if ref.entry else None
        data["pulls"] = [describe_pull(p, data_dir) for p in pulls]
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        _print_info(data)
    return EXIT_OK


def _gguf(path: Path) -> dict[str, Any] | None:
    from gemma_chat.models.gguf_meta import read_gguf_meta

    try:
        meta = read_gguf_meta(path)
    except (ValueError, OSError) as exc:
        return {"error": str(exc)}
    keep = ("architecture", "name", "n_layers", "context_length", "quant_name", "tensor_count")
    return {key: getattr(meta, key) for key in keep}


def _print_info(data: dict[str, Any]) -> None:
    out = Console()
    table = Table(show_header=False, title=data["spec"], title_justify="left")
    entry = data.get("entry")
    if entry:
        table.add_row("Name", entry["name"])
        table.add_row("Family", entry["family"])
        table.add_row("Parameters", f"{entry['params_b']}B")
        table.add_row("Modalities", ", ".join(entry["modalities"]))
        table.add_row("Context", f"{entry['context_length']:,} tokens")
        table.add_row("Licence", entry["licence"])
        for source in entry["gguf"]:
            table.add_row("Repo", source["repo"])
            for quant in source["quants"]:
                table.add_row(
                    f"  {quant['name']}", f"{quant['file']} ({format_bytes(quant['size_bytes'])})"
                )
            if source["mmproj"]:
                mm = source["mmproj"]
                table.add_row("  projector", f"{mm['file']} ({format_bytes(mm['size_bytes'])})")
        if entry["builtin"]:
            table.add_row("Status", "built in, no download needed")
    elif data.get("repo"):
        table.add_row("Repo", data["repo"])
    if "path" in data:
        table.add_row("Path", data["path"])
        table.add_row("Size", format_bytes(data["size_bytes"]))
        for key, value in (data.get("gguf") or {}).items():
            table.add_row(key.replace("_", " ").capitalize(), str(value))
    for pull_ in data["pulls"]:
        table.add_row(f"Installed {pull_['quant']}", pull_["model_path"])
        if pull_["mmproj_path"]:
            table.add_row("  projector", pull_["mmproj_path"])
        table.add_row("  size", format_bytes(pull_["size_bytes"]))
        table.add_row("  pulled", pull_["pulled_at"])
    if data["kind"] != "path" and not data["pulls"] and not (entry and entry["builtin"]):
        table.add_row("Status", f"not downloaded: gemma-chat models pull {data['spec']}")
    out.print(table)
