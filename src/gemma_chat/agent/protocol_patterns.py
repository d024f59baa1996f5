"""Regular expressions of the action protocol parser, kept apart from its state machine.

Every construct the parser must look ahead for comes as a pair: a full pattern and a
`..._PART` pattern that fully matches any proper prefix of a full match. The parser holds text
back exactly while the buffered tail still fullmatches the `_PART` pattern, so a decision
never depends on where the chunks were cut. Every repetition is bounded, so a held-back tail
stays short and re-checking it on each chunk costs O(1).
"""

from __future__ import annotations

import re


def prefix_of(word: str) -> str:
    """A pattern matching any prefix of `word`, the empty one and `word` itself included."""
    pattern = ""
    for char in reversed(word):
        pattern = f"(?:{re.escape(char)}{pattern})?"
    return pattern


_SP = r"[ \t]{0,40}"  # spaces a small model may put inside a tag
_IDENT = r"[A-Za-z_][\w:.-]{0,63}"
_ACTION = prefix_of("action")

# `<action` (any case, spaces after `<`), decided by the character after the word.
ACTION_HEAD = re.compile(rf"<{_SP}action(?=[\s/>])", re.I)
ACTION_HEAD_PART = re.compile(rf"<{_SP}{_ACTION}", re.I)

# A parameter's opening tag `<path`, decided by the character after the name.
OPEN_HEAD = re.compile(rf"<{_SP}({_IDENT})(?=[\s/>])")
OPEN_HEAD_PART = re.compile(rf"<{_SP}(?:{_IDENT})?")

# Any closing tag `</ name >`.
CLOSE = re.compile(rf"<{_SP}/{_SP}({_IDENT}){_SP}>")
CLOSE_PART = re.compile(rf"<(?:{_SP}(?:/(?:{_SP}(?:{_IDENT}{_SP})?)?)?)?")

# What may follow a parameter's closing tag for it to count: another parameter's opening tag,
# `</action>` or (checked by the parser) the end of the stream.
PARAM_NEXT = re.compile(rf"\s{{0,64}}<{_SP}(?:{_IDENT}[\s/>]|/{_SP}action{_SP}>)", re.I)
PARAM_NEXT_PART = re.compile(
    rf"\s{{0,64}}(?:<{_SP}(?:{_IDENT}|/{_SP}(?:action{_SP}|{_ACTION}))?)?", re.I
)

# What may follow `</action>` met inside a parameter value: the end of its line or a new action.
ACTION_NEXT = re.compile(rf"[ \t]{{0,64}}(?:\r?\n|<{_SP}action[\s/>])", re.I)
ACTION_NEXT_PART = re.compile(rf"[ \t]{{0,64}}(?:\r|<{_SP}{_ACTION})?", re.I)

# A code fence's opening line, ```lang.
FENCE_OPEN = re.compile(r"`{3,10}[\w+#.-]{0,32}[ \t]{0,8}\r?\n")
FENCE_OPEN_PART = re.compile(r"`{1,2}|`{3,10}[\w+#.-]{0,32}[ \t]{0,8}\r?")
# The same at the start of a value, where it may be indented.
VALUE_FENCE = re.compile(r"[ \t]{0,8}`{3,10}[\w+#.-]{0,32}[ \t]{0,8}\r?\n")
VALUE_FENCE_PART = re.compile(r"[ \t]{0,8}(?:`{1,2}|`{3,10}[\w+#.-]{0,32}[ \t]{0,8}\r?)?")

# The closing fence after an action that came inside a fence (the newline stays as text).
FENCE_CLOSE = re.compile(r"\s{0,16}`{3,10}[ \t]{0,8}(?=\r?\n)")
FENCE_CLOSE_PART = re.compile(r"\s{0,16}(?:`{1,10}[ \t]{0,8}\r?)?")
FENCE_CLOSE_AT_EOS = re.compile(r"\s{0,16}`{3,10}[ \t]{0,8}\r?")

# The longest tail of a fenced value that may still turn out to be its closing fence. Any
# prefix of a match is itself a match, and no match is longer than FENCE_TAIL_WINDOW.
FENCE_TAIL = re.compile(r"(?:\r?\n)?[ \t]{0,8}`{0,10}[ \t]{0,8}(?:\r?\n?[ \t]{0,8}){0,2}\Z")
FENCE_TAIL_WINDOW = 64
# A closing fence that ends a value (after one trailing newline was trimmed), with the
# indentation of the value's closing tag.
FENCE_END = re.compile(r"(?:\A|\r?\n)[ \t]{0,8}`{3,10}[ \t]{0,8}(?:\r?\n[ \t]{0,8})?\Z")

ATTR = re.compile(r"""([^\s=/>"'<]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
TEXT_STOP = re.compile(r"[<`]")
BACKTICKS = re.compile(r"`+")
BLANK = re.compile(r"\s*")
BLANK_16 = re.compile(r"\s{0,16}")
