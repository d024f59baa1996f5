"""Keep a conversation inside the model's context window, and say so when it is trimmed.

Counting uses the model's own tokenizer where the runtime has one (llama.cpp in-process)
and a deliberately high estimate elsewhere. Over budget, the bulkiest and least useful
text goes first: the bodies of old tool results (file listings and contents the model
can read again), then the oldest turns. The system prompt and the newest user message
are never trimmed; if they alone do not fit, the turn fails with a clear message.

Trims move in blocks so that engines keep their prompt caches across rounds; the
in-process engine also shifts its cache past a cut (runtimes/kv_reuse.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from gemma_chat.errors import RuntimeFailure
from gemma_chat.runtimes.base import ChatMessage, CountsTokens, GenerationOptions, Runtime

CHARS_PER_TOKEN_ESTIMATE = 3.0  # low on purpose: an estimate must not under-count
MESSAGE_OVERHEAD_ESTIMATE = 8  # role markers and separators per message
DEFAULT_REPLY_SHARE = 4  # without max_tokens, keep a quarter of the context for the reply
MAX_REPLY_RESERVE = 8192
ELIDED = "[elided to fit the context window]"
# Past the budget the cut moves a quarter of the budget at a time: the prompt keeps 75-100%
# of the budget and its beginning changes once per quarter budget of growth, not per round.
BLOCK_SHARE = 4
MIN_BLOCK = 64
# Media cost, estimated: Gemma encodes an image as a fixed set of soft tokens (256) and
# audio at 25 tokens per second (40 ms frames); 16 kHz mono s16 WAV is 32,000 bytes/s.
IMAGE_TOKENS = 280
AUDIO_TOKENS_PER_WAV_BYTE = 25 / 32_000
_TOOL_RESULT = re.compile(r"(<tool_result\b[^>]*>)(.*?)(</tool_result>)", re.S)


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
    return runtime.defaults.max_tokens if runtime.defaults is not None else None


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


async def _count_messages(runtime: Runtime, messages: list[ChatMessage]) -> list[int]:
    counts = await _count_texts(runtime, [m.content for m in messages])
    return [c + media_tokens([m]) for c, m in zip(counts, messages, strict=True)]


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


def trim_block(budget: int) -> int:
    """How far the cut moves when a conversation outgrows its budget (see `_stages`)."""
    return max(budget // BLOCK_SHARE, MIN_BLOCK)


async def fit_to_context(
    runtime: Runtime,
    messages: list[ChatMessage],
    max_tokens: int | None,
    context_length: int | None = None,
) -> Fitted:
    """The messages to send, trimmed oldest-first when they would overflow the context.

    `context_length`: a smaller context to keep to (the context length setting); the
    runtime's own is the most there is, whatever is asked.

    Trimming moves in blocks (see `_stages`), so the prompt's beginning stays the same
    for many rounds and the engine's prompt cache keeps serving it: trimming one turn
    per round would change the prefix every round and make every reply re-read the
    whole history.
    """
    limit = runtime.capabilities.context_length
    if context_length:
        limit = min(limit, context_length)
    budget = limit - reply_reserve(limit, max_tokens)
    if _upper_bound(messages) <= budget:
        # Far from the limit: skip tokenizing the whole conversation before every reply.
        return Fitted(messages, 0, 0, limit)
    total = await _count_prompt(runtime, messages)
    if total <= budget:
        return Fitted(messages, 0, total, limit)

    head = 1 if messages and messages[0].role == "system" else 0
    last_user = max(
        (i for i, m in enumerate(messages) if m.role == "user"), default=len(messages) - 1
    )
    counts = await _count_messages(runtime, messages)
    overhead = max(total - sum(counts), 0)  # the template's own, about even per message
    elided: dict[int, ChatMessage] = {}
    for index in range(head, last_user):
        text = elide_tool_results(messages[index].content)
        if text != messages[index].content:
            elided[index] = ChatMessage(messages[index].role, text, messages[index].media)
    elided_counts = dict(
        zip(elided, await _count_messages(runtime, list(elided.values())), strict=True)
    )

    tokens = total
    for stage in _stages(messages, counts, head, last_user, sorted(elided), trim_block(budget)):
        kept = [i for i in range(len(messages)) if i < head or i >= stage.first]
        estimate = overhead * len(kept) // len(messages) + sum(
            elided_counts[i] if i in elided and i < stage.elide_before else counts[i] for i in kept
        )
        if estimate > budget and stage.first < last_user:
            continue  # clearly over: the next stage
        fitted = [
            elided[i] if i in elided and i < stage.elide_before else messages[i] for i in kept
        ]
        tokens = await _count_prompt(runtime, fitted)
        if tokens <= budget:
            return Fitted(fitted, len(messages) - len(kept) + stage.elided, tokens, limit)
    raise RuntimeFailure(
        f"The message is too long for this model: about {tokens} tokens with the "
        f"instructions, and the model's context of {limit} tokens leaves room for "
        f"{budget} before its reply. Shorten it, or pick a model with a longer context."
    )


@dataclass(frozen=True, slots=True)
class _Stage:
    first: int  # the first message kept after the system prompt
    elide_before: int  # tool results in messages before this index lose their bodies
    elided: int  # how many messages that elides


def _stages(
    messages: list[ChatMessage],
    counts: list[int],
    head: int,
    last_user: int,
    elidable: list[int],
    block: int,
) -> Iterator[_Stage]:
    """Ever deeper trims, each decided by where a message starts in the whole
    conversation (its token offset from the start), counted in blocks.

    A message's offset never changes as the conversation grows, so round after round
    the same stage gives the same prompt beginning; a deeper stage is needed only once
    the conversation has grown by about a block, and then the cut jumps a whole block.

    The order keeps engines' caches: whole old turns go first, from the front, which
    costs the in-process engine nothing (it shifts its cache). Only a turn too long on
    its own then loses the bodies of its older tool results (the model can read the
    files again), and as a last resort its oldest rounds. A change in the middle of
    the prompt makes every engine re-read all that follows it, so it comes last.
    """
    offsets = dict(zip(range(head, len(messages)), accumulate(counts[head:]), strict=True))
    start = {i: offsets[i] - counts[i] for i in offsets}

    def first_from(candidates: list[int], edge: int) -> int:
        return next((i for i in candidates if start[i] >= edge * block), last_user)

    requests = [
        i
        for i in range(head + 1, last_user + 1)
        if messages[i].role == "user" and not messages[i].content.startswith("<tool_result")
    ]
    turn = requests[-1] if requests else head  # the current turn's request
    edge = 1
    while requests and (first := first_from(requests, edge)) < turn:
        yield _Stage(first, head, 0)
        edge += 1
    yield _Stage(turn, head, 0)
    own = [i for i in elidable if i >= turn]
    edge = 1
    while own:
        before = first_from(own, edge)
        yield _Stage(turn, before, sum(1 for i in own if i < before))
        if before >= last_user:
            break
        edge += 1
    rounds = [i for i in range(turn + 1, last_user + 1) if messages[i].role == "user"]
    edge = 1
    while rounds:
        first = first_from(rounds, edge)
        yield _Stage(first, last_user, sum(1 for i in own if i >= first))
        if first >= last_user:
            return
        edge += 1
