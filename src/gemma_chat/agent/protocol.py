"""Streaming parser for Build mode's XML action protocol.

The model writes prose and, where it acts, blocks such as::

    <action name="write_file">
    <path>index.html</path>
    <content>
    ...
    </content>
    </action>

`ActionStreamParser` turns the raw text stream into `TextEvent`s (prose for the chat) and
action events, chunk by chunk, streaming parameter text (a file's content) as it is typed so
the live preview can follow it. It never raises, and no decision depends on how the stream was
cut into chunks. The rules, chosen for what small models actually write:

- An action starts at `<action ...>` (any case, spaces allowed: `< Action name = x >`) whose
  tag has a non-empty `name` attribute (quoted with " or ' or not at all). Anything else
  (`<actions>`, `<b>`, `a < b`, `<action>` without a name) is prose, released unchanged.
  Text that may still become `<action` is held back until decided, so half a tag never shows.
  The tag ends at its first `>`. `<action name="x"/>` is a complete action without body.
- Other attributes of the action tag are parameters. Child elements `<path>...</path>` are
  parameters too (a later one wins). Text between parameters is ignored. Values stay strings.
- Inside a parameter only closing tags matter; `<action ...>` text there is plain content.
  `</name>` closes the parameter only when followed (after optional whitespace) by something
  that may legally come next: another opening tag, `</action>` or the end of the stream. So
  `x = "</content>";` in a JS file stays content. `</action>` inside a parameter (a forgotten
  `</content>`) closes both, but only at the end of its line (or before a new `<action`), so
  `"</action>"` inside code stays content. Closing tags of other names are content.
- A value loses exactly one newline directly after its opening tag and one directly before
  its closing tag (`\\n` or `\\r\\n`), no more: file whitespace matters.
- A code fence wrapping a whole value (```` ```html ```` first line, ```` ``` ```` last
  line) is removed. A fence line before `<action` and its closing line after `</action>` are
  dropped, so they never show as an empty code block.
- A value with no raw `<` but with `&lt;` was escaped whole by the model and is unescaped.
- At `finish()`, an action or parameter still open is reported with `complete=False` and
  what arrived so far: an unclosed value exactly as typed (no trailing trim, no closing fence
  removed; only the leading newline and opening fence line are gone), so a caller may resume
  it. A new `<action` between parameters ends the open action the same way.

`ActionParam` pieces are the live view. `ActionParamEnd.value` and `ActionEnd.params` hold
the authoritative value: they alone carry the unescaping, and, in the rare case that a
value's first line is a fence that turns out not to wrap it, they keep that line, which the
stream left out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from enum import Enum

from gemma_chat.agent import protocol_patterns as pat


@dataclass(frozen=True, slots=True)
class TextEvent:
    """Visible prose for the chat."""

    text: str


@dataclass(frozen=True, slots=True)
class ActionStart:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ActionParam:
    """A piece of a parameter's text, streamed as it arrives."""

    id: str
    action: str
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class ActionParamEnd:
    """A parameter is complete; `value` is its final (authoritative) text."""

    id: str
    action: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ActionEnd:
    id: str
    name: str
    params: dict[str, str]
    complete: bool = True
    error: str | None = None


Event = TextEvent | ActionStart | ActionParam | ActionParamEnd | ActionEnd

_ACTION_TAG_MAX = 2048  # from `<` to `>`: a longer "tag" is prose
_PARAM_TAG_MAX = 256


class _State(Enum):
    TEXT = "text"  # prose
    BODY = "body"  # inside an action, between parameters
    PARAM = "param"  # inside a parameter's value


class _Need(Enum):
    MORE = "more"  # the buffer ends inside what may still become a match
    EOS = "eos"  # likewise, but the stream has ended


@dataclass(frozen=True, slots=True)
class _Tag:
    name: str
    attrs: dict[str, str]
    self_closing: bool
    end: int


