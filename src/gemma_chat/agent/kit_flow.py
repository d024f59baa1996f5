"""Build with a tiny model (the built-in 135M one): start from a kit, then fill its slots.

A model this small cannot plan an app or write working JavaScript; asked to, it wrote
pages with no script, buttons calling functions that did not exist, and links to files it
never wrote; asked for free text, it made words up. So here the app does the parts that
need judgement and the model fills a slot only under a grammar whose values are bounded.

- First turn of an empty project: the kit comes from the request's words (kits/match.py),
  values the request states exactly (a colour, a number, a list, a title) are read from it
  (kits/requests.py), and the model writes the title from the user's own words under a
  grammar (six words at most, each one the user wrote). Every other text keeps the kit's
  own, which is at least true; texts naming the kit's default title take the new one.
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
from gemma_chat.errors import KitError
from gemma_chat.kits.actions import current_values, project_kit
from gemma_chat.kits.library import default_library
from gemma_chat.kits.manifest import BLANK, KitManifest, Slot
from gemma_chat.kits.match import FALLBACK_KIT, KitChoice, rank, words
from gemma_chat.kits.requests import read_request
from gemma_chat.kits.slots import SlotError, coerce, read_values
from gemma_chat.runtimes.base import ChatMessage
from gemma_chat.workspace import Workspace

# Runs one action the way a model-written one runs (events, tool, transcript).
RunAction = Callable[[str, dict[str, str]], Awaitable[ToolResult]]
# Generates one line with the model under a grammar, at most `max_tokens`.
Generate = Callable[[list[ChatMessage], str, int], Awaitable[str]]
Say = Callable[[str], Awaitable[None]]

_NOT_TOPICS = frozenset(("start", "stop", "reset", "button", "want", "way", "thing"))
SLOT_PROMPT = (
    "You write the texts of a small web app that the user asked for. Reply with the text "
    "only, on one line, in the user's words."
)
TITLE_ASK = "Write a short title for this app (at most 6 words)."
_TITLE_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&-]*")
_JOINERS = frozenset(
    ("a", "and", "for", "of", "the", "my", "&", "to", "with", "in", "on", "between")
) | frozenset(("from", "about", "at", "by", "into", "your", "our"))
# Words of a request that never belong in its title ("Make me a…", "I need…").
_NOT_TITLE = frozenset(
    (
        "make",
        "me",
        "build",
        "i",
        "need",
        "want",
        "create",
        "please",
        "can",
        "could",
        "you",
        "some",
        "simple",
        "small",
        "little",
        "basic",
        "nice",
        "cool",
        "where",
        "that",
        "which",
        "is",
        "are",
        "an",
        "page",
        "app",
        "website",
        "site",
        "like",
        "would",
        "give",
        "write",
    )
)
_LABEL = re.compile(r"^(?:app|title|sentence|heading|subtitle)\s*[:\-–]\s*", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:a|an|the|my)\s+", re.IGNORECASE)
_TITLE_TAIL = re.compile(
    r"(?:\s+(?:app|application|page|website|site|web app|tool))+$|"
    r"\s+(?:with|and|for|of|to|in|on|by|a|an|the)$",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^\s*(?:(?:please|pls|can you|could you|i want|i'd like|i would like|i need|"
    r"make me|make|build me|build|create|write|give me|generate|design|code|"
    r"(?:page|app|site|website|webpage)\s+(?:about|for|on|of)|"
    r"a|an|the|simple|small|little|basic|nice|cool|quick|tiny|new|my|our)\s+)+",
    re.IGNORECASE,
)
_CUT = re.compile(
    r"\s+(?:with|that|which|where|for|to|so|using|who|and|in|on|from|showing|when|if)\s+"
    r"|[,.;:!?(]",
    re.IGNORECASE,
)
_SUBJECT = re.compile(r"\b(?:for|about|of|on|to|that|which)\s+(.+)", re.IGNORECASE)
_GENERIC_TITLE = frozenset(
    ("landing", "land", "home", "homepage", "page", "site", "website", "app", "tool")
)
_TRAILING = re.compile(r"\s+(?:app|page|website|site|web app|webpage|tool)\s*$", re.IGNORECASE)


@dataclass
class KitTurn:
    """What the guided turn did, for the closing summary."""

    kit_title: str | None = None
    changed: int = 0
    refused: str | None = None
    examples: str | None = None  # a list left as the kit's examples (e.g. "questions")


def title_from_request(
    request: str, limit: int, generic: frozenset[str] = frozenset()
) -> str | None:
    """'a stopwatch with start, stop and reset' -> 'Stopwatch'; 'a landing page for my
    bakery' -> 'Bakery' (the subject, when the head names only the kind of page)."""
    line = request.strip().splitlines()[0] if request.strip() else ""
    candidates = []
    for phrase in (line, *(m.group(1) for m in _SUBJECT.finditer(line))):
        head = _LEAD.sub("", phrase)
        head = _CUT.split(head, maxsplit=1)[0].strip(" '\"")
        head = _TRAILING.sub("", head).strip()
        if head:
            candidates.append(head)
    specific = [c for c in candidates if not set(words(c)) <= generic | _GENERIC_TITLE]
    if not (specific or candidates):
        return None
    head = (specific or candidates)[0]
    return fit_to_budget(head[0].upper() + head[1:], limit)


