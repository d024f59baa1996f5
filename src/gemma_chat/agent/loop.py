"""The Build-mode agent loop: model rounds, streamed actions, tools, continuation.

One user message becomes up to `max_rounds` model rounds. Each round streams through the
action parser; prose goes to the chat, file content to the Code tab and the live preview
as it is typed, and each completed action runs at once, in order. The tool results go
back to the model as the next round's user message. History only ever grows, and nothing
in it changes between rounds, so the engine reuses its prompt cache round after round.

Workspace work (tools, listing, syncing) runs in one worker thread per turn, one job at a time
in the order the actions came, so the server's event loop keeps answering while a reply writes
thousands of files. A round's events are applied (published, tool results awaited) by a task of
their own, in order, while the stream is read on: a tool starts as soon as its action is
parsed, not when the events before it have gone out. The turn is one write batch
(Workspace.begin_batch): its files are fsynced together when it ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from gemma_chat.agent.grammar import action_grammar, continuation_grammar
from gemma_chat.agent.kit_flow import KitFlow, KitTurn
from gemma_chat.agent.prompts import (
    action_block,
    build_system_prompt,
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
from gemma_chat.agent.protocol import (
    Event as ParserEvent,
)
from gemma_chat.agent.tools import ToolResult, run_tool
from gemma_chat.events import TurnEvent
from gemma_chat.kits.library import default_library
from gemma_chat.kits.manifest import BLANK
from gemma_chat.kits.match import rank
from gemma_chat.runtimes.base import (
    BuildGrammar,
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

Publish = Callable[[TurnEvent, dict[str, Any]], Awaitable[None]]
# Trims a round's messages to the model's context window (and tells the user it did).
FitContext = Callable[[list[ChatMessage]], Awaitable[list[ChatMessage]]]
# Records a version mid-turn ("Started from: Stopwatch") and tells the UI.
RecordVersion = Callable[[str], Awaitable[None]]
# "actions": any well-formed actions (capable models); "guided": start from a starter kit
# and fill its slots (agent/kit_flow.py), for models too small to plan (the embedded one).
GrammarMode = BuildGrammar
DEFAULT_MAX_ROUNDS = 40
MAX_CONTINUATIONS = 4  # per file: a file longer than this many max_tokens rounds is cut
FIRST_ACTION_ID = "a1"  # the parser's id for a round's first action (a resumed file)
AHEAD = 2000  # events the stream may run ahead of the ones applied (then it waits)


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


class _Pipeline:
    """A round's events, applied in order by a task of their own. A failed step stops the
    rest and is raised by `settle`/`close`, so the producer never blocks on a dead queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Callable[[], Awaitable[object]] | None] = asyncio.Queue(AHEAD)
        self.error: Exception | None = None
        self.task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            step = await self.queue.get()
            try:
                if step is None:
                    return
                if self.error is None:
                    await step()
            except Exception as exc:  # noqa: BLE001 - kept and raised by put/settle/close
                self.error = exc
            finally:
                self.queue.task_done()

    async def put(self, step: Callable[[], Awaitable[object]]) -> None:
        self._raise()
        await self.queue.put(step)

    async def settle(self) -> None:
        """Wait until every step so far has been applied."""
        await self.queue.join()
        self._raise()

    async def close(self) -> None:
        if not self.task.done():
            await self.queue.put(None)
            await self.task
        self._raise()

    def cancel(self) -> None:
        self.task.cancel()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


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
        kit: str | None = None,
        record_version: RecordVersion | None = None,
    ) -> None:
        self.runtime = runtime
        self.kit = kit  # a starter kit the user chose for this turn ("blank": none)
        self.record_version = record_version
        self._request = ""  # the user's message this turn answers
        self._app_actions = 0
        self.fit = fit
        self.workspace = workspace
        self.conversation_id = conversation_id
        self.options = options or GenerationOptions()
        self.grammar = grammar if runtime.capabilities.grammar else None
        self.max_rounds = max_rounds
        self.live = live
        self._decoded, self._decode_s = 0, 0.0  # decode totals of the running turn
        self._worker: ThreadPoolExecutor | None = None  # the turn's workspace thread

    async def run(
        self,
        history: list[ChatMessage],
        cancel: CancelToken,
        publish: Publish,
        request: str | None = None,
    ) -> BuildOutcome:
        """`request`: the user's own words this turn (the last user message of `history`
        may also carry the previous turn's tool results, merged into it)."""
        outcome = BuildOutcome()
        if request is None:
            request = next((m.content for m in reversed(history) if m.role == "user"), "")
        self._request = request
        self._decoded, self._decode_s = 0, 0.0
        self.workspace.begin_batch()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="build-workspace")
        try:
            return await self._run(history, cancel, publish, outcome)
        finally:
            # After every action (same thread); durable before the caller records the version.
            try:
                await asyncio.shield(self._in_worker(self.workspace.end_batch))
            finally:
                self._worker.shutdown(wait=False)

    def _in_worker(self, fn: Callable[..., object], *args: object) -> asyncio.Future[Any]:
        """Workspace work off the event loop, in the order it was asked for."""
        return asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def _run(
        self,
        history: list[ChatMessage],
        cancel: CancelToken,
        publish: Publish,
        outcome: BuildOutcome,
    ) -> BuildOutcome:
        if self.grammar == "guided":
            return await self._guided(cancel, publish, outcome)
        messages = [ChatMessage("system", build_system_prompt()), *history]
        if self.kit and not await self._in_worker(self.workspace.list):
            # The user picked the kit: start from it before the model's first round.
            results: list[tuple[str, ToolResult]] = []
            await self._app_action("start_from", {"kit": self.kit}, publish, outcome, results)
            turn = [
                {"role": "assistant", "content": action_block("start_from", {"kit": self.kit})},
                {"role": "user", "content": tool_results_message(results)},
            ]
            outcome.transcript += turn
            messages += [ChatMessage(m["role"], m["content"]) for m in turn]  # type: ignore[arg-type]
        cut: _Cut | None = None
        for round_index in range(self.max_rounds):
            if self.fit is not None:  # each round adds to the prompt; keep it in the window
                messages = await self.fit(messages)
            raw, finish, results, cut = await self._round(
                messages, round_index, cut, cancel, publish, outcome
            )
            self._add_usage(outcome.usage, finish.usage, first=round_index == 0)
            await publish(TurnEvent.STATS, outcome.usage.as_dict())
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
        if cut is not None:  # the last round ended inside a file: its chip must not spin on
            why = f"The write_file for {cut.path} was cut off by the round limit; it was not run."
            summary = {"id": FIRST_ACTION_ID, "name": "write_file", "ok": False, "result": why}
            summary |= {"path": cut.path, "label": None}
            outcome.actions.append(summary)
            await publish(TurnEvent.ACTION_END, {**summary, "changed": []})
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
        pipe = _Pipeline()

        async def handle(events: list[ParserEvent]) -> None:
            for event in events:
                if (
                    isinstance(event, ActionParam)
                    and event.action == "write_file"
                    and event.name == "content"
                ):
                    streamed.setdefault(event.id, []).append(event.text)
                tool = None
                if isinstance(event, ActionEnd) and event.complete:
                    # Starts now in the worker; its events are published in their turn.
                    tool = self._tool(event.name, self._params(event, continuing))
                await pipe.put(
                    partial(
                        self._on_event, event, paths, continuing, publish, outcome, results, tool
                    )
                )
                if isinstance(event, ActionEnd) and event.name == "start_from":
                    await pipe.settle()  # its version holds the kit alone, nothing after it

        try:
            async for delta in self.runtime.stream(messages, options, cancel):
                if isinstance(delta, TextDelta):
                    raw.append(delta.text)
                    await handle(parser.feed(delta.text))
                elif isinstance(delta, ThinkingDelta):
                    await pipe.put(partial(publish, TurnEvent.THINKING, {"text": delta.text}))
                elif isinstance(delta, Usage):
                    await pipe.put(partial(publish, TurnEvent.STATS, delta.as_dict()))
                elif isinstance(delta, Finish):
                    finish = delta
            if finish.reason == "cancelled":
                await pipe.close()
                return "".join(raw), finish, results, None
            tail = parser.finish()
            next_cut = None
            if finish.reason == "length":
                await pipe.settle()  # every path the stream named is known
                next_cut = self._cut_from(tail, paths, streamed, cut)
                if next_cut is not None:
                    tail = [e for e in tail if not isinstance(e, ActionEnd)]
            await handle(tail)
            await pipe.close()
        except Exception:
            with suppress(Exception):  # the runtime failed: what came before it still applies
                await pipe.close()
            raise
        finally:
            pipe.cancel()  # a no-op once closed; stops it when the turn itself is cancelled
        return "".join(raw), finish, results, next_cut

    def _tool(self, name: str, params: dict[str, str]) -> asyncio.Future[ToolResult]:
        return self._in_worker(run_tool, self.workspace, name, params)

    @staticmethod
    def _params(event: ActionEnd, continuing: _Cut | None) -> dict[str, str]:
        params = dict(event.params)
        if continuing is not None and event.name == "write_file":
            params.setdefault("path", continuing.path)
        return params

    def _options(self, round_index: int, cut: _Cut | None) -> GenerationOptions:
        if self.grammar is None:
            return self.options
        if cut is not None:
            grammar = continuation_grammar()
        else:
            grammar = action_grammar(require_action=round_index == 0)
        return dataclasses.replace(self.options, grammar=grammar)

    # -- tiny models: a starter kit and its slots (agent/kit_flow.py) ------------------------

    async def _guided(
        self, cancel: CancelToken, publish: Publish, outcome: BuildOutcome
    ) -> BuildOutcome:
        said: list[str] = []
        results: list[tuple[str, ToolResult]] = []
        calls: list[tuple[str, dict[str, str]]] = []

        async def say(text: str) -> None:
            said.append(text)
            await publish(TurnEvent.TEXT, {"text": text})

        async def run_action(name: str, params: dict[str, str]) -> ToolResult:
            calls.append((name, params))
            return await self._app_action(name, params, publish, outcome, results)

        async def generate(messages: list[ChatMessage], grammar: str, max_tokens: int) -> str:
            if cancel.cancelled:
                return ""
            options = dataclasses.replace(
                self.options, grammar=grammar, max_tokens=max_tokens, temperature=0.2
            )
            text: list[str] = []
            finish = Finish("stop", Usage())
            async for delta in self.runtime.stream(messages, options, cancel):
                if isinstance(delta, TextDelta):
                    text.append(delta.text)
                elif isinstance(delta, Finish):
                    finish = delta
            self._add_usage(outcome.usage, finish.usage, first=outcome.usage.ttft_ms is None)
            await publish(TurnEvent.STATS, outcome.usage.as_dict())
            return "".join(text).split("\n", 1)[0]

        flow = KitFlow(self.workspace, run_action, generate, say)
        if await self._in_worker(self.workspace.list):
            done = await flow.later_turn(self._request)
        else:
            done = await flow.first_turn(self._request, self.kit)
        if cancel.cancelled:
            outcome.reason = "cancelled"
        else:
            await say(_closing(done))
        body = "".join(said) + "".join(action_block(n, p) for n, p in calls)
        outcome.transcript = [{"role": "assistant", "content": body}]
        if results:
            outcome.transcript.append({"role": "user", "content": tool_results_message(results)})
        return outcome

    async def _app_action(
        self,
        name: str,
        params: dict[str, str],
        publish: Publish,
        outcome: BuildOutcome,
        results: list[tuple[str, ToolResult]],
    ) -> ToolResult:
        """Run an action the app chose, with the same events as a model-written one."""
        self._app_actions += 1
        action_id = f"app{self._app_actions}"
        events: list[object] = [ActionStart(action_id, name)]
        for key, value in params.items():
            events += [
                ActionParam(action_id, name, key, value),
                ActionParamEnd(action_id, name, key, value),
            ]
        events.append(ActionEnd(action_id, name, dict(params)))
        for event in events:
            await self._on_event(event, {}, None, publish, outcome, results)
        return results[-1][1]

    def _cut_from(
        self,
        tail: list[ParserEvent],
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
        tool: Awaitable[ToolResult] | None = None,
    ) -> None:
        """Publish one event; for a finished action, run it (or await `tool`, the run that
        already started) and report its result."""
        if isinstance(event, TextEvent):
            await publish(TurnEvent.TEXT, {"text": event.text})
        elif isinstance(event, ActionStart):
            await publish(TurnEvent.ACTION_START, {"id": event.id, "name": event.name})
        elif isinstance(event, ActionParam):
            await publish(
                TurnEvent.ACTION_PARAM, {"id": event.id, "name": event.name, "text": event.text}
            )
            if event.action == "write_file" and event.name == "content":
                path = paths.get(event.id) or (continuing.path if continuing else None)
                if path:
                    await self._file_delta(path, event.text, publish)
        elif isinstance(event, ActionParamEnd):
            if event.name == "path":
                paths[event.id] = event.value.strip()
                if event.action == "write_file":
                    await publish(TurnEvent.FILE_START, {"path": paths[event.id]})
                    if self.live:
                        self.live.file_started(self.conversation_id, paths[event.id])
        elif isinstance(event, ActionEnd):
            params = self._params(event, continuing)
            if event.complete:
                result = await (tool or self._tool(event.name, params))
            else:
                why = event.error or "no closing tag"
                result = ToolResult(
                    False, f"The {event.name} action was not finished ({why}); it was not run."
                )
            results.append((event.name, result))
            path = params.get("path", "").strip() or None
            summary: dict[str, Any] = {
                "id": event.id,
                "name": event.name,
                "ok": result.ok,
                "result": result.result if not result.ok or event.name != "read_file" else "",
                "path": path,
                "label": action_label(event.name, params, result),
            }
            if event.name == "start_from" and result.ok:
                summary["kit"] = self._kit_choice(params.get("kit", ""))
            outcome.actions.append(summary)
            if self.live:
                self._refresh_live(event.name, path, result)
            await publish(TurnEvent.ACTION_END, {**summary, "changed": list(result.changed)})
            if result.preview:
                await publish(TurnEvent.PREVIEW, {"path": result.preview})
            started = event.name == "start_from" and result.ok
            if started and summary["kit"]["name"] != BLANK and self.record_version is not None:
                await self._in_worker(self.workspace.sync)  # a version only of durable files
                await self.record_version(f"Started from: {summary['kit']['title']}")

    def _kit_choice(self, name: str) -> dict[str, Any]:
        """The kit a project started from, and what else it could start from (the UI's
        "Started from: Stopwatch ▾" switch)."""
        name = name.strip().lower()
        library = default_library()
        titles = {m.name: m.title for m in library.manifests()}
        ranked = [r.name for r in rank(self._request).ranked if r.name != name]
        alternatives = [{"name": n, "title": titles[n]} for n in ranked if n in titles]
        alternatives.append({"name": BLANK, "title": "Blank project"})
        title = titles.get(name, "Blank project" if name == BLANK else name)
        return {"name": name, "title": title, "alternatives": alternatives}

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
        await publish(TurnEvent.FILE_DELTA, {"path": path, "text": text})
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


def action_label(name: str, params: dict[str, str], result: ToolResult) -> str | None:
    """What a chip says where the usual "✓ Wrote index.html" would not be the truth."""
    if not result.ok:
        return None
    if result.result.startswith("No changes"):
        return result.result.split(":", 1)[0]
    if name == "start_from":
        kit = params.get("kit", "").strip()
        if kit.lower() == BLANK:
            return "Started blank"
        return result.result.split(":", 1)[0].replace("Started from the ", "Started from: ")[
            : -len(" kit")
        ]
    if name == "set_slot":
        value = " ".join(params.get("value", "").split())
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"Set {params.get('slot', '').strip()}: “{shown}”"
    return None


def _closing(done: KitTurn) -> str:
    if done.refused:
        return ""
    if done.kit_title is None:
        return ""
    if not done.changed:
        text = f"\nYour {done.kit_title.lower()} is ready and works as it is."
    else:
        text = (
            f"\nYour {done.kit_title.lower()} is ready: it works, with your words on it. Ask "
            "for changes such as “make the background dark blue” or “call it …”."
        )
    if done.examples:
        text += (
            f" The {done.examples} are the kit's examples: list your own (“set the "
            f"{done.examples} to …”), or use a larger model to write them for you."
        )
    return text
