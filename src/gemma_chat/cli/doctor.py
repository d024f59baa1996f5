"""The `gemma-chat doctor` sub-command: hardware, engines and the model to pick, as text or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from gemma_chat.models.engines import Engine
from gemma_chat.models.hardware import Hardware


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `doctor` to the CLI's sub-parsers; the parsed args carry `handler=run`."""
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine: memory, GPUs, local engines and which model fits",
        description="Report RAM, GPUs and local model engines, and recommend the Gemma 4 "
        "model, quantisation and context length that fit this machine.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--no-engines", action="store_true", help="skip probing for Ollama, LM Studio, etc."
    )
    parser.set_defaults(handler=run)
    return parser


def run(
    args: argparse.Namespace,
    *,
    hardware: Hardware | None = None,
    engines: Sequence[Engine] | None = None,
    out: TextIO | None = None,
) -> int:
    """Build and print the report; `hardware` and `engines` are injectable for tests."""
    from rich.console import Console

    from gemma_chat.models.doctor import build_report, render_report

    out = out or sys.stdout
    report = build_report(hardware, engines, probe_engines=not args.no_engines)
    if args.json:
        json.dump(report.as_dict(), out, indent=2)
        out.write("\n")
    else:
        render_report(report, Console(file=out))
    return 0
