"""Model specs (docs/design.md, "Model specs") to runtime instances.

One table maps a spec's prefix to the factory that builds its runtime; a bare catalogue
id and `embedded` are the two specs without a prefix. Adding an engine is one factory
and one row, not another branch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from gemma_chat.config import default_data_dir
from gemma_chat.errors import UnknownModelSpec
from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import DOWNLOADED_CONTEXT
from gemma_chat.models.embedded import EMBEDDED_NAME, EMBEDDED_SPEC, embedded_model_path
from gemma_chat.models.installed import resolve
from gemma_chat.runtimes.base import GenerationOptions, Runtime
from gemma_chat.runtimes.llama import LlamaCppRuntime
from gemma_chat.runtimes.mlx import MlxRuntime
from gemma_chat.runtimes.ollama import OllamaRuntime
from gemma_chat.runtimes.openai_compat import OpenAICompatRuntime
from gemma_chat.runtimes.replay import ReplayRuntime

# SmolLM2's model card recommends a low temperature; a mild repeat penalty keeps a
# 135M model from looping.
EMBEDDED_DEFAULTS = GenerationOptions(temperature=0.2, top_p=0.9, top_k=40, max_tokens=1024)
EMBEDDED_REPEAT_PENALTY = 1.1

Factory = Callable[[str, Path], Runtime]
"""(spec, data dir) → a runtime, not loaded yet; raises RuntimeFailure with the reason."""


def _embedded(spec: str, data_dir: Path) -> Runtime:
    return LlamaCppRuntime(
        spec,
        embedded_model_path(),
        name=EMBEDDED_NAME,
        defaults=EMBEDDED_DEFAULTS,
        repeat_penalty=EMBEDDED_REPEAT_PENALTY,
        build_grammar="guided",  # a 135M model builds from starter kits (agent/kit_flow.py)
    )


def _gguf(spec: str, data_dir: Path) -> Runtime:
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


def _replay(spec: str, data_dir: Path) -> Runtime:
    if not spec.removeprefix("replay:").partition("?")[0]:
        raise UnknownModelSpec("replay: needs a path, e.g. replay:/tmp/script.txt")
    return ReplayRuntime(spec)


def _openai(spec: str, data_dir: Path) -> Runtime:
    return OpenAICompatRuntime(spec)  # raises UnknownModelSpec when the URL is missing


def _ollama(spec: str, data_dir: Path) -> Runtime:
    return OllamaRuntime(spec)


def _mlx(spec: str, data_dir: Path) -> Runtime:
    repo = spec.removeprefix("mlx:").partition("?")[0]
    entry = next((e for e in catalogue.all_entries() if repo in e.mlx), None)
    return MlxRuntime(
        spec,
        data_dir,
        modalities=entry.modalities if entry else None,
        context_length=min(entry.context_length, DOWNLOADED_CONTEXT) if entry else None,
    )


def _downloaded(spec: str, data_dir: Path) -> Runtime:
    """A catalogue model or pulled HF repo, run in-process from its downloaded GGUF."""
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


PREFIXES: dict[str, Factory] = {
    "gguf:": _gguf,
    "hf:": _downloaded,
    "openai:": _openai,
    "ollama:": _ollama,
    "mlx:": _mlx,
    "replay:": _replay,
}
"""Spec prefix → factory. Specs without one: `embedded` and the catalogue's ids."""


def factory_for(spec: str) -> Factory:
    """The factory that builds `spec`'s runtime; UnknownModelSpec when none does."""
    if spec == EMBEDDED_SPEC:
        return _embedded
    prefix, colon, _ = spec.partition(":")
    if colon and (factory := PREFIXES.get(prefix + ":")):
        return factory
    if catalogue.find(spec) is not None:
        return _downloaded
    raise UnknownModelSpec(
        f"Unknown model spec {spec!r}. Use 'embedded', a catalogue id such as "
        "'gemma-4-e4b' (see `gemma-chat models list`), 'gguf:PATH', 'hf:OWNER/REPO[:QUANT]', "
        "'openai:URL[#MODEL]', 'ollama:NAME', 'mlx:REPO' or 'replay:PATH'."
    )


def create_runtime(spec: str, data_dir: Path | None = None) -> Runtime:
    """The runtime a spec names (not loaded yet); raises RuntimeFailure with the reason.

    `data_dir` is where downloaded models and managed engines live (default: the app's).
    """
    spec = spec.strip()
    return factory_for(spec)(spec, data_dir or default_data_dir())
