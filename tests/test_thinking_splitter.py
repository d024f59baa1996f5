from hypothesis import given
from hypothesis import strategies as st

from gemma_chat.runtimes.base import TextDelta, ThinkingDelta
from gemma_chat.runtimes.stop_strings import StopStringFilter
from gemma_chat.runtimes.thinking import ThinkingSplitter


def run(chunks: list[str]) -> tuple[str, str, list[str]]:
    splitter = ThinkingSplitter()
    deltas = [d for c in chunks for d in splitter.feed(c)] + list(splitter.flush())
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    thinking = "".join(d.text for d in deltas if isinstance(d, ThinkingDelta))
    return text, thinking, [d.text for d in deltas]


def test_splits_thinking_from_answer() -> None:
    text, thinking, _ = run(["<think>Let me", " see.</think>The answer", " is 4."])
    assert thinking == "Let me see."
    assert text == "The answer is 4."


def test_marker_split_across_chunks_is_never_shown() -> None:
    _, _, pieces = run(["Hi <th", "ink>hmm</thi", "nk> done"])
    assert all("<" not in p for p in pieces)
    assert "".join(pieces) == "Hi hmm done"


def test_text_that_only_looks_like_a_marker_is_released() -> None:
    text, thinking, _ = run(["a <thin", "g> b <"])
    assert text == "a <thing> b <"
    assert thinking == ""


def test_unclosed_thinking_is_kept_as_thinking() -> None:
    text, thinking, _ = run(["<think>still going"])
    assert (text, thinking) == ("", "still going")


@given(st.text(alphabet="ab<>/thinkx ", max_size=60), st.lists(st.integers(1, 8), max_size=20))
def test_any_chunking_gives_the_same_result(body: str, cuts: list[int]) -> None:
    chunks, rest = [], body
    for cut in cuts:
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    whole = run([body])
    split = run(chunks)
    assert split[:2] == whole[:2]


def test_stop_string_cuts_and_holds_back_prefixes() -> None:
    stops = StopStringFilter(["<|im_end|>"])
    assert stops.feed("Hello <|im") == ("Hello ", False)
    assert stops.feed("_end|> trailing") == ("", True)
    assert stops.stopped


def test_stop_string_prefix_that_does_not_complete_is_released() -> None:
    stops = StopStringFilter(["STOP"])
    assert stops.feed("ST") == ("", False)
    assert stops.feed("ART") == ("START", False)
    assert stops.flush() == ""


def test_gemma4_thought_channel_is_thinking() -> None:
    text, thinking, pieces = run(
        ["<|chan", "nel>thought", "\n", "Two plus two", " is four.<chan", "nel|>", "\n", "It is 4."]
    )
    assert thinking == "Two plus two is four."
    assert text == "It is 4."
    assert all("channel" not in p for p in pieces)


def test_gemma4_empty_thought_channel_leaves_only_the_answer() -> None:
    text, thinking, _ = run(["<|channel>thought\n<channel|>Hello!"])
    assert (text, thinking) == ("Hello!", "")


def test_newlines_inside_thinking_and_answer_are_kept() -> None:
    text, thinking, _ = run(["<think>\nstep 1\n\nstep 2\n</think>\n\nline 1\n\nline 2\n"])
    assert thinking == "step 1\n\nstep 2\n"
    assert text == "line 1\n\nline 2\n"
