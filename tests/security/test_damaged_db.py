"""A damaged database: a short message naming the file and the ways out (never a traceback),
JSON errors at run time, the rolling backup, and both ways out working end to end."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from gemma_chat.server.sse import event_stream
from gemma_chat.store import Database, Store
from gemma_chat.store.backup import (
    BackupError,
    backup_if_due,
    list_backups,
    take_backup,
)

PAGE = 4096  # SQLite's default page size, which the store keeps


def make_db(path: Path, n: int = 300) -> list[str]:
    """A real database with conversations; returns their titles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    store = Store(db)
    titles = []
    for i in range(n):
        conversation = store.create_conversation("chat", "embedded", f"Conversation {i}")
        store.add_message(conversation.id, "user", "hello " * 50)
        titles.append(conversation.title)
    db.close()  # checkpoints the WAL into the file
    return titles


def damage_pages(path: Path) -> None:
    """Overwrite bytes in every third page but the schema's: it opens, but reads fail.

    The schema spans several pages (the search index's tables and triggers), wherever
    SQLite put them; damage there would stop the database opening at all."""
    with closing(sqlite3.connect(path)) as conn:
        schema = {
            p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")
        }
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // PAGE + 1, 3):
        if page not in schema:
            offset = (page - 1) * PAGE
            data[offset : offset + 200] = b"\xa5" * 200
    path.write_bytes(bytes(data))


def garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(64 * 1024))


def truncated(path: Path) -> None:
    make_db(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def page_damage(path: Path) -> None:
    make_db(path)
    damage_pages(path)


def newer_schema(path: Path) -> None:
    make_db(path, n=1)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")


DAMAGE = {
    "garbage": garbage,
    "truncated": truncated,
    "page-damage": page_damage,
    "newer-schema": newer_schema,
}


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real `gemma-chat` in a process of its own."""
    env = {**os.environ, "GEMMA_CHAT_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "gemma_chat", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_short_message(done: subprocess.CompletedProcess[str], db: Path) -> None:
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Traceback" not in out, out
    assert str(db) in out, out
    assert "gemma-chat repair" in out, out
    assert len(out.strip().splitlines()) <= 6, out


@pytest.mark.parametrize("kind", DAMAGE)
def test_start_up_with_a_damaged_database_says_which_file_and_the_way_out(
    tmp_path: Path, kind: str
) -> None:
    home = tmp_path / "home"
    db = home / "gemma-chat.db"
    DAMAGE[kind](db)
    before = db.read_bytes()
    done = cli(home, "--no-browser", "--port", "0")
    assert_short_message(done, db)
    if kind == "newer-schema":  # a sound file: SQLite may touch its header, never its data
        assert "newer Gemma Chat" in done.stderr
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 999
    else:
        assert db.read_bytes() == before  # nothing changed behind the user's back
    assert not (home / "server.json").exists()  # no server started


@pytest.mark.parametrize("command", [["chat", "hi"], ["build", "a page", "--out", "OUT"]])
def test_chat_and_build_check_the_database_first(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "home"
    garbage(home / "gemma-chat.db")
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    assert_short_message(cli(home, *args), home / "gemma-chat.db")


def test_runtime_damage_answers_json_naming_the_file(start_server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_db(data / "gemma-chat.db", n=300)
    damage_pages(data / "gemma-chat.db")  # opens fine; lists and writes fail
    server = start_server(data_dir=data)
    with server.client() as client:
        for method, path, body in [
            ("GET", "/api/conversations", None),
            ("POST", "/api/conversations", {"mode": "chat"}),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/json")
            detail = response.json()["detail"]
            assert str(data / "gemma-chat.db") in detail and "gemma-chat repair" in detail


@pytest.mark.slow
def test_an_unexpected_error_keeps_the_json_shape(start_server) -> None:
    server = start_server()

    async def boom() -> None:
        raise ValueError("something odd")

    server.server.config.app.add_api_route("/api/boom", boom)  # a real route that fails
    with server.client() as client:
        response = client.get("/api/boom")
    assert response.status_code == 500
    assert "ValueError" in response.json()["detail"]


def test_a_stream_that_fails_midway_ends_with_an_error_event() -> None:
    async def events():
        yield "text", {"text": "partial"}
        raise sqlite3.DatabaseError("database disk image is malformed")

    async def read() -> bytes:
        response = event_stream(events())
        return b"".join([chunk async for chunk in response.body_iterator])

    body = asyncio.run(read()).decode()
    assert body.startswith("event: text")
    assert body.rstrip().splitlines()[-2] == "event: error"
    assert "malformed" in body


def test_backups_are_verified_rotated_and_private(tmp_path: Path) -> None:
    db = tmp_path / "gemma-chat.db"
    make_db(db, n=5)
    backups = tmp_path / "backups"
    first = backup_if_due(db, backups)
    assert first is not None and backup_if_due(db, backups) is None  # one a day
    taken = [first]
    for _ in range(4):
        time.sleep(0.01)
        taken.append(take_backup(db, backups))
    assert list_backups(backups) == taken[::-1][:3]  # the newest 3, oldest pruned first
    for backup in list_backups(backups):
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as conn:
            assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 5
    damage_pages(db)
    with pytest.raises(BackupError):
        take_backup(db, backups)
    assert list_backups(backups) == taken[::-1][:3]  # a bad copy never rotates good ones out
    assert not [p for p in backups.iterdir() if p.suffix != ".db"]  # no partial left


def test_move_aside_then_start_fresh(tmp_path: Path, replay_file) -> None:
    home = tmp_path / "home"
    db = home / "gemma-chat.db"
    garbage(db)
    damaged = db.read_bytes()
    done = cli(home, "repair")
    assert done.returncode == 0, done.stderr
    kept = list(home.glob("gemma-chat.db.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    done = cli(home, "chat", "hello", "--model", replay_file("Fresh start."))
    assert done.returncode == 0, done.stderr
    assert "Fresh start." in done.stdout


def test_restore_the_automatic_backup(tmp_path: Path, replay_file) -> None:
    home = tmp_path / "home"
    db = home / "gemma-chat.db"
    titles = make_db(db, n=300)
    model = replay_file("Hi.")
    assert cli(home, "chat", "hello", "--model", model).returncode == 0  # start-up: backup
    assert len(list_backups(home / "backups")) == 1
    damage_pages(db)
    done = cli(home, "chat", "hello again", "--model", model)
    assert_short_message(done, db)
    assert "--restore-backup" in done.stderr

    done = cli(home, "repair", "--restore-backup")
    assert done.returncode == 0, done.stderr
    assert list(home.glob("gemma-chat.db.damaged-*"))  # the damaged one is kept
    restored = Store(Database(db))
    found = {c.title for c in restored.list_conversations(limit=1000)[0]}
    assert set(titles) <= found
    assert cli(home, "chat", "and now?", "--model", model).returncode == 0
