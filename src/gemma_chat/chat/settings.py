"""Generation settings: global defaults and each conversation's own, and what a turn uses.

Three layers, each key on its own: a conversation's own value, else the global default
(`PATCH /api/settings`), else the built-in default. Every built-in default is None,
which means "the model's own" (its sampling defaults, its reply length, its full
context, no system prompt). A turn turns the result into GenerationOptions, the system
prompt and the context budget, for every engine alike.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gemma_chat.runtimes.base import GenerationOptions
from gemma_chat.store.repository import Conversation

KEYS: tuple[str, ...] = (
    "system_prompt",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "context_length",
    "thinking",
)
BUILT_IN: dict[str, Any] = dict.fromkeys(KEYS)  # None everywhere: the model's own default

MIN_CONTEXT = 512
MAX_CONTEXT = 1_048_576
MAX_SYSTEM_PROMPT_CHARS = 100_000
MAX_TOP_K = 1000


def known(values: dict[str, Any]) -> dict[str, Any]:
    """Only the settings' keys (a stored value of an older version is ignored)."""
    return {key: values[key] for key in KEYS if key in values}


def global_settings(stored: dict[str, Any]) -> dict[str, Any]:
    """Every key, with the built-in default where the global one is unset."""
    return {**BUILT_IN, **{k: v for k, v in known(stored).items() if v is not None}}


def own_settings(conversation: Conversation) -> dict[str, Any]:
    """Every key, with None where the conversation follows the global default."""
    own = {**BUILT_IN, **known(conversation.settings)}
    own["thinking"] = conversation.thinking
    return own


def effective_settings(stored_global: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    """What a turn in this conversation uses: its own values, else the global ones."""
    defaults = global_settings(stored_global)
    own = own_settings(conversation)
    return {key: own[key] if own[key] is not None else defaults[key] for key in KEYS}


def generation_options(base: GenerationOptions, settings: dict[str, Any]) -> GenerationOptions:
    """`base` with the settings that are set; unset ones leave the base's (or the model's)."""
    changes: dict[str, Any] = {}
    for key in ("temperature", "top_p", "top_k", "max_tokens", "thinking"):
        if settings.get(key) is not None:
            changes[key] = settings[key]
    return replace(base, **changes)


def budget_context(setting: int | None, runtime_context: int) -> int:
    """The context a turn budgets with: the setting, but never more than the engine has
    (a setting larger than the loaded context cannot grow it)."""
    return min(setting, runtime_context) if setting else runtime_context


def check_reply_length(settings: dict[str, Any]) -> str | None:
    """Why these (effective) settings are inconsistent, or None."""
    max_tokens, context = settings.get("max_tokens"), settings.get("context_length")
    if max_tokens is not None and context is not None and max_tokens > context:
        return (
            f"max_tokens: {max_tokens:,} is more than the context length of {context:,} "
            "tokens; a reply cannot be longer than the context."
        )
    return None
