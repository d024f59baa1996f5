"""GBNF grammars that make llama.cpp engines write well-formed actions.

Even a 135M model then produces parseable action blocks: the grammar fixes the tags and
leaves the model free only where it has something to say (prose, paths, file content).
(The built-in model builds from starter kits instead; see agent/kit_flow.py.)
"""

from __future__ import annotations

from gemma_chat.agent.tools import TOOLS


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _class_char(char: str) -> str:
    return {"\\": "\\\\", "]": "\\]", "^": "\\^", "-": "\\-", "\n": "\\n"}.get(char, char)


def text_without(*terminators: str) -> str:
    """A GBNF expression for text in which none of `terminators` occurs.

    Built from the terminators' prefixes: after each proper prefix, any character may
    follow except one that extends it, and except a terminator's first character (which
    could start a terminator overlapping this one). Unbounded on purpose: a bounded
    repetition (`{0,400}`) costs a grammar state per character and slowed sampling
    several-fold; the app bounds lengths instead (max_tokens, slot limits).
    """
    prefixes = sorted({t[:i] for t in terminators for i in range(len(t))}, key=len)
    firsts = {t[0] for t in terminators}
    alternatives = []
    for prefix in prefixes:
        extend = {t[len(prefix)] for t in terminators if t.startswith(prefix) and t != prefix}
        negated = "[^" + "".join(_class_char(c) for c in sorted(extend | firsts)) + "]"
        alternatives.append(f"{_literal(prefix)} {negated}" if prefix else negated)
    return f"({' | '.join(alternatives)})*"


def _action(tool: str) -> str:
    params = TOOLS[tool].params
    parts = [_literal(f'<action name="{tool}">\n')]
    for param in params:
        if not param.required:
            continue
        if param.name == "content":
            parts += [_literal("<content>\n"), "content", _literal("</content>\n")]
        elif param.name in ("old_string", "new_string", "value"):
            close = f"</{param.name}>"
            parts += [_literal(f"<{param.name}>\n"), text_without(close), _literal(f"\n{close}\n")]
        else:
            parts += [_literal(f"<{param.name}>"), "line", _literal(f"</{param.name}>\n")]
    parts.append(_literal("</action>\n"))
    return " ".join(parts)


def action_grammar(require_action: bool) -> str:
    """Prose, then actions. With `require_action`, at least one (a first round must act)."""
    tools = [name for name in TOOLS if name != "read_file"] + ["read_file"]
    repeat = "action+" if require_action else "action*"
    rules = [
        f'root ::= prose "\\n" {repeat}',
        "prose ::= [^<\\n] [^<\\n]{0,300}",
        "line ::= [^<\\n]{1,200}",
        f"content ::= {text_without('</content>')}",
        "action ::= " + " | ".join(f"act-{name.replace('_', '-')}" for name in tools),
    ]
    rules += [f"act-{name.replace('_', '-')} ::= {_action(name)}" for name in tools]
    return "\n".join(rules) + "\n"


def continuation_grammar() -> str:
    """The rest of a cut-off file, then its closing tags."""
    return (
        f'root ::= content {_literal("</content>")} "\\n" {_literal("</action>")} "\\n"\n'
        f"content ::= {text_without('</content>')}\n"
    )