@dataclass(slots=True)
class _Param:
    name: str
    fresh: bool = True  # nothing decided yet: a leading newline or fence may come
    newline_done: bool = False
    fence: str | None = None  # an opening fence line kept out of the stream
    cdata: bool = False  # the value opened with `<![CDATA[`, kept out of the stream
    cdata_newline_done: bool = False
    parts: list[str] = field(default_factory=list)  # all text decided as value
    hold: str = ""  # decided tail not streamed yet: the close may trim it
    streamed: int = 0
    pending: list[str] = field(default_factory=list)  # streamed, not yet in an event


@dataclass(slots=True)
class _Action:
    id: str
    name: str
    params: dict[str, str] = field(default_factory=dict)
    param: _Param | None = None


def _decide(
    full: re.Pattern[str], part: re.Pattern[str], buf: str, i: int, final: bool
) -> re.Match[str] | _Need | None:
    """Match `full` at `i`, or say that the buffer ends inside what may still match."""
    m = full.match(buf, i)
    if m is not None:
        return m
    if part.fullmatch(buf, i) is not None:
        return _Need.EOS if final else _Need.MORE
    return None


def _scan_tag(
    buf: str, i: int, final: bool, head: re.Pattern[str], part: re.Pattern[str], limit: int
) -> _Tag | _Need | None:
    """An opening tag at `i`: its head decides the name, its first `>` ends it."""
    m = _decide(head, part, buf, i, final)
    if not isinstance(m, re.Match):
        return _Need.MORE if m is _Need.MORE else None
    gt = buf.find(">", m.end(), i + limit)
    if gt < 0:
        return _Need.MORE if not final and len(buf) < i + limit else None
    inner = buf[m.end() : gt]
    if "<" in inner:
        return None
    stripped = inner.rstrip()
    self_closing = stripped.endswith("/")
    if self_closing:
        inner = stripped[:-1]
    attrs: dict[str, str] = {}
    for a in pat.ATTR.finditer(inner):
        attrs[a.group(1).lower()] = next((g for g in a.groups()[1:] if g is not None), "")
    name = m.group(1).lower() if m.lastindex else "action"
    return _Tag(name, attrs, self_closing, gt + 1)


def _scan_action(buf: str, i: int, final: bool) -> _Tag | _Need | None:
    """An `<action name=...>` tag at `i`; its `name` moves from the attributes to the tag."""
    tag = _scan_tag(buf, i, final, pat.ACTION_HEAD, pat.ACTION_HEAD_PART, _ACTION_TAG_MAX)
    if not isinstance(tag, _Tag):
        return tag
    name = tag.attrs.pop("name", "").strip()
    return _Tag(name, tag.attrs, tag.self_closing, tag.end) if name else None


def _skip(blank: re.Pattern[str], buf: str, pos: int) -> int:
    """Where a run of `blank` (a pattern that may match empty) starting at `pos` ends."""
    m = blank.match(buf, pos)
    return m.end() if m else pos


def _withheld(held: str, fenced: bool) -> int:
    """How much of the decided tail to keep out of the stream: the close may trim it."""
    if fenced:
        start = max(0, len(held) - pat.FENCE_TAIL_WINDOW)
        m = pat.FENCE_TAIL.search(held, start)
        return len(held) - m.start() if m else 0
    if held.endswith("\r\n"):
        return 2
    return 1 if held.endswith(("\n", "\r")) else 0


_CDATA_OPEN = "<![CDATA["
_CDATA_CLOSE = re.compile(r"\r?\n?\]\]>\s*\Z")
_CDATA_TAIL = re.compile(r"(?:\r?\n)?(?:\](?:\](?:>\s{0,16})?)?)?\Z")


def _withheld_cdata(held: str) -> int:
    """Keep back a tail that may still be the CDATA's closing `]]>`."""
    start = max(0, len(held) - 24)
    m = _CDATA_TAIL.search(held, start)
    return len(held) - m.start() if m else 0


