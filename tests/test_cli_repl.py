"""`gemma-chat chat` as a person uses it: in a real terminal (a pseudo-terminal here)."""

import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemma_chat.store import Database, Store
from tests.pty_terminal import CTRL_C, CTRL_D, CTRL_R, ENTER, UP, Terminal, plain

PROMPT = "› "
HISTORY_FILE = "chat-history"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator:
    opened: list[Terminal] = []

    def open_(*args: str, data_dir: Path | None = None) -> Terminal:
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
        env.update(GEMMA_CHAT_HOME=str(data_dir or tmp_path / "data"), TERM="xterm-256color")
        term = Terminal([sys.executable, "-m", "gemma_chat", *args], env)
        opened.append(term)
        return term

    yield open_
    for term in opened:
        term.close()


def ask(term: Terminal, line: str) -> None:
    term.expect(PROMPT)
    term.send(line + ENTER)


def test_up_recalls_the_last_line_and_history_outlives_the_process(
    terminal, replay_file, tmp_path
) -> None:
    spec = replay_file("First answer.\n=== turn ===\nSecond answer.")
    term = terminal("chat", "--model", spec)
    ask(term, "what is a hedgehog")
    term.expect("First answer.")
    term.expect(PROMPT)
    term.skip()
    term.send(UP)
    term.expect("what is a hedgehog")  # the line is back, ready to edit
    term.send(ENTER)
    term.expect("Second answer.")
    term.expect(PROMPT)
    term.send(CTRL_D)
    assert term.wait() == 0
    assert "^[[A" not in plain(term.text(0))

    history = tmp_path / "data" / HISTORY_FILE
    assert "what is a hedgehog" in history.read_text(encoding="utf-8")
    assert stat.S_IMODE(history.stat().st_mode) == 0o600

    again = terminal("chat", "--model", replay_file("Third answer."))
    again.expect(PROMPT)
    again.skip()
    again.send(UP)
    again.expect("what is a hedgehog")  # from the previous run
    again.send(CTRL_C)  # clears the line
    again.expect(PROMPT)
    again.skip()
    again.send(CTRL_R + "hedge")  # reverse search
    again.expect("what is a hedgehog")
    again.send(ENTER + ENTER)  # the first ends the search, the second sends the line
    again.expect("Third answer.")
    again.expect(PROMPT)
    again.send(CTRL_D)
    assert again.wait() == 0


def test_ctrl_c_at_the_prompt_clears_the_line_and_nothing_is_lost(
    terminal, replay_file, tmp_path
) -> None:
    spec = replay_file("Answer to the real question.")
    term = terminal("chat", "--model", spec)
    term.expect(PROMPT)
    term.send("half a thought")
    term.expect("half a thought")
    term.send(CTRL_C)  # clears the line
    term.expect("Ctrl\\+D or /exit to quit")
    for _ in range(20):  # more on an empty line do not quit either, at the prompt or
        term.send(CTRL_C)  # in the moment between two prompts
        time.sleep(0.003)
    ask(term, "the real question")
    term.expect("Answer to the real question.")
    term.expect(PROMPT)
    assert term.alive()
    term.send("/exit" + ENTER)
    assert term.wait() == 0
    # What was cleared was never sent; what came after was, and was answered.
    store = Store(Database(tmp_path / "data" / "gemma-chat.db"))
    conversations, _ = store.list_conversations()
    sent = [(m.role, m.content) for c in conversations for m in store.list_messages(c.id)]
    assert sent == [("user", "the real question"), ("assistant", "Answer to the real question.")]


def test_replies_are_rendered_as_markdown(terminal, replay_file) -> None:
    spec = replay_file("Here is **strong stuff**:\n\n- first item\n- second item\n")
    term = terminal("chat", "--model", spec)
    ask(term, "show me")
    term.expect("second item")
    term.expect(PROMPT)
    screen = term.text(0)
    assert "**" not in plain(screen)
    assert "\x1b[1mstrong stuff" in screen  # bold, by the terminal's own means
    assert "•" in plain(screen)  # a list bullet, not a bare '-'
    term.send(CTRL_D)
    assert term.wait() == 0


def test_ctrl_c_mid_reply_stops_it_and_the_prompt_comes_back(
    terminal, replay_file, tmp_path
) -> None:
    slow = " ".join(f"word{i}" for i in range(200))
    spec = replay_file(f"{slow}\n=== turn ===\nQuick answer.", tps=10)
    term = terminal("chat", "--model", spec)
    ask(term, "talk for a while")
    term.expect("word2")
    term.send("now")  # typed during the reply, before Ctrl+C: kept for the prompt
    term.send(CTRL_C)
    term.expect("stopped")
    term.expect(PROMPT)
    assert "word150" not in plain(term.text(0))
    term.send(" briefly" + ENTER)
    term.expect("Quick answer.")
    term.expect(PROMPT)
    assert term.alive()
    term.send(CTRL_D)
    assert term.wait() == 0
    store = Store(Database(tmp_path / "data" / "gemma-chat.db"))
    (conversation,), _ = store.list_conversations()
    sent = [m.content for m in store.list_messages(conversation.id) if m.role == "user"]
    assert sent == ["talk for a while", "now briefly"]


def test_the_banner_names_the_model_and_help_lists_the_commands(terminal, replay_file) -> None:
    term = terminal("chat", "--model", replay_file("ok"))
    term.expect(r"Replay \(replay-\d+\.txt\)")
    term.expect("/help")
    ask(term, "/help")
    term.expect("/new")
    term.expect("/model")
    term.expect("/exit")
    term.expect(PROMPT)
    term.send(CTRL_D)
    assert term.wait() == 0


def test_a_one_shot_answer_in_a_terminal_is_rendered_too(terminal, replay_file) -> None:
    term = terminal("chat", "show me", "--model", replay_file("A **loud** word.\n\n1. one\n"))
    assert term.wait() == 0
    screen = term.text(0)
    assert "\x1b[1mloud" in screen and "**" not in plain(screen)


def test_keys_typed_during_a_reply_wait_for_the_prompt(terminal, replay_file) -> None:
    spec = replay_file("one two three four five six seven\n=== turn ===\nSecond.", tps=8)
    term = terminal("chat", "--model", spec)
    ask(term, "count")
    term.expect("two")
    term.send("typed ahead" + ENTER)  # while the reply streams
    term.expect("seven")
    term.expect("Second.")  # it was sent once the prompt came back
    reply = plain(term.text(0))
    assert "typed ahead" not in reply[: reply.index("seven")]  # not echoed over the reply
    term.expect(PROMPT)
    ask(term, "more")  # the replay has run out: an empty reply
    term.send(CTRL_D)  # typed ahead too: still quits
    assert term.wait() == 0


def test_model_switches_the_conversation_and_a_bad_spec_keeps_the_current_one(
    terminal, replay_file, tmp_path
) -> None:
    first, second = replay_file("From the first."), replay_file("From the second.")
    term = terminal("chat", "--model", first)
    ask(term, "/model")
    term.expect(r"Model: Replay \(replay-\d+\.txt\)")
    ask(term, "/model bogus")
    term.expect("Unknown model spec")
    ask(term, f"/model {second}")
    term.expect(r"Now chatting with Replay \(replay-\d+\.txt\)")
    ask(term, "hello")
    term.expect("From the second.")
    ask(term, "/frobnicate")
    term.expect("Unknown command /frobnicate")
    term.expect(PROMPT)
    term.send(CTRL_D)
    assert term.wait() == 0
    store = Store(Database(tmp_path / "data" / "gemma-chat.db"))
    (conversation,), _ = store.list_conversations()
    assert conversation.model == second
