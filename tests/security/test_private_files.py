"""Another user of the machine cannot read or change the app's data: after a real start,
a chat turn with an attachment and a build turn, nothing in the data dir is open to group
or others. A `build --out` folder is the user's own and keeps normal modes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gemma_chat.store import Database, Store
from tests.sse_client import iter_sse

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")

SCRIPT = """Hello there.
=== turn ===
Writing the page.
<action name="write_file">
<path>site/index.html</path>
<content>
<h1>Private</h1>
</content>
</action>
=== turn ===
Done.
"""


def open_to_others(root: Path) -> list[str]:
    """Every file or folder under `root` with a group or other permission bit."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue  # a link's own mode means nothing; its target is checked where it is
            if stat.S_IMODE(st.st_mode) & 0o077:
                found.append(f"{oct(stat.S_IMODE(st.st_mode))} {path.relative_to(root)}")
    return found


def start_cli(home: Path, model: str) -> tuple[subprocess.Popen[str], dict]:
    env = {**os.environ, "GEMMA_CHAT_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gemma_chat", "--no-browser", "--port", "0", "--model", model],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return process, json.loads((home / "server.json").read_text())
        except (OSError, ValueError):
            if process.poll() is not None:
                raise AssertionError(process.stdout.read() if process.stdout else "") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def turn(client: httpx.Client, conv: str, content: str, attachments: list[str] = ()) -> list:
    body = {"content": content, "attachments": list(attachments)}
    with client.stream("POST", f"/api/conversations/{conv}/messages", json=body) as response:
        assert response.status_code == 200, response.read()
        return list(iter_sse(response))


def test_the_data_dir_is_private_after_real_use(tmp_path: Path, replay_file) -> None:
    home = tmp_path / "home"
    # An older install: a world-readable folder and database, tightened at start.
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    Database(home / "gemma-chat.db").close()
    os.chmod(home / "gemma-chat.db", 0o644)

    process, info = start_cli(home, replay_file(SCRIPT))
    try:
        headers = {"Authorization": f"Bearer {info['token']}"}
        with httpx.Client(base_url=info["url"], headers=headers, timeout=60) as client:
            upload = client.post(
                "/api/attachments",
                files={"file": ("notes.txt", b"my secret notes\n", "text/plain")},
            )
            assert upload.status_code == 201, upload.text
            chat = client.post("/api/conversations", json={"mode": "chat"}).json()["id"]
            events = turn(client, chat, "Read my notes", [upload.json()["id"]])
            assert events[-1][0] == "turn.end" and events[-1][1]["reason"] == "stop"
            build = client.post("/api/conversations", json={"mode": "build"}).json()["id"]
            events = turn(client, build, "Make a page")
            assert events[-1][1]["reason"] == "stop", events
            assert (home / "workspaces" / build / "site" / "index.html").is_file()
            assert (home / "workspaces" / build / ".git" / "objects").is_dir()
            assert list((home / "attachments").rglob("notes.txt"))
            assert list((home / "backups").iterdir())  # the start-up backup
            assert stat.S_IMODE((home / "server.json").stat().st_mode) == 0o600
            assert open_to_others(home) == [], "while running (with -wal/-shm)"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert open_to_others(home) == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_build_out_folder_keeps_normal_modes(tmp_path: Path, replay_file) -> None:
    home, out = tmp_path / "home", tmp_path / "project"
    env = {**os.environ, "GEMMA_CHAT_HOME": str(home)}
    model = replay_file(SCRIPT.split("=== turn ===\n", 1)[1])
    command = ["build", "Make a page", "--out", str(out), "--model", model]
    done = subprocess.run(
        [sys.executable, "-m", "gemma_chat", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((out / "site" / "index.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "site").stat().st_mode) == 0o777 & ~umask
    assert open_to_others(home) == []  # the data dir stays private all the same
    assert Store(Database(home / "gemma-chat.db")).list_conversations()[1] == 1