def fit_to_budget(text: str, limit: int) -> str | None:
    """Cut before the last small joining word within `limit` characters ('Quiz about the
    planets of the solar system' -> 'Quiz about the planets'), else at the last whole
    word, and never end on a joining word; None if nothing is left."""
    text = " ".join(text.split()).strip(" -–—:;,")
    if len(text) > limit:
        head = text[: limit + 1]
        joins = [head.rfind(f" {w} ") for w in _JOINERS]
        cut = max(joins)
        if cut < limit // 3:
            cut = head.rfind(" ") if " " in head else limit
        text = text[:cut]
    parts = text.rstrip(" -–—:;,").split(" ")
    while len(parts) > 1 and parts[-1].lower() in _JOINERS:
        parts.pop()
    return " ".join(parts).rstrip(" -–—:;,") or None


def _repeats(text: str) -> bool:
    """'Game of the Game Night': a small model looping."""
    seen = words(text)
    return len(seen) != len(set(seen))


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
            if slot.name == "title" and slot.name not in values:
                text = await self._write_title(slot, request, manifest)
                if text:
                    values[slot.name] = text
        kit = default_library().load(name)
        values |= _renamed(kit.manifest, read_values(kit.manifest, kit.files), values)
        lists = [s for s in manifest.slots if s.kind == "list" and s.name not in values]
        if lists and topic_words(request, manifest, choice):
            # A 135M model writes quiz questions with wrong answers and copies examples: the
            # kit's own items stay, and the user hears so, with the way to change them.
            turn.examples = lists[0].about.split(":")[0].split(",")[0].strip() or lists[0].name
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

    async def _write_title(self, slot: Slot, request: str, manifest: KitManifest) -> str | None:
        """The title, by the model under a grammar of the user's own words, kept only if it
        still says what the request's head phrase says ("Tip Calculator" for "a tip
        calculator that splits the bill"); otherwise that head phrase itself.

        Measured on 26 requests: free text from the 135M model made up words ("Wedding
        Pornographer's Portfolio", "a password-cracking tool"), so it writes nothing free.
        """
        limit = int(slot.max or 40)
        stated = title_from_request(request, limit)
        messages = [
            ChatMessage("system", SLOT_PROMPT),
            ChatMessage("user", f"App: {request.strip()}\n{TITLE_ASK}"),
        ]
        line = await self.generate(messages, title_grammar(request, manifest), 12)
        text = fit_to_budget(clean_title(line), limit)
        if not text or _repeats(text) or (stated and not set(words(stated)) <= set(words(text))):
            text = stated
        if text is None:
            return None
        try:
            return str(coerce(slot, text))
        except SlotError:
            return None


def title_grammar(request: str, manifest: KitManifest) -> str:
    """Up to five of the user's own words (or the kit's name), joined by small words only
    between them: a 135M model then cannot put a word in the title that nobody asked for,
    nor start or end it on "with" or "a". A word-level bound is a handful of grammar
    states; a character-level one (`{0,400}`) slowed sampling several-fold."""
    found = set(_TITLE_WORD.findall(f"{request} {manifest.title}"))
    content = {w for w in found if w.lower() not in _JOINERS | _NOT_TITLE}
    content |= {w[:1].upper() + w[1:] for w in content}
    joiners = " | ".join(_literal(w) for w in sorted(_JOINERS))
    words_ = " | ".join(_literal(w) for w in sorted(content)) or '"App"'
    return f'root ::= c (" " (j " "){{0,2}} c){{0,4}} "\\n"\nc ::= {words_}\nj ::= {joiners}\n'


def _literal(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clean_title(line: str) -> str:
    """'A Solar System Quiz App' -> 'Solar System Quiz'."""
    text = " ".join(line.split()).strip(" \"'")
    text = _TITLE_TAIL.sub("", _ARTICLE.sub("", _LABEL.sub("", text))).strip(" -–—:;,")
    return text[:1].upper() + text[1:]


def _renamed(
    manifest: KitManifest, defaults: Mapping[str, object], values: Mapping[str, object]
) -> dict[str, object]:
    """Other texts that carry the kit's own name ("© Sunrise Studio") take the new title."""
    old, new = defaults.get("title"), values.get("title")
    if not isinstance(old, str) or not isinstance(new, str) or old == new:
        return {}
    renamed: dict[str, object] = {}
    for slot in manifest.slots:
        current = defaults.get(slot.name)
        if slot.kind != "text" or slot.name in values or not isinstance(current, str):
            continue
        if old in current and len(current.replace(old, new)) <= int(slot.max or 0):
            renamed[slot.name] = current.replace(old, new)
    return renamed


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
