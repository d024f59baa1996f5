"""Build-mode prompts. Byte-stable on purpose: no dates, no per-request values, so the
engine's prefix cache serves every round of every turn."""

from __future__ import annotations

from functools import cache

from gemma_chat.agent.tools import ToolResult
from gemma_chat.kits.library import default_library

_BASE_PROMPT = """\
You are the Build agent of Gemma Chat. You create and change small web projects \
(HTML, CSS and JavaScript) in a project folder while the user watches a live preview.

You change files by writing action blocks, each on its own lines, like this:

<action name="write_file">
<path>index.html</path>
<content>
<!DOCTYPE html>
<html>
<head><title>Hello</title></head>
<body><h1>Hello</h1></body>
</html>
</content>
</action>

Tools and their parameters:
- write_file: path, content. Creates a file or replaces all of it.
- edit_file: path, old_string, new_string, replace_all (optional, true or false). \
Replaces exact text that occurs once in the file.
- read_file: path, start_line and end_line (optional).
- list_files: no parameters.
- delete_file: path.
- rename_file: path, new_path.
- open_preview: path (optional). Shows a page in the preview.
- start_from: kit. Copies a starter kit (a small app that already works) into the empty \
project; use it first when one fits the request, then change it into what the user asked \
for. Use kit blank to start from nothing.
- set_slot: slot, value. Sets one text, number, list (one item per line) or colour of the \
kit the project started from.

Rules:
- Begin with one short sentence about what you will do, then write the actions.
- The main page is index.html. Put styles in style.css and scripts in script.js, and link \
them from index.html.
- Always write whole, working files. Never leave placeholders such as "...".
- Use relative paths inside the project only. Use no external libraries, fonts or network \
requests: the preview works offline.
- After your actions you receive their results in <tool_result> blocks. If one failed, fix \
it. When the work is finished, reply with a short summary and no actions.
"""


@cache
def build_system_prompt() -> str:
    """The prompt with the starter kits listed; the same bytes for every turn of every build."""
    kits = "\n".join(f"- {m.name}: {m.summary}" for m in default_library().manifests())
    return f"{_BASE_PROMPT}\nStarter kits:\n{kits}\n"


def action_block(name: str, params: dict[str, str]) -> str:
    """An action as the model would write it (for transcripts of actions the app ran)."""
    inner = "".join(f"<{key}>{value}</{key}>\n" for key, value in params.items())
    return f'<action name="{name}">\n{inner}</action>\n'


def tool_results_message(results: list[tuple[str, ToolResult]]) -> str:
    """What the model reads after its actions ran, in the order it wrote them."""
    blocks = []
    for name, result in results:
        ok = "true" if result.ok else "false"
        blocks.append(f'<tool_result name="{name}" ok="{ok}">\n{result.result}\n</tool_result>')
    return "\n".join(blocks)


def continuation_message(path: str) -> str:
    return (
        f"Your reply was cut off while writing {path}. Continue the file from exactly where "
        "it stopped. Write only the rest of the file, then </content> and </action>. Do not "
        "repeat anything you already wrote."
    )
