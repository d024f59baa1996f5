"""Build with a tiny model (the built-in 135M one): start from a kit, then fill its slots.

A model this small cannot plan an app or write working JavaScript; asked to, it wrote
pages with no script, buttons calling functions that did not exist, and links to files it
never wrote. So here the app does the parts that need judgement and the model does what
it can do well: write short texts in the user's words.

- First turn of an empty project: the kit comes from the request's words (kits/match.py),
  values the request states exactly (a colour, a number, a list, a title) are read from it
  (kits/requests.py), and the model writes the remaining headline texts, one slot at a
  time under a one-line grammar. Each value is cut to its slot's budget by the app, which
  costs nothing per token (a bounded repetition in the grammar slowed sampling several-fold).
- Later turns: what the request states maps onto slots; anything else is said plainly to
  be beyond this model.

Every change is a real `start_from` / `set_slot` action, so the UI shows chips, the
transcript records it, and versions work exactly as for any other build.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from gemma_chat.agent.tools import ToolResult
from gemma_chat.kits.actions import current_values, project_kit
from gemma_chat.kits.library import BLANK, KitError, KitManifest, Slot, default_library
from gemma_chat.kits.match import FALLBACK_KIT, KitChoice, rank, words
from gemma_chat.kits.requests import read_request
from gemma_chat.kits.slots import SlotError, coerce, read_values
from gemma_chat.runtimes.base import ChatMessage
from gemma_chat.workspace import Workspace

# Runs one action the way a model-written one runs (events, tool, transcript).
RunAction = Callable[[str, dict[str, str]], Awaitable[ToolResult]]
# Generates text with the model under a grammar, at most `max_tokens`: the first line, or
# all of it with `lines=True`.
Generate = Callable[..., Awaitable[str]]
Say = Callable[[str], Awaitable[None]]

# Slots the model writes on a first build; the rest keep the kit's working defaults unless
# the request states them. Headline texts are where the user's words show.
MODEL_WRITES = ("title", "subtitle", "tagline")
# Lists that hold what an app is about; the model writes them when the request names a
# topic beyond the kit ("a quiz about planets"), in the shape the kit's own items have.
CONTENT_LISTS = ("questions", "cards", "items", "notes", "features", "habits", "symbols")
ITEMS_WRITTEN = 5
_NOT_TOPICS = frozenset(("start", "stop", "reset", "button", "want", "way", "thing"))
SLOT_PROMPT = (
    "You write the texts of a small web app that the user asked for. Reply with the text "
    "only, on one line, in the user's words."
)
LINE_GRAMMAR = 'root ::= [A-Za-z0-9"\'(] [^\\n<>{}]* "\\n"\n'
_LEAD = re.compile(
    r"^\s*(?:(?:please|pls|can you|could you|i want|i'd like|i would like|i need|"
    r"make me|make|build me|build|create|write|give me|generate|design|code|"
    r"a|an|the|simple|small|little|basic|nice|cool|quick|tiny|new|my|our)\s+)+",
    re.IGNORECASE,
)
_CUT = re.compile(
    r"\s+(?:with|that|which|where|for|to|so|using|who|and|in|on|from|showing|where)\s+|[,.;:!?(]",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"\s+(?:app|page|website|site|web app|webpage|tool)\s*$", re.IGNORECASE)


@dataclass
class KitTurn:
    """What the guided turn did, for the closing summary."""

    kit_title: str | None = None
    changed: int = 0
    refused: str | None = None


def title_from_request(request: str, limit: int) -> str | None:
    """'a stopwatch with start, stop and reset' -> 'Stopwatch'."""
    head = _LEAD.sub("", request.strip().splitlines()[0] if request.strip() else "")
    head = _CUT.split(head, maxsplit=1)[0].strip(" '\"")
    head = _TRAILING.sub("", head).strip()
    if not head:
        return None
    head = head[0].upper() + head[1:]
    return fit_to_budget(head, limit)


def fit_to_budget(text: str, limit: int) -> str | None:
    """Cut at the last whole word within `limit` characters; None if nothing is left."""
    text = " ".join(text.split()).strip(" -–—:;,")
    if len(text) > limit:
        cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
        text = cut.rstrip(" -–—:;,")
    return text or None


def _shares_words(text: str, request: str, manifest: KitManifest) -> bool:
    own = set(words(text))
    return bool(own & (set(words(request)) | set(words(manifest.title + " " + manifest.summary))))


class KitFlow:
    def __init__(
        self, workspace: Workspace, run_action: RunAction, generate: Generate, say: Say
    ) -> None:
        self.workspace = workspace
        self.run_action = run_action
        self.generate = generate
        self.say = say

    async def first_turn(self, request: str, forced: str | None) -> KitTurn:
        choice = rank(request) if forced is None else KitChoice(forced)
        name = forced or choice.kit or FALLBACK_KIT
        if name == BLANK:
            await self.say("A blank start needs a larger model; starting from a kit instead.\n")
            name = choice.kit or FALLBACK_KIT
        try:
            manifest = default_library().manifest(name)
        except KitError as exc:
            await self.say(f"{exc}\n")
            return KitTurn(refused=str(exc))
        if forced:
            opening = f"Starting from the {manifest.title} kit, as you chose."
        elif choice.kit:
            opening = f"Starting from the {manifest.title} kit"
            opening += f" (it matches “{', '.join(choice.matched)}”)." if choice.matched else "."
        else:
            opening = (
                f"No starter kit matches this closely, so I'm starting from the {manifest.title}"
                " kit and putting your words on it."
            )
        await self.say(opening + "\n")
        started = await self.run_action("start_from", {"kit": name})
        if not started.ok:
            return KitTurn(refused=started.result)
        turn = KitTurn(kit_title=manifest.title)
        values = dict(read_request(request, manifest).values)
        for slot in manifest.slots:
            if slot.name in MODEL_WRITES and slot.name not in values and slot.kind == "text":
                text = await self._write_text(slot, request, manifest)
                if text:
                    values[slot.name] = text
        content = _content_slot(manifest)
        topic = topic_words(request, manifest, choice)
        if content is not None and content.name not in values and topic:
            defaults = default_library().load(name)
            items = await self._write_items(content, request, defaults.manifest, defaults.files)
            if items:
                values[content.name] = items
        turn.changed = await self._set(values)
        return turn

    async def later_turn(self, request: str) -> KitTurn:
        try:
            kit = project_kit(self.workspace)
        except KitError as exc:
            await self.say(f"{exc}\n")
            return KitTurn(refused=str(exc))
        if kit is None:
            why = (
                "This project did not start from a starter kit, and the built-in model can only "
                "fill a kit's slots. Switch to a larger model (Gemma 4) to edit these files."
            )
            await self.say(why + "\n")
            return KitTurn(refused=why)
        manifest = kit.manifest
        values = read_request(request, manifest, current_values(self.workspace, kit)).values
        if not values:
            why = beyond_model(manifest)
            await self.say(why + "\n")
            return KitTurn(kit_title=manifest.title, refused=why)
        await self.say(f"Updating your {manifest.title.lower()}.\n")
        turn = KitTurn(kit_title=manifest.title)
        turn.changed = await self._set(values)
        return turn

    async def _set(self, values: Mapping[str, object]) -> int:
        changed = 0
        for name, value in values.items():
            shown = "\n".join(value) if isinstance(value, list) else str(value)
            result = await self.run_action("set_slot", {"slot": name, "value": shown})
            changed += bool(result.ok and result.changed)
        return changed

    async def _write_items(
        self, slot: Slot, request: str, manifest: KitManifest, files: Mapping[str, str]
    ) -> list[str] | None:
        """A content list in the request's topic, each line in the shape the kit's own
        items have ('question | right | wrong | wrong'); None keeps the kit's defaults."""
        defaults = read_values(manifest, files).get(slot.name) or []
        parts = max((str(item).count(" | ") for item in defaults), default=0) + 1
        count = max(slot.min_items, min(slot.max_items, ITEMS_WRITTEN))
        limit = int(slot.max or 60)
        shape = f" Each line: {slot.about.split(':', 1)[-1].strip()}." if parts > 1 else ""
        ask = (
            f"App: {request.strip()}\nWrite {count} {slot.about.split(',')[0]} for this app, "
            f"one per line.{shape}"
        )
        example = "\n".join(str(item) for item in defaults[:2])
        messages = [
            ChatMessage("system", SLOT_PROMPT),
            ChatMessage("user", f"{ask}\nLike:\n{example}"),
        ]
        part = '[A-Za-z0-9"\'(] [^|\\n<>{}]*'
        item = " ".join([part] + ['" | " ' + part] * (parts - 1))
        grammar = f'root ::= {" ".join(["line"] * count)}\nline ::= {item} "\\n"\n'
        text = await self.generate(messages, grammar, count * (limit // 3 + 6), lines=True)
        items = []
        for line in text.splitlines():
            line = " ".join(line.split())
            if line and len(line) <= limit and line.count(" | ") == parts - 1:
                items.append(line)
        if len(items) < slot.min_items:
            return None
        try:
            return list(coerce(slot, items))
        except SlotError:
            return None

    async def _write_text(self, slot: Slot, request: str, manifest: KitManifest) -> str | None:
        """One slot's text by the model, cut to its budget; the request's own words if the
        model's line is unusable (empty, or about something else entirely)."""
        limit = int(slot.max or 40)
        ask = (
            f"App: {request.strip()}\nWrite the {slot.about or slot.name} "
            f"(at most {limit} characters)."
        )
        messages = [ChatMessage("system", SLOT_PROMPT), ChatMessage("user", ask)]
        # ~3 characters a token for English; a little over, since the app cuts anyway.
        line = await self.generate(messages, LINE_GRAMMAR, limit // 3 + 6)
        text = fit_to_budget(line.strip().strip('"'), limit)
        if slot.name == "title":
            stated = title_from_request(request, limit)
            if not text or not _shares_words(text, request, manifest):
                text = stated
        if text is None:
            return None
        try:
            return str(coerce(slot, text))
        except SlotError:
            return None


def _content_slot(manifest: KitManifest) -> Slot | None:
    """The list that holds what the app is about (questions, cards, items), if any."""
    return next((s for s in manifest.slots if s.kind == "list" and s.name in CONTENT_LISTS), None)


def topic_words(request: str, manifest: KitManifest, choice: KitChoice) -> set[str]:
    """What the request is about beyond the kit itself: 'planets' in 'a quiz about planets'."""
    kit_words = set(words(f"{manifest.name} {manifest.title} {' '.join(manifest.keywords)}"))
    return set(words(request)) - kit_words - set(choice.matched) - _NOT_TOPICS


def beyond_model(manifest: KitManifest) -> str:
    texts = [s.name for s in manifest.slots if s.kind == "text"]
    others = [s.name for s in manifest.slots if s.kind in ("number", "list")]
    parts = [f"texts ({', '.join(texts)})"]
    if others:
        parts.append(f"settings ({', '.join(others)})")
    parts.append("colours (accent, background)")
    return (
        "That is beyond the built-in model: it can only change this "
        f"{manifest.title.lower()}'s " + ", ".join(parts) + ". Say what to change, e.g. "
        "“call it Morning Run” or “make the background dark blue”, or switch to a larger model "
        "(Gemma 4) for any other change."
    )
