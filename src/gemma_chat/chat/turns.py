"""Run one conversation turn as a background task that outlives its HTTP request.

The task owns the turn: it streams from the runtime, saves as it goes, and publishes
events to any number of listeners. A browser that disconnects only stops listening;
the answer is still finished and saved. Only an explicit stop cancels.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gemma_chat.agent.loop import DEFAULT_MAX_ROUNDS, BuildAgent, LiveFiles, Publish
from gemma_chat.chat.context_budget import fit_to_context, reply_tokens
from gemma_chat.chat.history import MessageMedia, model_messages
from gemma_chat.chat.media_input import MediaInput
from gemma_chat.chat.settings import budget_context, effective_settings, generation_options
from gemma_chat.errors import (
    AttachmentLinkError,
    CannotContinue,
    NotFound,
    RuntimeFailure,
    TurnBusy,
    VersionError,
    WorkspaceError,
)
from gemma_chat.events import TurnEvent
from gemma_chat.kits.library import default_library
from gemma_chat.kits.manifest import BLANK
from gemma_chat.media.attachments import AttachmentStore
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
from gemma_chat.runtimes.pool import RuntimePool
from gemma_chat.store.repository import UNSET, Message, Store
from gemma_chat.workspace.projects import Projects
from gemma_chat.workspace.versions import FileDiff

log = logging.getLogger(__name__)
SAVE_EVERY_S = 1.0  # partial answers hit the disk this often, so a crash loses little
# While events come faster than this, a reader gets them in lists this far apart: one
# socket write for many events (a reply writing 2,000 files makes ~40,000), never a delay
# for an event that comes alone.
COALESCE_S = 0.01


Event = tuple[str, dict[str, Any]]


@dataclass
class Turn:
    id: str
    conversation_id: str
    user_message: Message
    assistant_message: Message
    cancel: CancelToken = field(default_factory=CancelToken)
    kit: str | None = None  # Build mode: the starter kit the user chose
    continued: bool = False  # continues assistant_message (stopped at the length limit)
    log: list[Event] = field(default_factory=list)
    done: bool = False
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def publish(self, name: TurnEvent, data: dict[str, Any]) -> None:
        async with self._changed:
            self.log.append((name, data))
            self._changed.notify_all()

    async def finish(self) -> None:
        async with self._changed:
            self.done = True
            self._changed.notify_all()

    async def events(self) -> AsyncIterator[Event]:
        """Every event of the turn from the start, then live ones until it ends."""
        async for batch in self.batches(coalesce_s=0):
            for event in batch:
                yield event

    def _has_news(self, seen: int) -> bool:
        return seen < len(self.log) or self.done

    async def batches(
        self, coalesce_s: float = COALESCE_S, after: int = 0
    ) -> AsyncIterator[list[Event]]:
        """The same events in lists: what arrived since the last list, gathered for up to
        `coalesce_s` when the previous list went out less than that long ago. `after`
        skips the turn's first events (a client that has them joins from there on)."""
        index, last = max(0, after), -coalesce_s
        while True:
            async with self._changed:
                await self._changed.wait_for(partial(self._has_news, index))
            wait = last + coalesce_s - time.monotonic()
            if wait > 0 and not self.done:
                await asyncio.sleep(wait)
            batch = self.log[index:]
            finished = self.done
            index += len(batch)
            last = time.monotonic()
            if batch:
                yield batch
            if finished and index >= len(self.log):
                return