def _trim_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


class ActionStreamParser:
    """Incremental parser: `feed()` chunks, then `finish()` once at the end of the stream.

    After `finish()` the parser is ready for a new stream; action ids keep counting.
    """

    def __init__(self) -> None:
        self._count = 0
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
        self._pos = 0  # everything before it in `_buf` is decided
        self._state = _State.TEXT
        self._events: list[Event] = []
        self._text: list[str] = []  # prose decided, not yet in an event
        self._col0 = True  # prose so far ends at a line start (blanks aside)
        self._fenced = False  # the current or last action came inside a code fence
        self._fence_pending = False  # its closing fence may come next
        self._action: _Action | None = None

    def feed(self, chunk: str) -> list[Event]:
        if chunk:
            self._buf += chunk
            self._run(final=False)
        return self._take()

    def finish(self) -> list[Event]:
        self._run(final=True)
        action = self._action
        if action is not None:
            if action.param is not None:
                error = f"parameter '{action.param.name}' not closed"
                self._close_param(action, complete=False)
            else:
                error = "action not closed"
            self._end_action(complete=False, error=error)
        events = self._take()
        self._reset()
        return events

    # -- machinery ---------------------------------------------------------------------

    def _run(self, final: bool) -> None:
        while True:
            if self._state is _State.TEXT:
                progressed = self._step_text(final)
            elif self._state is _State.BODY:
                progressed = self._step_body(final)
            else:
                progressed = self._step_param(final)
            if not progressed:
                break
        self._buf = self._buf[self._pos :]
        self._pos = 0

    def _take(self) -> list[Event]:
        self._flush()
        events, self._events = self._events, []
        return events

    def _flush(self) -> None:
        if self._text:
            self._events.append(TextEvent("".join(self._text)))
            self._text.clear()
        action = self._action
        if action is not None and action.param is not None and action.param.pending:
            param = action.param
            self._events.append(
                ActionParam(action.id, action.name, param.name, "".join(param.pending))
            )
            param.pending.clear()

    def _emit(self, event: Event) -> None:
        self._flush()
        self._events.append(event)

    def _add_text(self, text: str) -> None:
        self._text.append(text)
        newline = text.rfind("\n")
        line = text[newline + 1 :]
        self._col0 = (newline >= 0 or self._col0) and not line.strip(" \t")

    # -- prose -------------------------------------------------------------------------

    def _step_text(self, final: bool) -> bool:
        if self._fence_pending and not self._drop_closing_fence(final):
            return False
        buf, pos = self._buf, self._pos
        stop = pat.TEXT_STOP.search(buf, pos)
        end = stop.start() if stop else len(buf)
        if end > pos:
            self._add_text(buf[pos:end])
            self._pos = pos = end
        if stop is None:
            return False
        if buf[pos] == "`":
            return self._text_backticks(final)
        tag = _scan_action(buf, pos, final)
        if tag is _Need.MORE:
            return False
        if isinstance(tag, _Tag):
            self._start_action(tag)
        else:
            self._add_text("<")
            self._pos = pos + 1
        return True

    def _text_backticks(self, final: bool) -> bool:
        """A fence line directly before `<action` is dropped; other backticks are prose."""
        buf, pos = self._buf, self._pos
        if self._col0:
            fence = _decide(pat.FENCE_OPEN, pat.FENCE_OPEN_PART, buf, pos, final)
            if fence is _Need.MORE:
                return False
            if isinstance(fence, re.Match):
                after = _skip(pat.BLANK_16, buf, fence.end())
                if after >= len(buf) and not final:
                    return False
                if after < len(buf) and buf[after] == "<":
                    tag = _scan_action(buf, after, final)
                    if tag is _Need.MORE:
                        return False
                    if isinstance(tag, _Tag):
                        self._fenced = True
                        self._pos = after
                        return True
                self._add_text(fence.group(0))
                self._pos = fence.end()
                return True
        run = pat.BACKTICKS.match(buf, pos)
        end = run.end() if run else pos + 1
        self._add_text(buf[pos:end])
        self._pos = end
        return True

    def _drop_closing_fence(self, final: bool) -> bool:
        """After a fenced action: drop the fence's closing line, unless another action follows."""
        buf, pos = self._buf, self._pos
        m = _decide(pat.FENCE_CLOSE, pat.FENCE_CLOSE_PART, buf, pos, final)
        if m is _Need.MORE:
            return False
        if m is _Need.EOS:
            m = pat.FENCE_CLOSE_AT_EOS.fullmatch(buf, pos)
        keep_fence = False
        if isinstance(m, re.Match):
            self._pos = m.end()
        else:
            after = _skip(pat.BLANK_16, buf, pos)
            if after < len(buf) and buf[after] == "<":
                tag = _scan_action(buf, after, final)
                if tag is _Need.MORE:
                    return False
                keep_fence = isinstance(tag, _Tag)
        self._fenced = keep_fence
        self._fence_pending = False
        return True

    # -- actions -----------------------------------------------------------------------

    def _start_action(self, tag: _Tag) -> None:
        self._pos = tag.end
        self._count += 1
        action = _Action(f"a{self._count}", tag.name)
        self._action = action
        self._emit(ActionStart(action.id, action.name))
        for key, value in tag.attrs.items():
            action.params[key] = value
            if value:
                self._emit(ActionParam(action.id, action.name, key, value))
            self._emit(ActionParamEnd(action.id, action.name, key, value))
        if tag.self_closing:
            self._end_action(complete=True, error=None)
        else:
            self._state = _State.BODY

    def _end_action(self, complete: bool, error: str | None) -> None:
        action = self._action
        if action is None:
            return
        self._emit(ActionEnd(action.id, action.name, dict(action.params), complete, error))
        self._action = None
        self._state = _State.TEXT
        self._col0 = True
        self._fence_pending = self._fenced

    def _step_body(self, final: bool) -> bool:
        buf = self._buf
        pos = self._pos = _skip(pat.BLANK, buf, self._pos)
        if pos >= len(buf):
            return False
        if buf[pos] != "<":  # stray text between parameters is ignored
            lt = buf.find("<", pos)
            self._pos = lt if lt >= 0 else len(buf)
            return lt >= 0
        close = _decide(pat.CLOSE, pat.CLOSE_PART, buf, pos, final)
        if close is _Need.MORE:
            return False
        if isinstance(close, re.Match):
            self._pos = close.end()
            if close.group(1).lower() == "action":
                self._end_action(complete=True, error=None)
            return True
        tag = _scan_tag(buf, pos, final, pat.OPEN_HEAD, pat.OPEN_HEAD_PART, _PARAM_TAG_MAX)
        if tag is _Need.MORE:
            return False
        if not isinstance(tag, _Tag):
            self._pos = pos + 1
            return True
        if tag.name == "action":  # a new action: the open one was never closed
            self._end_action(complete=False, error="action not closed")
            return True
        self._pos = tag.end
        action = self._action
        assert action is not None
        action.param = _Param(tag.name)
        if tag.self_closing:
            self._close_param(action, complete=True)
        else:
            self._state = _State.PARAM
        return True

    # -- parameter values --------------------------------------------------------------

    def _step_param(self, final: bool) -> bool:
        action = self._action
        assert action is not None and action.param is not None
        param = action.param
        if param.fresh and not self._start_value(param, final):
            return False
        buf, pos = self._buf, self._pos
        lt = buf.find("<", pos)
        if lt < 0:
            self._add_value(param, buf[pos:])
            self._pos = len(buf)
            return False
        self._add_value(param, buf[pos:lt])
        self._pos = lt
        close = _decide(pat.CLOSE, pat.CLOSE_PART, buf, lt, final)
        if close is _Need.MORE:
            return False
        if not isinstance(close, re.Match):
            self._add_value(param, "<")
            self._pos = lt + 1
            return True
        name = close.group(1).lower()
        if name == param.name:
            verdict = _decide(pat.PARAM_NEXT, pat.PARAM_NEXT_PART, buf, close.end(), final)
        elif name == "action":
            verdict = _decide(pat.ACTION_NEXT, pat.ACTION_NEXT_PART, buf, close.end(), final)
        else:
            verdict = None
        if verdict is _Need.MORE:
            return False
        self._pos = close.end()
        if verdict is None:  # not a boundary: the tag is part of the value
            self._add_value(param, close.group(0))
            return True
        self._close_param(action, complete=True)
        if name == "action":
            self._end_action(complete=True, error=None)
        else:
            self._state = _State.BODY
        return True

    def _start_value(self, param: _Param, final: bool) -> bool:
        """Skip one newline after the opening tag, then an opening code fence line."""
        buf, pos = self._buf, self._pos
        if not param.newline_done:
            if pos >= len(buf):
                return False
            if buf.startswith("\r\n", pos):
                pos += 2
            elif buf[pos] == "\n":
                pos += 1
            elif buf[pos] == "\r" and pos + 1 == len(buf) and not final:
                return False
            param.newline_done = True
            self._pos = pos
        if pos >= len(buf):
            return False
        if buf[pos] == "<":  # larger models wrap values in CDATA: `<![CDATA[ ... ]]>`
            ahead = buf[pos : pos + len(_CDATA_OPEN)]
            if ahead == _CDATA_OPEN:
                param.cdata = True
                pos += len(_CDATA_OPEN)
                self._pos = pos
            elif _CDATA_OPEN.startswith(ahead) and not final:
                return False
        if param.cdata and not param.cdata_newline_done:  # one newline after `<![CDATA[`
            if pos >= len(buf) or (buf[pos] == "\r" and pos + 1 == len(buf) and not final):
                if not final:
                    return False
            elif buf.startswith("\r\n", pos):
                pos += 2
            elif buf[pos] == "\n":
                pos += 1
            param.cdata_newline_done = True
            self._pos = pos
        if pos >= len(buf):
            return False
        if buf[pos] in "` \t":
            fence = _decide(pat.VALUE_FENCE, pat.VALUE_FENCE_PART, buf, pos, final)
            if fence is _Need.MORE:
                return False
            if isinstance(fence, re.Match):
                param.fence = fence.group(0)
                self._pos = fence.end()
        param.fresh = False
        return True

    def _add_value(self, param: _Param, text: str) -> None:
        if not text:
            return
        param.parts.append(text)
        held = param.hold + text
        keep = _withheld_cdata(held) if param.cdata else _withheld(held, param.fence is not None)
        out = held[: len(held) - keep]
        param.hold = held[len(held) - keep :]
        if out:
            param.pending.append(out)
            param.streamed += len(out)

    def _close_param(self, action: _Action, complete: bool) -> None:
        param = action.param
        assert param is not None
        raw = "".join(param.parts)
        # Without its closing tag a value is reported exactly as it arrived: nothing to trim.
        shown = value = _trim_newline(raw) if complete else raw
        if param.cdata and complete:
            shown = value = _CDATA_CLOSE.sub("", value, count=1)
        if param.fence is not None and complete:
            start = max(0, len(shown) - pat.FENCE_TAIL_WINDOW)
            end = pat.FENCE_END.search(shown, start)
            if end is not None:
                shown = value = shown[: end.start()]
            else:  # the fence did not wrap the whole value: it is part of it
                value = _trim_newline(param.fence + raw)
        rest = shown[param.streamed :]
        if rest:
            param.pending.append(rest)
        if "<" not in value and "&lt;" in value:
            value = html.unescape(value)
        self._flush()
        action.params[param.name] = value
        action.param = None
        self._events.append(ActionParamEnd(action.id, action.name, param.name, value))
