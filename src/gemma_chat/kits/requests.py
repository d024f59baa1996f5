"""Read slot values straight out of a request's words, where the words say them exactly.

"a 5 minute timer", "make the background dark blue", "pick from Alice, Bob and Carol",
"call it Focus Time": the user has already written the value, so a tiny model should
not be asked to guess it. What is found here is set as is (and still checked against the
slot's limits); what is not found is left to the model or to the kit's defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gemma_chat.kits.colors import NAMED, ColorError, parse_color
from gemma_chat.kits.manifest import KitManifest, Slot
from gemma_chat.kits.match import stem, words
from gemma_chat.kits.slots import SlotError, coerce

_SHADE_WORDS = ("dark", "light", "deep", "pale", "bright")
_COLOR = re.compile(
    r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b|\b(?:(?:"
    + "|".join(_SHADE_WORDS)
    + r")[\s-])?(?:"
    + "|".join(sorted((re.escape(n) for n in NAMED), key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)
_BACKGROUND_WORDS = re.compile(r"\b(background|backdrop|page|bg|body|theme)\b", re.IGNORECASE)
_ACCENT_WORDS = re.compile(r"\b(buttons?|accent|highlights?|links?|primary)\b", re.IGNORECASE)
_TITLE = re.compile(
    r"""\b(?:called|named|titled|(?:call|name)\s+it|title(?:d)?\s+(?:it\s+)?(?:to|as)?|"""
    r"""rename(?:\s+it)?\s+to|heading\s+(?:to|as))\s+["“']?(?P<title>[^"”'\n.,!?]{2,80})""",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“](?P<text>[^\"”\n]{2,80})[\"”]")
_NUMBER_UNIT = re.compile(r"(?P<number>-?\d+(?:\.\d+)?)\s*(?:-\s*)?(?P<unit>[a-zA-Z]+)")
_WORD_NUMBER = re.compile(
    r"(?P<word>[a-zA-Z]+)\s+(?:at|from|of|to|is|=)?\s*(?P<number>-?\d+(?:\.\d+)?)\b"
)
_RANGE = re.compile(r"\b(?:from|between)\s+(?P<low>-?\d+)\s+(?:to|and)\s+(?P<high>-?\d+)")
_LIST_INTRO = re.compile(
    r"(?:\bfrom\b|\bbetween\b|\bincluding\b|\bsuch as\b|\blike\b|:|\bwith\b|\bfor\b|\bof\b)"
    r"\s+(?P<items>[^.;:!?\n]+)",
    re.IGNORECASE,
)


_SET = re.compile(
    r"\b(?:change|set|make|rename|update|switch)\s+(?:the\s+)?(?P<what>[a-z][a-z\s-]{1,30}?)"
    r"\s+(?:to|to say|say|says|read|reads|into)\s+[\"“']?(?P<value>[^\"”'\n]{1,120})",
    re.IGNORECASE,
)
_ADD = re.compile(
    r"\badd\s+[\"“']?(?P<item>[^\"”'\n]{1,80}?)[\"”']?\s+to\s+(?:the\s+|my\s+)?(?P<what>[a-z][a-z\s]{1,30})",
    re.IGNORECASE,
)


@dataclass
class Found:
    values: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was read, said to the user


def _slot_words(slot: Slot) -> set[str]:
    text = f"{slot.name.replace('_', ' ')} {slot.about}".lower()
    return {stem(w) for w in re.findall(r"[a-z]+", text)}


def colours(request: str, manifest: KitManifest) -> dict[str, str]:
    """Colour words, each aimed at the background or the accent by the words around it."""
    found: dict[str, str] = {}
    names = {s.name for s in manifest.slots if s.kind == "color"}
    for sentence in re.split(r"[.;!?\n]|\band\b", request):
        for match in _COLOR.finditer(sentence):
            try:
                value = parse_color(match.group(0))
            except ColorError:
                continue
            after = sentence[match.end() : match.end() + 25]
            before = sentence[max(0, match.start() - 30) : match.start()]
            if _BACKGROUND_WORDS.search(after) or _BACKGROUND_WORDS.search(before):
                target = "background"
            elif _ACCENT_WORDS.search(after) or _ACCENT_WORDS.search(before):
                target = "accent"
            else:
                target = "accent"  # "a green stopwatch": colour the app's highlights
            if target in names and target not in found:
                found[target] = value
    return found


def title(request: str) -> str | None:
    match = _TITLE.search(request)
    if match:
        return match.group("title").strip()
    quoted = _QUOTED.search(request)
    return quoted.group("text").strip() if quoted else None


def numbers(request: str, manifest: KitManifest) -> dict[str, float]:
    """'5 minute', '20 sides', 'from 1 to 100': a number next to a word its slot is about."""
    slots = [s for s in manifest.slots if s.kind == "number"]
    found: dict[str, float] = {}
    span = _RANGE.search(request)
    if span:
        low = next((s for s in slots if "min" in s.name), None)
        high = next((s for s in slots if "max" in s.name and s is not low), None)
        if low and high:
            found[low.name], found[high.name] = float(span["low"]), float(span["high"])
    for match in _NUMBER_UNIT.finditer(request):
        unit = stem(match["unit"].lower())
        for slot in slots:
            if slot.name not in found and unit in _slot_words(slot):
                found[slot.name] = float(match["number"])
                break
    for match in _WORD_NUMBER.finditer(request):  # "starting at 10", "step of 5"
        word = stem(match["word"].lower())
        for slot in slots:
            if slot.name not in found and word in _slot_words(slot):
                found[slot.name] = float(match["number"])
                break
    return found


def items(request: str, manifest: KitManifest) -> dict[str, list[str]]:
    """'pick from Alice, Bob and Carol': three or more listed items, or two with and/or."""
    lists = [s for s in manifest.slots if s.kind == "list"]
    if not lists:
        return {}
    for match in _LIST_INTRO.finditer(request):
        parts = [p.strip(" '\"") for p in re.split(r",|\band\b|\bor\b", match["items"])]
        parts = [p for p in parts if p and len(p) <= 60]
        if len(parts) >= 3 or (len(parts) == 2 and re.search(r"\b(and|or)\b", match["items"])):
            return {lists[0].name: parts}
    return {}


def _slot_named(what: str, manifest: KitManifest, kinds: tuple[str, ...]) -> Slot | None:
    wanted = {stem(w) for w in re.findall(r"[a-z]+", what.lower())} - {"the", "button", "text"}
    best, best_hits = None, 0
    for slot in manifest.slots:
        if slot.kind not in kinds:
            continue
        hits = len(wanted & _slot_words(slot))
        if hits > best_hits:
            best, best_hits = slot, hits
    return best


def settings(request: str, manifest: KitManifest) -> dict[str, object]:
    """'change the subtitle to Fast and simple', 'set the start button to Go'."""
    found: dict[str, object] = {}
    for match in _SET.finditer(request):
        slot = _slot_named(match["what"], manifest, ("text", "number", "list"))
        if slot is not None and slot.name not in found:
            value = match["value"].strip().rstrip(".!")
            found[slot.name] = (
                [v.strip() for v in value.split(",")] if slot.kind == "list" else value
            )
    return found


def additions(request: str, manifest: KitManifest, current: dict[str, object]) -> dict[str, object]:
    """'add Dave to the names': one more item in the list slot the words name."""
    found: dict[str, object] = {}
    for match in _ADD.finditer(request):
        slot = _slot_named(match["what"], manifest, ("list",))
        existing = current.get(slot.name) if slot else None
        if slot is not None and isinstance(existing, list):
            items = [i.strip() for i in re.split(r",|\band\b", match["item"]) if i.strip()]
            found[slot.name] = [*existing, *items]
    return found


def presets(request: str, manifest: KitManifest) -> dict[str, object]:
    """The kit's presets the request's words call for ("flip a coin": Heads and Tails)."""
    asked = set(words(request))
    found: dict[str, object] = {}
    for preset in manifest.presets:
        if asked & set(words(" ".join(preset.when))):
            found |= preset.values
    return found


def read_request(
    request: str, manifest: KitManifest, current: dict[str, object] | None = None
) -> Found:
    """Every slot value the request states, checked against the slots' limits.

    `current` (the project's values, on later turns) lets "add X to the list" extend a list.
    """
    found = Found()
    stated: dict[str, object] = settings(request, manifest)
    if current is not None:
        stated |= additions(request, manifest, current)
    stated_title = title(request)
    if stated_title and "title" not in stated:
        stated["title"] = stated_title
    stated |= colours(request, manifest)
    stated |= numbers(request, manifest)
    stated |= items(request, manifest)
    candidates = presets(request, manifest) | stated  # what the user wrote wins
    for name, value in candidates.items():
        slot = manifest.slot(name)
        if slot is None:
            continue
        try:
            found.values[name] = coerce(slot, value)
        except SlotError as exc:
            found.notes.append(f"Left {name} as it was: {exc}")
    return found