class TurnManager:
    def __init__(
        self,
        store: Store,
        runtimes: RuntimePool,
        options: GenerationOptions | None = None,
        projects: Projects | None = None,
        live: LiveFiles | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
    ) -> None:
        self.store = store
        self.runtimes = runtimes
        self.options = options or GenerationOptions()
        self.projects = projects
        self.live = live
        self.max_rounds = max_rounds
        self._running: dict[str, Turn] = {}
        self.attachments: AttachmentStore | None = None  # set by the server (media input)
        self._media: MediaInput | None = None

    def running(self, conversation_id: str) -> Turn | None:
        return self._running.get(conversation_id)

    def start(
        self,
        conversation_id: str,
        content: str,
        attachment_ids: Sequence[str] = (),
        kit: str | None = None,
        *,
        edit: str | None = None,
        retry: str | None = None,
    ) -> Turn:
        """Save the user's message and start answering it.

        `kit` (Build mode): the starter kit an empty project starts from, instead of the
        one the request's words pick ("blank" for none).
        Branches: `edit` (a user message's id): the new message becomes its alternative,
        in its place, and the old one stays with everything after it as another branch.
        `retry` (a user message's id): no new message; another reply to that one is
        written beside the replies it has (`content` and attachments are not used).
        Raises NotFound, TurnBusy, KitError (no such kit) or AttachmentLinkError (an
        unknown or used upload id).
        """
        conversation = self.store.get_conversation(conversation_id)
        if conversation_id in self._running:
            raise TurnBusy("A reply is still being generated in this conversation; stop it first.")
        if attachment_ids:
            self._check_attachments(attachment_ids)
        if kit is not None and kit.strip().lower() != BLANK:
            default_library().manifest(kit)  # an unknown kit is refused before anything is saved
        if retry is not None:
            user = self._user_message(conversation_id, retry)
        else:
            parent = self._user_message(conversation_id, edit).parent_id if edit else UNSET
            user = self.store.add_message(conversation_id, "user", content, parent_id=parent)
            if attachment_ids and self.attachments is not None:
                self.attachments.link(attachment_ids, user.id)
        # Saved up front as interrupted: if the process dies mid-turn, that is the truth.
        assistant = self.store.add_message(
            conversation_id,
            "assistant",
            "",
            status="interrupted",
            model=conversation.model,
            parent_id=user.id,
        )
        turn = Turn(uuid.uuid4().hex[:12], conversation_id, user, assistant, kit=kit)
        self._running[conversation_id] = turn
        turn.task = asyncio.create_task(self._run(turn), name=f"turn-{turn.id}")
        return turn

    def continue_reply(self, conversation_id: str) -> Turn:
        """Continue the conversation's last reply where it stopped (at the length limit,
        or stopped by the user): the model gets the conversation with the partial reply
        as the last message and writes on; the new text is appended to the same message.

        Raises NotFound, TurnBusy or CannotContinue (no reply to continue).
        """
        conversation = self.store.get_conversation(conversation_id)
        if conversation_id in self._running:
            raise TurnBusy("A reply is still being generated in this conversation; stop it first.")
        if conversation.mode != "chat":
            raise CannotContinue("Only chat replies can be continued; send a new message.")
        messages = self.store.active_path(conversation_id)
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant" or not last.content.strip():
            raise CannotContinue("There is no reply to continue: the last message is not one.")
        if last.status == "error":
            raise CannotContinue("The last reply failed; retry it instead of continuing.")
        user = next((m for m in reversed(messages) if m.role == "user"), None)
        if user is None:
            raise CannotContinue("There is no reply to continue: the last message is not one.")
        assistant = self.store.update_message(
            last.id,
            content=last.content,
            thinking=last.thinking,
            status="interrupted",  # the truth if the process dies mid-turn
            error=None,
            stats=last.stats,
            transcript=None,
            actions=None,
            version=None,
            files=None,
        )
        turn = Turn(uuid.uuid4().hex[:12], conversation_id, user, assistant, continued=True)
        self._running[conversation_id] = turn
        turn.task = asyncio.create_task(self._run(turn), name=f"turn-{turn.id}")
        return turn

    def _user_message(self, conversation_id: str, message_id: str) -> Message:
        message = self.store.get_message(conversation_id, message_id)
        if message.role != "user":
            raise NotFound(f"No user message with id {message_id!r} in this conversation")
        return message

    def _check_attachments(self, ids: Sequence[str]) -> None:
        if self.attachments is None:
            raise AttachmentLinkError("Attachments are not available here.")
        for attachment_id in ids:
            try:
                attachment = self.attachments.get(attachment_id)
            except NotFound as exc:
                raise AttachmentLinkError(f"No uploaded file {attachment_id!r}") from exc
            if attachment.message_id is not None:
                raise AttachmentLinkError(f"{attachment.name} was already sent with a message")

    def message_json(self, message: Message) -> dict[str, Any]:
        """A stored message as the API shows it, with its attachments."""
        data = message.to_dict()
        if message.role == "user":
            found = self.attachments.for_message(message.id) if self.attachments else []
            data["attachments"] = [a.to_dict() for a in found]
        return data

    def stop(self, conversation_id: str) -> bool:
        turn = self._running.get(conversation_id)
        if turn is None:
            return False
        turn.cancel.cancel()
        return True

    async def shutdown(self) -> None:
        turns = list(self._running.values())
        for turn in turns:
            turn.cancel.cancel()
        await asyncio.gather(*(t.task for t in turns if t.task), return_exceptions=True)

    async def _run(self, turn: Turn) -> None:
        progress = _Progress()
        error: str | None = None
        message = turn.assistant_message
        if turn.continued:  # the new text goes on after what the reply has
            progress.text.append(message.content)
            if message.thinking:
                progress.thinking.append(message.thinking)
        last_save = time.monotonic()

        async def publish(name: TurnEvent, data: dict[str, Any]) -> None:
            nonlocal last_save
            if name == TurnEvent.TEXT:
                progress.text.append(data["text"])
            elif name == TurnEvent.THINKING:
                progress.thinking.append(data["text"])
            elif name == TurnEvent.STATS:
                progress.usage = Usage(**data)
            await turn.publish(name, data)
            if time.monotonic() - last_save >= SAVE_EVERY_S:
                last_save = time.monotonic()
                self._save(message, progress, "interrupted", None)

        try:
            await turn.publish(
                TurnEvent.TURN_START,
                {
                    "turn_id": turn.id,
                    "user_message": self.message_json(turn.user_message),
                    "assistant_message_id": message.id,
                    "continue": turn.continued,
                    # The reply as this turn starts it (a Continue: the text it goes on
                    # from), so a client joining later shows it before the new text.
                    "assistant_message": message.to_dict(),
                },
            )
            conversation = self.store.get_conversation(turn.conversation_id)
            # The branch this reply is on, down to the message it answers (or, continued,
            # to itself): other branches are not the model's history.
            history = [
                m
                for m in self.store.path_to(turn.conversation_id, message.id)
                if m.id != message.id or turn.continued
            ]
            settings = effective_settings(self.store.global_settings(), conversation)
            options = generation_options(self.options, settings)
            async with self.runtimes.use(conversation.model) as runtime:
                media = await self._media_input(history, runtime, turn, publish)
                # Build mode has its own instructions (agent/prompts.py): the system prompt
                # setting is for chat.
                system = settings["system_prompt"] if conversation.mode == "chat" else None
                messages = model_messages(history, system_prompt=system, attachments=media)
                context = budget_context(
                    settings["context_length"], runtime.capabilities.context_length
                )
                if conversation.mode == "build":
                    await self._build(turn, runtime, messages, options, publish, progress, context)
                else:
                    await self._chat(turn, runtime, messages, options, publish, progress, context)
        except (RuntimeFailure, WorkspaceError) as exc:
            log.debug("turn %s failed: %s", turn.id, exc, exc_info=True)  # with its cause
            error = str(exc)
        except Exception as exc:  # the turn must always end cleanly and be saved
            log.exception("turn %s failed", turn.id)
            error = f"Unexpected error: {exc}"
        finally:
            reason = "error" if error else progress.reason
            log.debug("turn %s ended: %s", turn.id, reason)
            status = "error" if error else "interrupted" if reason == "cancelled" else "complete"
            try:
                saved = self._save(message, progress, status, error)
            except Exception:
                log.exception("could not save turn %s", turn.id)
                saved = message
            self._running.pop(turn.conversation_id, None)
            if error:
                await turn.publish(TurnEvent.ERROR, {"message": error})
            else:
                await turn.publish(TurnEvent.STATS, progress.usage.as_dict())
            await turn.publish(TurnEvent.TURN_END, {"reason": reason, "message": saved.to_dict()})
            await turn.finish()

    async def _chat(
        self,
        turn: Turn,
        runtime: Runtime,
        messages: list[ChatMessage],
        options: GenerationOptions,
        publish: Publish,
        progress: _Progress,
        context: int,
    ) -> None:
        messages = await self._fit(runtime, messages, options, publish, context)
        async for delta in runtime.stream(messages, options, turn.cancel):
            if isinstance(delta, TextDelta):
                await publish(TurnEvent.TEXT, {"text": delta.text})
            elif isinstance(delta, ThinkingDelta):
                await publish(TurnEvent.THINKING, {"text": delta.text})
            elif isinstance(delta, Usage):
                await publish(TurnEvent.STATS, delta.as_dict())
            elif isinstance(delta, Finish):
                progress.usage, progress.reason = delta.usage, delta.reason

    async def _build(
        self,
        turn: Turn,
        runtime: Runtime,
        messages: list[ChatMessage],
        options: GenerationOptions,
        publish: Publish,
        progress: _Progress,
        context: int,
    ) -> None:
        if self.projects is None:
            raise RuntimeFailure("Build mode is not available here (no workspace folder).")
        workspace, versions = self.projects.open(turn.conversation_id)
        notes = _VersionNotes(publish)
        before: str | None = None
        try:
            history = await asyncio.to_thread(versions.list)
            if not history:
                history = [await asyncio.to_thread(versions.record, "Empty project")]
            before = history[-1].id
        except VersionError as exc:
            await notes.failed(exc)

        async def record_version(title: str) -> None:
            try:
                version = await asyncio.to_thread(versions.record, title)
            except VersionError as exc:
                await notes.failed(exc)
                return
            await publish(
                TurnEvent.VERSION, {"id": version.id, "index": version.index, "title": title}
            )

        agent = BuildAgent(
            runtime,
            workspace,
            turn.conversation_id,
            options=options,
            grammar=runtime.build_grammar,
            max_rounds=self.max_rounds,
            live=self.live,
            fit=lambda msgs: self._fit(runtime, msgs, options, publish, context),
            kit=turn.kit,
            record_version=record_version,
        )
        try:
            outcome = await agent.run(
                messages, turn.cancel, publish, request=turn.user_message.content
            )
            progress.usage, progress.reason = outcome.usage, outcome.reason
            progress.transcript, progress.actions = outcome.transcript, outcome.actions
        finally:
            if self.live:
                self.live.end_turn(turn.conversation_id)  # a half-typed file shows its disk state
            # Every turn is a version, even a stopped or failed one: its files may have changed.
            title = turn.user_message.content.strip().splitlines()[0][:72]
            try:
                version = await asyncio.to_thread(versions.record, title, turn.id)
                diff = await asyncio.to_thread(versions.diff, before, version.id, False)
            except VersionError as exc:
                await notes.failed(exc)
            else:
                progress.version = version.id
                progress.files = files_changed(diff)
                await notes.left_out(versions.left_out)
                await publish(
                    TurnEvent.VERSION,
                    {"id": version.id, "index": version.index, "title": title, **progress.files},
                )

    async def _media_input(
        self, history: list[Message], runtime: Runtime, turn: Turn, publish: Publish
    ) -> dict[str, MessageMedia]:
        """Attachments prepared for this model; a `notice` for what it cannot take."""
        if self.attachments is None:
            return {}
        if self._media is None:
            self._media = MediaInput(self.attachments)
        found = await self._media.for_history(
            history, runtime.capabilities.modalities, turn.user_message.id, runtime.name
        )
        for note in found.notes:
            await publish(TurnEvent.NOTICE, note.event())
        return found.by_message

    async def _fit(
        self,
        runtime: Runtime,
        messages: list[ChatMessage],
        options: GenerationOptions,
        publish: Publish,
        context: int | None = None,
    ) -> list[ChatMessage]:
        """The messages that fit the model's context (or the smaller `context` setting);
        a `context` event when trimmed."""
        fitted = await fit_to_context(
            runtime, messages, reply_tokens(runtime, options), context_length=context
        )
        if fitted.trimmed:
            await publish(TurnEvent.CONTEXT, fitted.event())
        return fitted.messages

    def _save(
        self, message: Message, progress: _Progress, status: str, error: str | None
    ) -> Message:
        usage = progress.usage
        stats = usage.as_dict() if usage.completion_tokens else None
        if stats is not None and progress.reason == "length" and status == "complete":
            stats["finish_reason"] = "length"  # the UI offers Continue, also after a reload
        return self.store.update_message(
            message.id,
            content="".join(progress.text),
            thinking="".join(progress.thinking),
            status=status,  # type: ignore[arg-type]
            error=error,
            stats=stats,
            transcript=progress.transcript,
            actions=progress.actions,
            version=progress.version,
            files=progress.files,
        )


