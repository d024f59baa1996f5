"""The Build-mode agent loop: model rounds, streamed actions, tools, continuation.

One user message becomes up to `max_rounds` model rounds. Each round streams through the
action parser; prose goes to the chat, file content to the Code tab and the live preview
as it is typed, and each completed action runs at once, in order. The tool results go
back to the model as the next round's user message. History only ever grows, and nothing
in it changes between rounds, so the engine reuses its prompt cache round after round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from gemma_chat.agent.grammar import (
    action_grammar,
    continuation_grammar,
    guided_page_grammar,
    summary_grammar,
)
from gemma_chat.agent.prompts import (
    BUILD_SYSTEM_PROMPT,
    continuation_message,
    tool_results_message,
)
from gemma_chat.agent.protocol import (
    ActionEnd,
    ActionParam,
    ActionParamEnd,
    ActionStart,
    ActionStreamParser,
    TextEvent,
)
from gemma_chat.agent.tools import ToolResult, run_tool
from gemma_chat.runtimes.base import (
    CancelToken,
    ChatMessage,
    Finish,
    GenerationOptions,
    Runtime,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from gemma_chat.workspace import Workspace

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
# Trims a round's messages to the model's context window (and tells the user it did).
FitContext = Callable[[list[ChatMessage]], Awaitable[list[ChatMessage]]]
# "actions": any well-formed actions (capable models); "guided": one complete page and
# then a summary, for models too small to plan (the embedded one).
GrammarMode = Literal["actions", "guided"]
DEFAULT_MAX_ROUNDS = 40
MAX_CONTINUATIONS = 4  # per file: a file longer than this many max_tokens rounds is cut
FIRST_ACTION_ID = "a1"  # the parser's id for a round's first action (a resumed file)


class LiveFiles(Protocol):
    """Where streamed file content goes besides the UI (the live preview server)."""

    def file_started(self, conversation_id: str, path: str) -> None: ...
    def file_delta(self, conversation_id: str, path: str, text: str) -> None: ...
    def file_done(self, conversation_id: str, path: str) -> None: ...
    def reload(self, conversation_id: str) -> None: ...
    def end_turn(self, conversation_id: str) -> None: ...


@dataclass
class BuildOutcome:
    """What a turn leaves behind besides the streamed text (which the caller collects)."""

    usage: Usage = field(default_factory=Usage)
    reason: str = "stop"
    transcript: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Cut:
    """A write_file that max_tokens cut off: the next round continues it."""

    path: str
    content: str
    attempts: int


class BuildAgent:
    def __init__(
        self,
        runtime: Runtime,
        workspace: Workspace,
        conversation_id: str,
        *,
        options: GenerationOptions | None = None,
        grammar: GrammarMode | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        live: LiveFiles | None = None,
        fit: FitContext | None = None,
    ) -> None:
        self.runtime = runtime
        self.fit = fit
        self.workspace = workspace
        self.conversation_id = conversation_id
        self.options = options or GenerationOptions()
        self.grammar = grammar if runtime.capabilities.grammar else None
        self.max_rounds = max_rounds
        self.live = live
        self._decoded, self._decode_s = 0, 0.0  # decode totals of the running turn

    async def run(
        self, history: list[ChatMessage], cancel: CancelToken, publish: Publish
    ) -> BuildOutcome:
        outcome = BuildOutcome()
        messages = [ChatMessage("system", BUILD_SYSTEM_PROMPT), *history]
        cut: _Cut | None = None
        self._decoded, self._decode_s = 0, 0.0
        for round_index in range(self.max_rounds):
            if self.fit is not None:  # each round adds to the prompt; keep it in the window
                messages = await self.fit(messages)
            raw, finish, results, cut = await self._round(
                messages, round_index, cut, cancel, publish, outcome
            )
            self._add_usage(outcome.usage, finish.usage, first=round_index == 0)
            await publish("stats", outcome.usage.as_dict())
            turn = [{"role": "assistant", "content": raw}]
            if finish.reason == "cancelled":
                outcome.reason = "cancelled"
                outcome.transcript += turn
                return outcome
            if cut is not None:
                turn.append({"role": "user", "content": continuation_message(cut.path)})
            elif results:
                turn.append({"role": "user", "content": tool_results_message(results)})
            outcome.transcript += turn
            messages += [ChatMessage(m["role"], m["content"]) for m in turn]  # type: ignore[arg-type]
            if cut is None and not results:
                outcome.reason = "length" if finish.reason == "length" else "stop"
                return outcome
        outcome.reason = "max_rounds"
        return outcome

    async def _round(
        self,
        messages: list[ChatMessage],
        round_index: int,
        cut: _Cut | None,
        cancel: CancelToken,
        publish: Publish,
        outcome: BuildOutcome,
    ) -> tuple[str, Finish, list[tuple[str, ToolResult]], _Cut | None]:
        parser = ActionStreamParser()
        paths: dict[str, str] = {}  # action id -> path, once known
        streamed: dict[str, list[str]] = {}  # action id -> raw write_file content pieces
        if cut is not None:
            # Resume inside the cut-off file: the parser sees the file's start again (its
            # events are dropped), so the model's continuation extends the same value.
            parser.feed(f'<action name="write_file">\n<path>{cut.path}</path>\n<content>\n')
            parser.feed(cut.content)
        options = self._options(round_index, cut)
        results: list[tuple[str, ToolResult]] = []
        raw: list[str] = []
        finish = Finish("stop", Usage())
        continuing = cut

        async def handle(events: list) -> None:
            for event in events:
                if (
                    isinstance(event, ActionParam)
                    and event.action == "write_file"
                    and event.name == "content"
                ):
                    streamed.setdefault(event.id, []).append(event.text)
                await self._on_event(event, paths, continuing, publish, outcome, results)

        async for delta in self.runtime.stream(messages, options, cancel):
            if isinstance(delta, TextDelta):
                raw.append(delta.text)
                await handle(parser.feed(delta.text))
            elif isinstance(delta, ThinkingDelta):
                await publish("thinking", {"text": delta.text})
            elif isinstance(delta, Usage):
                await publish("stats", delta.as_dict())
            elif isinstance(delta, Finish):
                finish = delta
        if finish.reason == "cancelled":
            return "".join(raw), finish, results, None
        tail = parser.finish()
        next_cut = None
        if finish.reason == "length":
            next_cut = self._cut_from(tail, paths, streamed, cut)
            if next_cut is not None:
                tail = [e for e in tail if not isinstance(e, ActionEnd)]
        await handle(tail)
        return "".join(raw), finish, results, next_cut

    def _options(self, round_index: int, cut: _Cut | None) -> GenerationOptions:
        if self.grammar is None:
            return self.options
        if cut is not None:
            grammar = continuation_grammar()
        elif self.grammar == "guided":
            grammar = guided_page_grammar() if round_index == 0 else summary_grammar()
        else:
            grammar = action_grammar(require_action=round_index == 0)
        return dataclasses.replace(self.options, grammar=grammar)

    def _cut_from(
        self,
        tail: list,
        paths: dict[str, str],
        streamed: dict[str, list[str]],
        previous: _Cut | None,
    ) -> _Cut | None:
        """The write_file that max_tokens left open, with its content exactly as typed."""
        for event in tail:
            if isinstance(event, ActionEnd) and not event.complete and event.name == "write_file":
                path = event.params.get("path") or paths.get(event.id)
                if previous is not None and event.id == FIRST_ACTION_ID:
                    path = path or previous.path
                    before = previous.content
                else:
                    before = ""
                attempts = previous.attempts + 1 if previous else 1
                if path and event.id in streamed and attempts <= MAX_CONTINUATIONS:
                    return _Cut(path.strip(), before + "".join(streamed[event.id]), attempts)
        return None

    async def _on_event(
        self,
        event: object,
        paths: dict[str, str],
        continuing: _Cut | None,
        publish: Publish,
        outcome: BuildOutcome,
        results: list[tuple[str, ToolResult]],
    ) -> None:
        if isinstance(event, TextEvent):
            await publish("text", {"text": event.text})
        elif isinstance(event, ActionStart):
            await publish("action.start", {"id": event.id, "name": event.name})
        elif isinstance(event, ActionParam):
            await publish("action.param", {"id": event.id, "name": event.name, "text": event.text})
            if event.action == "write_file" and event.name == "content":
                path = paths.get(event.id) or (continuing.path if continuing else None)
                if path:
                    await self._file_delta(path, event.text, publish)
        elif isinstance(event, ActionParamEnd):
            if event.name == "path":
                paths[event.id] = event.value.strip()
                if event.action == "write_file":
                    await publish("file.start", {"path": paths[event.id]})
                    if self.live:
                        self.live.file_started(self.conversation_id, paths[event.id])
        elif isinstance(event, ActionEnd):
            params = dict(event.params)
            if continuing is not None and event.name == "write_file":
                params.setdefault("path", continuing.path)
            if event.complete:
                result = run_tool(self.workspace, event.name, params)
            else:
                why = event.error or "no closing tag"
                result = ToolResult(
                    False, f"The {event.name} action was not finished ({why}); it was not run."
                )
            results.append((event.name, result))
            path = params.get("path", "").strip() or None
            summary = {
                "id": event.id,
                "name": event.name,
                "ok": result.ok,
                "result": result.result if not result.ok or event.name != "read_file" else "",
                "path": path,
            }
            outcome.actions.append(summary)
            if self.live:
                self._refresh_live(event.name, path, result)
            await publish("action.end", {**summary, "changed": list(result.changed)})
            if result.preview:
                await publish("preview", {"path": result.preview})

    def _refresh_live(self, name: str, path: str | None, result: ToolResult) -> None:
        """Tell the preview what is on disk now (a failed write puts the old file back)."""
        assert self.live is not None
        if name in ("delete_file", "rename_file") and result.ok:
            self.live.reload(self.conversation_id)
        elif name == "write_file" and path:
            self.live.file_done(self.conversation_id, path)
        elif result.ok:
            for changed in result.changed:
                self.live.file_done(self.conversation_id, changed)

    async def _file_delta(self, path: str, text: str, publish: Publish) -> None:
        await publish("file.delta", {"path": path, "text": text})
        if self.live:
            self.live.file_delta(self.conversation_id, path, text)

    def _add_usage(self, total: Usage, round_usage: Usage, first: bool) -> None:
        """Turn totals over all rounds; tokens/s is the decode rate, not counting tool time."""
        if first:
            total.ttft_ms = round_usage.ttft_ms
        total.prompt_tokens = round_usage.prompt_tokens
        total.cached_tokens = round_usage.cached_tokens
        total.completion_tokens += round_usage.completion_tokens
        if round_usage.tokens_per_s and round_usage.completion_tokens > 1:
            self._decoded += round_usage.completion_tokens - 1
            self._decode_s += (round_usage.completion_tokens - 1) / round_usage.tokens_per_s
        if self._decode_s > 0:
            total.tokens_per_s = self._decoded / self._decode_s
