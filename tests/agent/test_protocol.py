"""The streaming action parser: fixtures of what small models write, and properties."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemma_chat.agent.protocol import (
    ActionEnd,
    ActionParam,
    ActionParamEnd,
    ActionStart,
    ActionStreamParser,
    Event,
    TextEvent,
)

FIXTURES = Path(__file__).parent / "fixtures"
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def run(text: str, size: int | None = None) -> list[Event]:
    """Feed `text` whole or in chunks of `size`, then finish."""
    parser = ActionStreamParser()
    chunks = [text] if size is None else [text[i : i + size] for i in range(0, len(text), size)]
    events = [e for chunk in chunks for e in parser.feed(chunk)]
    return events + parser.finish()


def run_chunks(chunks: list[str]) -> list[Event]:
    parser = ActionStreamParser()
    return [e for chunk in chunks for e in parser.feed(chunk)] + parser.finish()


def normalise(events: list[Event]) -> list[Event]:
    """Merge consecutive prose and consecutive pieces of one parameter: chunking aside."""
    out: list[Event] = []
    for event in events:
        last = out[-1] if out else None
        if isinstance(event, TextEvent) and isinstance(last, TextEvent):
            out[-1] = TextEvent(last.text + event.text)
        elif (
            isinstance(event, ActionParam)
            and isinstance(last, ActionParam)
            and (last.id, last.name) == (event.id, event.name)
        ):
            out[-1] = ActionParam(last.id, last.action, last.name, last.text + event.text)
        else:
            out.append(event)
    return out


def visible(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextEvent))


def ends(events: list[Event]) -> list[ActionEnd]:
    return [e for e in events if isinstance(e, ActionEnd)]


def streamed(events: list[Event], action_id: str, name: str) -> str:
    return "".join(
        e.text for e in events if isinstance(e, ActionParam) and (e.id, e.name) == (action_id, name)
    )


def only_action(text: str) -> ActionEnd:
    (end,) = ends(run(text))
    return end


# -- whole replies ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [None, 1, 5, 64])
def test_clean_multi_file_reply(size: int | None) -> None:
    events = run(fixture("clean_multi_file.txt"), size)
    actions = ends(events)
    assert [a.id for a in actions] == ["a1", "a2", "a3"]
    assert [a.params["path"] for a in actions] == ["index.html", "style.css", "app.js"]
    assert all(a.name == "write_file" and a.complete and a.error is None for a in actions)
    html_file = actions[0].params["content"]
    assert html_file.startswith("<!doctype html>\n<html") and html_file.endswith("</html>")
    assert actions[1].params["content"] == (
        "body { font-family: sans-serif; }\n\nh1 > span { color: #c00; }"
    )
    assert "items.length < 4 && items[0] > 0" in actions[2].params["content"]
    text = visible(events)
    assert text.startswith("I'll build a small page") and text.rstrip().endswith("to see it.")
    assert "<" not in text and "```" not in text
    # The streamed pieces add up to the final value.
    for action in actions:
        assert streamed(events, action.id, "content") == action.params["content"]
    # Events come in order: start, parameters, end, per action.
    kinds = [type(e).__name__ for e in normalise(events) if not isinstance(e, TextEvent)]
    assert (
        kinds
        == [
            "ActionStart",
            "ActionParam",
            "ActionParamEnd",
            "ActionParam",
            "ActionParamEnd",
            "ActionEnd",
        ]
        * 3
    )


def test_windows_line_endings() -> None:
    text = fixture("clean_multi_file.txt").replace("\n", "\r\n")
    events = run(text, 3)
    actions = ends(events)
    assert [a.params["path"] for a in actions] == ["index.html", "style.css", "app.js"]
    css = actions[1].params["content"]
    assert css == "body { font-family: sans-serif; }\r\n\r\nh1 > span { color: #c00; }"
    assert visible(events).endswith("to see it.\r\n")
    fenced = fixture("sloppy_fenced.txt").replace("\n", "\r\n")
    events = run(fenced, 2)
    assert "```" not in visible(events)
    assert ends(events)[0].params == {"path": "index.html", "content": "<p>hi</p>"}


def test_empty_reply_and_only_text() -> None:
    assert run("") == []
    parser = ActionStreamParser()
    assert parser.feed("") == []
    assert parser.finish() == []
    prose = "Just an answer.\n\nWith two paragraphs, `code` and a list:\n- one\n- two\n"
    assert normalise(run(prose, 4)) == [TextEvent(prose)]


def test_unicode_everywhere() -> None:
    text = (
        'Voilà 🙂 — la page:\n<action name="write_file">\n<path>café/índex.html</path>\n'
        "<content>\n<p>日本語 ✓ ünïcödé</p>\n</content>\n</action>\nFertig ✓"
    )
    events = run(text, 1)
    (action,) = ends(events)
    assert action.params == {"path": "café/índex.html", "content": "<p>日本語 ✓ ünïcödé</p>"}
    assert visible(events) == "Voilà 🙂 — la page:\n\nFertig ✓"


# -- streaming -------------------------------------------------------------------------


def test_content_streams_before_the_closing_tag() -> None:
    parser = ActionStreamParser()
    events = parser.feed('<action name="write_file"><path>a.html</path><content>\n<h1>Hi')
    assert [type(e) for e in events][:1] == [ActionStart]
    assert streamed(events, "a1", "content") == "<h1>Hi"
    events = parser.feed("</h1>\n<p>more</p>")
    assert streamed(events, "a1", "content") == "</h1>\n<p>more</p>"


def test_only_a_possible_closing_tag_or_final_newline_is_held_back() -> None:
    parser = ActionStreamParser()
    parser.feed("<action name=w><content>")
    assert streamed(parser.feed("abc</con"), "a1", "content") == "abc"
    assert streamed(parser.feed("sole>"), "a1", "content") == "</console>"
    assert streamed(parser.feed("x\n"), "a1", "content") == "x"  # the newline may be trimmed
    assert streamed(parser.feed("y"), "a1", "content") == "\ny"
    events = parser.feed("\n</content>\n</action>")
    assert [type(e) for e in events] == [ActionParamEnd, ActionEnd]
    assert ends(events)[0].params["content"] == "abc</console>x\ny"


def test_never_shows_half_an_action_tag() -> None:
    parser = ActionStreamParser()
    assert visible(parser.feed("Hi <act")) == "Hi "
    assert visible(parser.feed("ion name=")) == ""
    events = parser.feed('"list_files"/>ok')
    assert [type(e) for e in events] == [ActionStart, ActionEnd, TextEvent]
    parser = ActionStreamParser()
    assert visible(parser.feed("Hi <act")) == "Hi "
    assert visible(parser.feed("ress> and <")) == "<actress> and "
    assert visible(parser.finish()) == "<"


# -- tolerated slips -------------------------------------------------------------------


def test_spaces_and_case_inside_tags() -> None:
    action = only_action(
        '< Action  Name = "write_file" >\n< PATH >a.html</ path >\n'
        "<Content >\nx\n</CONTENT  >\n</ action >"
    )
    assert (action.name, action.params, action.complete) == (
        "write_file",
        {"path": "a.html", "content": "x"},
        True,
    )


@pytest.mark.parametrize(
    "tag",
    [
        '<action name="read_file">',
        "<action name='read_file'>",
        "<action name=read_file>",
        "<action\n  name = read_file\n>",
    ],
)
def test_quotes_or_none_on_attributes(tag: str) -> None:
    action = only_action(f"{tag}<path>a.txt</path></action>")
    assert (action.name, action.params) == ("read_file", {"path": "a.txt"})


def test_parameters_as_attributes() -> None:
    events = run('<action name="write_file" path="css/a.css">\n<content>b{}</content>\n</action>')
    (action,) = ends(events)
    assert action.params == {"path": "css/a.css", "content": "b{}"}
    assert ActionParamEnd("a1", "write_file", "path", "css/a.css") in events
    assert only_action("<action name=open_preview path=index.html/>").params == {
        "path": "index.html"
    }


def test_code_fence_around_an_action_is_dropped() -> None:
    events = run(fixture("sloppy_fenced.txt"), 1)
    assert visible(events) == "Sure! Here is the file:\n\n\n\nAnd the list:\n\nThat's all.\n"
    first, second = ends(events)
    assert first.params == {"path": "index.html", "content": "<p>hi</p>"}
    assert streamed(events, first.id, "content") == "<p>hi</p>"
    assert (second.name, second.params) == ("list_files", {})


def test_one_fence_around_several_actions() -> None:
    text = "```xml\n<action name=a/>\n<action name=b/>\n```\nend"
    events = run(text, 2)
    assert [a.name for a in ends(events)] == ["a", "b"]
    assert "```" not in visible(events) and visible(events).endswith("\nend")


def test_code_blocks_in_prose_are_kept() -> None:
    prose = "Run this:\n```bash\nnpm start\n```\nThen `open` it.\n```\n<b>x</b>\n```\n"
    assert normalise(run(prose, 3)) == [TextEvent(prose)]


def test_fence_wrapping_the_whole_value_is_stripped() -> None:
    fenced = "<action name=w><content>\n```js\nlet a = 1;\n\nf(a);\n```\n</content></action>"
    events = run(fenced, 2)
    assert ends(events)[0].params["content"] == "let a = 1;\n\nf(a);"
    assert streamed(events, "a1", "content") == "let a = 1;\n\nf(a);"
    indented = "<action name=w>\n  <content>\n  ```\n  x\n  ```\n  </content>\n</action>"
    assert only_action(indented).params["content"] == "  x"


def test_fence_inside_the_value_is_kept() -> None:
    markdown = "# Title\n\n```js\nlet a = 1;\n```"
    action = only_action(f"<action name=w><content>\n{markdown}\n</content></action>")
    assert action.params["content"] == markdown
    # A leading fence that does not wrap the value stays in the authoritative value.
    opened = "```js\nlet a = 1;\n```\nmore text"
    events = run(f"<action name=w><content>\n{opened}\n</content></action>")
    assert ends(events)[0].params["content"] == opened
    assert next(e for e in events if isinstance(e, ActionParamEnd)).value == opened


def test_closing_tags_inside_code_stay_content() -> None:
    (action,) = ends(run(fixture("js_closing_tags.txt"), 7))
    content = action.params["content"]
    assert content.startswith("const end = \"</content>\";\nconst stop = '</action>';")
    assert content.endswith('console.log("found </content> in", end, stop);\n}')
    assert action.complete


def test_closing_tag_followed_by_what_may_come_next_counts() -> None:
    same_line = only_action("<action name=w><path>a</path><content>b</content></action>")
    assert same_line.params == {"path": "a", "content": "b"}
    at_end_of_stream = run("<action name=w><content>b</content>  \n")
    assert ends(at_end_of_stream)[0].params == {"content": "b"}
    assert ends(at_end_of_stream)[0].complete is False  # `</action>` never came


def test_forgotten_parameter_close_ends_at_action_close() -> None:
    events = run("<action name=w><path>a</path><content>\nx = 1\n</action>\nDone.")
    (action,) = ends(events)
    assert (action.params, action.complete) == ({"path": "a", "content": "x = 1"}, True)
    assert visible(events) == "\nDone."


def test_nested_looking_content_stays_content() -> None:
    # `<action ...>` inside a value is content; `</action>` only ends a value at the end of
    # its line, so the <pre> example on one line stays inside the file.
    events = run(fixture("nested_pre.txt"), 4)
    (action,) = ends(events)
    assert (
        '<pre><action name="write_file"><path>a.txt</path></action></pre>'
        in (action.params["content"])
    )
    assert action.params["content"].endswith('&lt;action name="list_files"/&gt;</pre>')
    assert visible(events) == "Here is a page that documents the protocol.\n\n"


def test_action_close_at_end_of_a_line_inside_content_ends_the_action() -> None:
    # The documented limit of the rule: a line ending in `</action>` closes the action.
    events = run("<action name=w><content>\n<pre>\n</action>\n</pre>\n</content>\n</action>")
    assert ends(events)[0].params["content"] == "<pre>"
    assert "</pre>" in visible(events)


def test_escaped_content_is_unescaped_only_when_entirely_escaped() -> None:
    escaped = "&lt;div class=&quot;a&quot;&gt;Tom &amp; Jerry&lt;/div&gt;"
    action = only_action(f"<action name=w><content>\n{escaped}\n</content></action>")
    assert action.params["content"] == '<div class="a">Tom & Jerry</div>'
    normal = "<p>Use &lt;b&gt; for bold &amp; more</p>"
    action = only_action(f"<action name=w><content>\n{normal}\n</content></action>")
    assert action.params["content"] == normal
    plain = "Tom &amp; Jerry"
    assert only_action(f"<action name=w><content>{plain}</content></action>").params == {
        "content": plain
    }


def test_several_actions_in_order() -> None:
    text = "".join(f'<action name="read_file"><path>{n}.txt</path></action>\n' for n in range(5))
    actions = ends(run(text, 5))
    assert [a.id for a in actions] == ["a1", "a2", "a3", "a4", "a5"]
    assert [a.params["path"] for a in actions] == [f"{n}.txt" for n in range(5)]


def test_unclosed_action_at_end_of_stream_is_reported() -> None:
    events = run('Writing.\n<action name="write_file">\n<path>a.html</path>\n<content>\n<h1>Hi')
    (action,) = ends(events)
    assert action.complete is False
    assert action.params == {"path": "a.html", "content": "<h1>Hi"}
    assert action.error == "parameter 'content' not closed"
    assert streamed(events, "a1", "content") == "<h1>Hi"
    body_only = only_action('<action name="write_file"><path>a</path>')
    assert (body_only.complete, body_only.error) == (False, "action not closed")
    truncated_close = only_action("<action name=w><content>\n```css\nb{}\n</con")
    assert truncated_close.complete is False
    assert truncated_close.params == {"content": "b{}\n</con"}


def test_unclosed_value_is_reported_exactly_as_typed() -> None:
    # No closing tag, so nothing is trimmed: a caller can resume the file where it stopped.
    events = run("<action name=w><path>a.css</path><content>\n```css\nb{}\n", 1)
    assert ends(events)[0].params["content"] == "b{}\n"
    assert streamed(events, "a1", "content") == "b{}\n"


def test_new_action_before_the_close_ends_the_open_one() -> None:
    events = run("<action name=a><path>x</path>\n<action name=b><path>y</path></action>")
    first, second = ends(events)
    assert (first.name, first.complete, first.params) == ("a", False, {"path": "x"})
    assert (second.name, second.complete, second.params) == ("b", True, {"path": "y"})


@pytest.mark.parametrize(
    "text",
    [
        '<action name="list_files"/>',
        '<action name="list_files"></action>',
        "<action name=list_files />",
    ],
)
def test_parameterless_actions(text: str) -> None:
    action = only_action(text)
    assert (action.name, action.params, action.complete, action.error) == (
        "list_files",
        {},
        True,
        None,
    )


def test_parameters_stay_strings() -> None:
    action = only_action(
        '<action name="edit_file"><path>a.js</path><old_string>42</old_string>'
        "<new_string>true</new_string><replace_all>true</replace_all></action>"
    )
    assert action.params == {
        "path": "a.js",
        "old_string": "42",
        "new_string": "true",
        "replace_all": "true",
    }
    assert all(isinstance(v, str) for v in action.params.values())


def test_exactly_one_newline_is_trimmed_each_side() -> None:
    action = only_action("<action name=w><content>\n\n  x\n\n</content></action>")
    assert action.params["content"] == "\n  x\n"
    assert only_action("<action name=w><content>\n\n</content></action>").params == {"content": ""}
    assert only_action("<action name=w><content></content></action>").params == {"content": ""}


def test_stray_text_between_parameters_is_ignored() -> None:
    action = only_action("<action name=w>\nnow the path:\n<path>a</path>\n</action>")
    assert action.params == {"path": "a"}
    # After a closing tag, text that cannot follow it makes the tag part of the value.
    action = only_action("<action name=w><path>a</path> ok\n</action>")
    assert action.params == {"path": "a</path> ok"}


def test_prose_with_angle_brackets_is_released_unchanged() -> None:
    prose = (
        "If a < b then use <b>bold</b>; <actions> and <action-item> are words, "
        "so is <action> without a name, <Action figure>, and a lone <"
    )
    for size in (None, 1, 3):
        assert normalise(run(prose, size)) == [TextEvent(prose)]


def test_parser_is_reusable_after_finish() -> None:
    parser = ActionStreamParser()
    parser.feed("<action name=a/>")
    parser.finish()
    events = parser.feed("<action name=b/>") + parser.finish()
    assert [(e.id, e.name) for e in ends(events)] == [("a2", "b")]


def test_200_kb_in_small_chunks_is_linear() -> None:
    page = "".join(
        f'<div class="row" id="r{i}"><span>{i} &lt; {i + 1}</span></div>\n' for i in range(600)
    )
    script = "".join(f'const s{i} = "</content>" + `</action>` + (a < b);\n' for i in range(600))
    one = (
        'Here you go.\n```xml\n<action name="write_file">\n<path>index.html</path>\n<content>\n'
        f"```html\n{page}```\n</content>\n</action>\n```\n"
        f'<action name="write_file" path="app.js">\n<content>\n{script}</content>\n</action>\n'
    )
    reply = one * max(1, 200_000 // len(one))
    assert len(reply) >= 190_000
    started = time.perf_counter()
    events = run(reply, 5)
    elapsed = time.perf_counter() - started
    actions = ends(events)
    assert len(actions) == 2 * (200_000 // len(one))
    assert all(a.complete for a in actions)
    assert actions[0].params["content"] == page.rstrip("\n")
    assert actions[1].params["content"] == script.rstrip("\n")
    assert elapsed < 2.0, f"{elapsed:.2f}s for {len(reply)} chars"


# -- properties ------------------------------------------------------------------------

FRAGMENTS = [
    "<", "</", ">", "/>", "/", " ", "\t", "\n", "\r\n", "\r", "=", '"', "'", "`", "```",
    "```xml\n", "```html\n", "\n```\n", "action", "Action", "< action", "name", "name=",
    ' name="write_file"', " name=w", "path", "content", "<path>", "</path>", "<content>",
    "</content>", "</ content >", '<action name="write_file">', "<action name=list_files/>",
    "</action>", "&lt;", "&gt;", "&amp;", "a < b", "<b>", "x", "é", "🙂",
]  # fmt: skip

tag_soup = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map(
    "".join
)
any_text = st.one_of(tag_soup, st.text(max_size=200))


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def check_well_formed(events: list[Event]) -> None:
    """Every action starts, gets its parameters, and ends once, without interleaving."""
    open_id: str | None = None
    for event in events:
        if isinstance(event, ActionStart):
            assert open_id is None
            open_id = event.id
        elif isinstance(event, ActionParam | ActionParamEnd):
            assert event.id == open_id
        elif isinstance(event, ActionEnd):
            assert event.id == open_id
            assert all(isinstance(v, str) for v in event.params.values())
            open_id = None
        else:
            assert isinstance(event, TextEvent) and event.text
    assert open_id is None


@PROPERTY
@given(any_text, st.lists(st.integers(0, 250), max_size=30))
def test_never_raises_and_stays_well_formed(text: str, cuts: list[int]) -> None:
    events = run_chunks(split(text, cuts))
    check_well_formed(events)
    if "<" not in text and "`" not in text:
        assert visible(events) == text


@PROPERTY
@given(tag_soup, st.lists(st.integers(0, 250), max_size=30))
def test_any_chunking_gives_the_same_events(text: str, cuts: list[int]) -> None:
    assert normalise(run_chunks(split(text, cuts))) == normalise(run(text))


@PROPERTY
@given(st.text(max_size=150), st.integers(1, 7))
def test_any_chunking_of_arbitrary_text_gives_the_same_events(text: str, size: int) -> None:
    assert normalise(run(text, size)) == normalise(run(text))


ACTION_TAG = re.compile(r"<\s*action\b", re.I)
prose = st.text(alphabet=st.sampled_from(list("ab <>/=\"'\n\t.é🙂")), max_size=30).filter(
    lambda s: not ACTION_TAG.search(s)
)
value = st.text(alphabet=st.sampled_from(list("ab <>/=\"'\n\t{};é🙂&")), max_size=40).filter(
    lambda s: not re.search(r"<[ \t]*/", s) and not ("&lt;" in s and "<" not in s)
)
simple = st.text(alphabet=st.sampled_from(list("abc./_-")), min_size=1, max_size=12)


@st.composite
def well_formed_reply(draw: st.DrawFn) -> tuple[str, list[str], list[tuple[str, dict[str, str]]]]:
    """A reply in a random but legal style, with its prose and actions."""
    parts: list[str] = []
    texts: list[str] = []
    actions: list[tuple[str, dict[str, str]]] = []
    for _ in range(draw(st.integers(0, 3))):
        texts.append(draw(prose))
        parts.append(texts[-1])
        name = draw(st.sampled_from(["write_file", "edit_file", "list_files"]))
        quote = draw(st.sampled_from(['"', "'", ""]))
        space = draw(st.sampled_from(["", " "]))
        tag = draw(st.sampled_from(["action", "Action", "ACTION"]))
        fenced = draw(st.booleans())
        params: dict[str, str] = {}
        attrs = ""
        if draw(st.booleans()):
            params["path"] = draw(simple)
            attrs = f' path="{params["path"]}"'
        body = ""
        keys = draw(st.lists(st.sampled_from(["content", "old_string", "new_path"]), unique=True))
        for key in keys:
            params[key] = draw(value)
            inline = not params[key].startswith("\n") and not params[key].endswith("\n")
            inner = params[key] if inline and draw(st.booleans()) else f"\n{params[key]}\n"
            body += f"<{space}{key}{space}>{inner}</{space}{key}{space}>\n"
        opening = f"<{space}{tag} name{space}={space}{quote}{name}{quote}{attrs}{space}"
        block = (
            f"{opening}/>"
            if not body and draw(st.booleans())
            else (f"{opening}>\n{body}</{space}{tag}{space}>")
        )
        parts.append(f"\n```xml\n{block}\n```\n" if fenced else block)
        if fenced:
            texts.append("\n")
            texts.append("\n")
        actions.append((name, params))
    texts.append(draw(prose))
    parts.append(texts[-1])
    if draw(st.booleans()):  # Windows line endings throughout
        crlf = lambda s: s.replace("\n", "\r\n")  # noqa: E731
        parts, texts = [crlf(p) for p in parts], [crlf(t) for t in texts]
        actions = [(n, {k: crlf(v) for k, v in ps.items()}) for n, ps in actions]
    return "".join(parts), texts, actions


@PROPERTY
@given(well_formed_reply(), st.lists(st.integers(0, 400), max_size=30))
def test_well_formed_replies_round_trip_and_never_leak_tags(
    reply: tuple[str, list[str], list[tuple[str, dict[str, str]]]], cuts: list[int]
) -> None:
    text, texts, actions = reply
    events = run_chunks(split(text, cuts))
    shown = visible(events)
    assert not re.search(r"<\s*action\b[^>]*>", shown, re.I)
    assert "```" not in shown
    assert shown == "".join(texts)
    got = ends(events)
    assert [(a.name, a.params) for a in got] == actions
    assert all(a.complete and a.error is None for a in got)
    for end in got:
        for key, val in end.params.items():
            assert streamed(events, end.id, key) == val


SNIPPETS = [
    "<action name=w><path>a</path><content>\nx = 1\n</action>\nDone.",
    "<action name=w><content>\nb</content>  \n",
    "<action name=w><content>\n```js\nf();\n```  \n  </content>\n</action>\n",
    "```xml\n<action name=a/>\n<action name=b/>\n```\nend",
    "<action name=a><path>x</path>\n<action name=b><path>y</path></action>",
    "<action name=w><content>\n<pre>\n</action>\n</pre>\n</content>\n</action>",
    "a < b <b>x</b> <actions> <action> <Action figure> <",
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_fixtures_are_chunking_invariant(newline: str) -> None:
    files = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    for text in [t.replace("\n", newline) for t in files + SNIPPETS]:
        whole = normalise(run(text))
        assert "```" not in visible(whole)
        for size in (1, 2, 3, 5, 8, 13):
            assert normalise(run(text, size)) == whole, (text, size)
