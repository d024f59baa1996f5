"""Keep a conversation inside the model's context window, and say so when it is trimmed.

Counting uses the model's own tokenizer where the runtime has one (llama.cpp in-process)
and a deliberately high estimate elsewhere. Over budget, the bulkiest and least useful
text goes first: the bodies of old tool results (file listings and contents the model
can read again), then the oldest turns. The system prompt and the newest user message
are never trimmed; if they alone do not fit, the turn fails with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gemma_chat.runtimes.base import ChatMessage, GenerationOptions, Runtime, RuntimeFailure

CHARS_PER_TOKEN_ESTIMATE = 3.0  # low on purpose: an estimate must not under-count
MESSAGE_OVERHEAD_ESTIMATE = 8  # role markers and separators per message
DEFAULT_REPLY_SHARE = 4  # without max_tokens, keep a quarter of the context for the reply
MAX_REPLY_RESERVE = 8192
ELIDED = "[elided to fit the context window]"
# Media cost, estimated: Gemma encodes an image as a fixed set of soft tokens (256) and
# audio at 25 tokens per second (40 ms frames); 16 kHz mono s16 WAV is 32,000 bytes/s.
IMAGE_TOKENS = 280
AUDIO_TOKENS_PER_WAV_BYTE = 25 / 32_000
_TOOL_RESULT = re.compile(r"(<tool_result\b[^>]*>)(.*?)(</tool_result>)", re.S)


@runtime_checkable
class CountsTokens(Protocol):
    """Runtimes with a tokenizer of their own implement this."""

    async def count_tokens(self, texts: list[str]) -> list[int]: ...

    async def count_prompt_tokens(self, messages: list[ChatMessage]) -> int: ...


@dataclass(frozen=True, slots=True)
class Fitted:
    messages: list[ChatMessage]
    trimmed: int  # messages elided or dropped
    tokens: int  # prompt tokens after trimming (0 when clearly within budget: not counted)
    limit: int  # the model's context length

    def event(self) -> dict[str, int]:
        return {"trimmed": self.trimmed, "tokens": self.tokens, "limit": self.limit}


def reply_tokens(runtime: Runtime, options: GenerationOptions) -> int | None:
    """The reply's token limit: the request's, else the runtime's default, else none."""
    if options.max_tokens:
        return options.max_tokens
    defaults = getattr(runtime, "defaults", None)
    return getattr(defaults, "max_tokens", None)


def reply_reserve(context_length: int, max_tokens: int | None) -> int:
    if max_tokens:
        return min(max_tokens, context_length // 2)
    return min(context_length // DEFAULT_REPLY_SHARE, MAX_REPLY_RESERVE)


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN_ESTIMATE) + 1


def media_tokens(messages: list[ChatMessage]) -> int:
    total = 0
    for message in messages:
        for part in message.media:
            if part.kind == "image":
                total += IMAGE_TOKENS
            else:
                total += int(len(part.data) * AUDIO_TOKENS_PER_WAV_BYTE) + 8
    return total


async def _count_texts(runtime: Runtime, texts: list[str]) -> list[int]:
    if isinstance(runtime, CountsTokens):
        return await runtime.count_tokens(texts)
    return [estimate_tokens(t) for t in texts]


async def _count_prompt(runtime: Runtime, messages: list[ChatMessage]) -> int:
    if isinstance(runtime, CountsTokens):
        return await runtime.count_prompt_tokens(messages) + media_tokens(messages)
    return media_tokens(messages) + sum(
        estimate_tokens(m.content) + MESSAGE_OVERHEAD_ESTIMATE for m in messages
    )


def _upper_bound(messages: list[ChatMessage]) -> int:
    """More tokens than any tokenizer makes of these messages: one per UTF-8 byte, plus
    generous template overhead (BPE tokens are never shorter than a byte)."""
    text = sum(len(m.content.encode("utf-8")) + 2 * MESSAGE_OVERHEAD_ESTIMATE for m in messages)
    return text + media_tokens(messages)


def elide_tool_results(text: str) -> str:
    return _TOOL_RESULT.sub(lambda m: f"{m.group(1)}\n{ELIDED}\n{m.group(3)}", text)


async def fit_to_context(
    runtime: Runtime, messages: list[ChatMessage], max_tokens: int | None
) -> Fitted:
    """The messages to send, trimmed oldest-first when they would overflow the context."""
    limit = runtime.capabilities.context_length
    budget = limit - reply_reserve(limit, max_tokens)
    if _upper_bound(messages) <= budget:
        # Far from the limit: skip tokenizing the whole conversation before every reply.
        return Fitted(messages, 0, 0, limit)
    total = await _count_prompt(runtime, messages)
    if total <= budget:
        return Fitted(messages, 0, total, limit)

    messages = list(messages)
    head = 1 if messages and messages[0].role == "system" else 0
    last_user = max(
        (i for i, m in enumerate(messages) if m.role == "user"), default=len(messages) - 1
    )
    counts = await _count_texts(runtime, [m.content for m in messages])
    counts = [c + media_tokens([m]) for c, m in zip(counts, messages, strict=True)]
    overhead = total - sum(counts)  # the template's own tokens, spread over the messages
    trimmed = 0

    def over() -> bool:
        return sum(counts) + overhead > budget

    # 1. Old tool results lose their bodies, oldest first.
    for index in range(head, last_user):
        if not over():
            break
        elided = elide_tool_results(messages[index].content)
        if elided != messages[index].content:
            messages[index] = ChatMessage(messages[index].role, elided)
            (counts[index],) = await _count_texts(runtime, [elided])
            counts[index] += media_tokens([messages[index]])
            trimmed += 1

    # 2. The oldest turns go, keeping a user message first after the system prompt.
    while over() and head < last_user:
        del messages[head], counts[head]
        last_user -= 1
        trimmed += 1
        while head < last_user and messages[head].role != "user":
            del messages[head], counts[head]
            last_user -= 1
            trimmed += 1

    # The per-message counts leave out how the template joins messages; the exact
    # count decides, and any remaining excess costs one more turn at a time.
    tokens = await _count_prompt(runtime, messages)
    while tokens > budget and head < last_user:
        del messages[head]
        last_user -= 1
        trimmed += 1
        while head < last_user and messages[head].role != "user":
            del messages[head]
            last_user -= 1
            trimmed += 1
        tokens = await _count_prompt(runtime, messages)
    if tokens > budget:
        raise RuntimeFailure(
            f"The message is too long for this model: about {tokens} tokens with the "
            f"instructions, and the model's context of {limit} tokens leaves room for "
            f"{budget} before its reply. Shorten it, or pick a model with a longer context."
        )
    return Fitted(messages, trimmed, tokens, limit)