class _VersionNotes:
    """Tells the user, once per turn, that versions could not be recorded: the files are
    saved all the same, and the turn (and every later one) goes on."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self.told = False

    async def failed(self, exc: VersionError) -> None:
        log.warning("versions not recorded: %s", exc)
        if not self.told:
            self.told = True
            await self.publish(
                TurnEvent.NOTICE,
                {
                    "message": "This turn's version could not be recorded, so it cannot be "
                    f"restored later; the files are saved. ({exc})"
                },
            )

    async def left_out(self, paths: dict[str, str]) -> None:
        if paths and not self.told:
            self.told = True
            shown = ", ".join(sorted(paths)[:5]) + (" …" if len(paths) > 5 else "")
            await self.publish(
                TurnEvent.NOTICE,
                {"message": f"Not in this version (git refuses the names): {shown}"},
            )


def files_changed(diff: Sequence[FileDiff]) -> dict[str, list[str]]:
    """A turn's files, added / changed / removed (a rename is a removal and an addition)."""
    added = [d.path for d in diff if d.status in ("added", "renamed")]
    changed = [d.path for d in diff if d.status == "modified"]
    removed = [d.path for d in diff if d.status == "deleted"]
    removed += [d.old_path for d in diff if d.status == "renamed" and d.old_path]
    return {"added": added, "changed": changed, "removed": sorted(removed)}


@dataclass
class _Progress:
    """What a turn has produced so far; saved every SAVE_EVERY_S and at the end."""

    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    reason: str = "stop"
    transcript: list[dict[str, str]] | None = None
    actions: list[dict[str, Any]] | None = None
    version: str | None = None
    files: dict[str, list[str]] | None = None  # what the turn added, changed and removed
