"""Live updates when a reply writes many files: a lagging client gets one message per file,
and nobody reads files for a preview no one has open."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_chat.workspace.preview import MAX_QUEUED, PreviewServer, _Subscriber
from tests.preview.conftest import CONV


def test_a_file_typed_while_the_client_lagged_arrives_as_one_done() -> None:
    sub = _Subscriber()
    sub.push({"t": "start", "path": "a.js"})
    sub.push({"t": "delta", "path": "a.js", "text": "let a"})
    sub.push({"t": "delta", "path": "a.js", "text": " = 1;"})
    sub.push({"t": "done", "path": "a.js"})  # on disk as typed
    sub.push({"t": "start", "path": "b.css"})
    sub.push({"t": "delta", "path": "b.css", "text": "p {}"})
    sub.push({"t": "done", "path": "b.css", "text": "p { color: red }"})  # disk differs
    assert list(sub.items) == [
        {"t": "done", "path": "a.js", "text": "let a = 1;"},
        {"t": "done", "path": "b.css", "text": "p { color: red }"},
    ]


def test_a_file_the_client_has_partly_seen_is_not_collapsed() -> None:
    sub = _Subscriber()
    sub.push({"t": "start", "path": "a.js"})
    sub.items.clear()  # sent: the client has the start
    sub.push({"t": "delta", "path": "a.js", "text": "x"})
    sub.push({"t": "done", "path": "a.js"})
    assert [m["t"] for m in sub.items] == ["delta", "done"]
    other = _Subscriber()
    other.push({"t": "start", "path": "a.js"})
    other.push({"t": "start", "path": "b.js"})
    other.push({"t": "done", "path": "a.js"})  # a's start is not at the tail
    assert [m["t"] for m in other.items] == ["start", "start", "done"]


def test_a_reload_drops_what_was_queued_before_it() -> None:
    sub = _Subscriber()
    sub.push({"t": "start", "path": "a.js"})
    sub.push({"t": "delta", "path": "a.js", "text": "x"})
    sub.push({"t": "reload"})
    assert list(sub.items) == [{"t": "reload"}]


async def test_two_thousand_files_to_a_lagging_client(preview: PreviewServer, workspaces: Path):
    sub = preview._subscribe(CONV)
    try:
        folder = workspaces / CONV
        for i in range(2000):
            path, text = f"pkg/f{i}.js", f"export const v{i} = {i};"
            preview.file_started(CONV, path)
            preview.file_delta(CONV, path, text)
            (folder / "pkg").mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
            preview.file_done(CONV, path)
            assert len(sub.items) <= MAX_QUEUED
        # One message per file; past the queue's limit it starts over with a reload.
        items = list(sub.items)
        assert items[0] == {"t": "reload"}
        assert all(m["t"] == "done" for m in items[1:])
        # (the page reloads from disk anyway; after that, each done carries its text)
        assert all(m["text"].startswith("export") for m in items[2:])
        assert items[-1] == {
            "t": "done",
            "path": "pkg/f1999.js",
            "text": "export const v1999 = 1999;",
        }
    finally:
        preview._unsubscribe(CONV, sub)


async def test_nobody_watching_means_no_file_reads(
    preview: PreviewServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reads(*args: object) -> None:
        raise AssertionError("read a file no preview shows")

    monkeypatch.setattr(preview, "_read_text", no_reads)
    preview.file_started(CONV, "a.js")
    preview.file_delta(CONV, "a.js", "x")
    preview.file_done(CONV, "a.js")
    preview.end_turn(CONV)
    assert CONV not in preview._live
