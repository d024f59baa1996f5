"""Choose a starter kit for a request by its words.

Measured on main: asked to pick one of 11 kit names under a grammar, the built-in 135M
model answered "theme" for 19 of 20 requests. A model that small cannot choose, so the
app does: each request word that a kit's name, title, keywords or summary share scores for
that kit, and the best score wins. It is deterministic, instant, and explainable (the
chip says which words matched); capable models may still choose for themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gemma_chat.kits.library import default_library
from gemma_chat.kits.manifest import KitManifest

FALLBACK_KIT = "landing"  # a general page that carries the user's words, when nothing fits
# One title or keyword word that only this kit has (3 points). A word several kits share
# ("game", "list", "tracker") scores less, and alone it is no match: "a snake game" is not
# a guessing game, so it starts from the general page instead.
MIN_SCORE = 3.0
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """
    a an the and or of for to in on with without my our your me i we you it its this that make
    build create give want need please can could would like some simple small little basic
    nice cool page app website site web one two three four five six seven eight nine ten be is
    are has have using use where which who what when how let lets so just also from by into
    about as at all any new quick tiny very get show shows showing
    """.split()  # noqa: SIM905 (a word list reads better as words)
)
# Phrases people write in more than one way; folded before the words are split.
_PHRASES = (
    (re.compile(r"\bto[\s-]?dos?\b"), "todo"),
    (re.compile(r"\bstop[\s-]watch"), "stopwatch"),
    (re.compile(r"\bflash[\s-]cards?\b"), "flashcard"),
    (re.compile(r"\bcount[\s-]?down\b"), "countdown"),
    (re.compile(r"\bsign[\s-]?up\b"), "signup"),
    (re.compile(r"\bcheck[\s-]?list\b"), "checklist"),
    (re.compile(r"\bdark[\s-]mode\b"), "darkmode"),
    (re.compile(r"\be[\s-]?mail\b"), "email"),
)


_KEEP = ("ss", "us", "is")  # 'glass', 'celsius', 'analysis' are not plurals


def stem(word: str) -> str:
    """Plural and verb endings off, so 'tasks' meets 'task' and 'rolling' meets 'roll'."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(_KEEP):
            base = word[: -len(suffix)] + keep
            if suffix == "es" and not base.endswith(("ch", "sh", "x", "z", "o")):
                base = word[:-1]  # 'notes' -> 'note', not 'not'
            if (
                suffix == "ing"
                and len(base) > 3
                and base[-1] == base[-2]
                and base[-1] not in "lsfz"
            ):
                base = base[:-1]  # 'rolling' -> 'roll', 'shopping' -> 'shop'
            return base
    return word


def words(text: str) -> list[str]:
    lowered = text.lower()
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    return [stem(w) for w in _WORD.findall(lowered) if w not in _STOP and len(w) > 1]


@dataclass(frozen=True, slots=True)
class Ranked:
    name: str
    title: str
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KitChoice:
    """The kit a request starts from (None: nothing matched) and the runners-up."""

    kit: str | None
    ranked: list[Ranked] = field(default_factory=list)

    @property
    def matched(self) -> tuple[str, ...]:
        return self.ranked[0].matched if self.ranked and self.kit else ()

    def alternatives(self, limit: int = 6) -> list[str]:
        return [r.name for r in self.ranked if r.name != self.kit][:limit]


@dataclass(frozen=True, slots=True)
class _KitWords:
    name: set[str]
    strong: set[str]  # title and keywords
    summary: set[str]

    @classmethod
    def of(cls, manifest: KitManifest) -> _KitWords:
        keywords = {stem(k) for k in manifest.keywords} | set(words(" ".join(manifest.keywords)))
        return cls(
            set(words(manifest.name.replace("-", " "))),
            set(words(manifest.title)) | keywords,
            set(words(manifest.summary)),
        )

    def points(self, word: str) -> float:
        points = 2.0 if word in self.name else 0.0
        if word in self.strong:
            return points + 3
        return points + (1 if word in self.summary else 0)


def rank(request: str, manifests: Sequence[KitManifest] | None = None) -> KitChoice:
    manifests = manifests if manifests is not None else default_library().manifests()
    asked = sorted(set(words(request)))
    kits = [(_KitWords.of(m), m) for m in manifests]
    # A word many kits share ('game', 'list') tells less than one only a single kit has.
    spread = {w: sum(1 for k, _ in kits if k.points(w)) for w in asked}
    ranked = []
    for kit_words, manifest in kits:
        score, matched = 0.0, []
        for word in asked:
            points = kit_words.points(word)
            if points:
                score += points / spread[word] ** 0.5
                matched.append(word)
        ranked.append(Ranked(manifest.name, manifest.title, round(score, 2), tuple(matched)))
    # Ties go to the kit that matched more distinct words, then to the name (stable).
    ranked.sort(key=lambda r: (-r.score, -len(r.matched), r.name))
    best = ranked[0] if ranked and ranked[0].score >= MIN_SCORE else None
    return KitChoice(best.name if best else None, ranked)
