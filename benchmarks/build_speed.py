"""Build-mode speed: one reply that writes 2,000 small files, through the real server.

The server runs as its own process with a replay model (`replay:PATH?tps=0`, as fast as the
loop can take it) whose single reply holds 2,000 `write_file` actions in 20 folders. The
benchmark sends the message over the HTTP API and times it from the POST to the stream's
`turn.end` (every file written, the turn's version committed and diffed). Meanwhile a second
thread polls `GET /api/health` every 50 ms: its slowest answer says how long the server's
event loop was kept busy by Build work.

Targets: the turn in under 5 s; no health answer slower than 0.25 s. Both are wall-clock
figures, so a busy machine inflates them: the server's CPU time for the turn and the load
average are reported alongside, for comparing runs.

    uv run python benchmarks/build_speed.py [--files 2000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from app_process import start_app
from httpx_sse import EventSource
from report import result, write

TURN_TARGET_S = 5.0
HEALTH_TARGET_S = 0.25
POLL_S = 0.05


def reply_script(files: int) -> str:
    """One model reply: a sentence, then `files` write_file actions
    (docs/design.md#action-protocol)."""
    parts = [f"Writing {files} files.\n"]
    for i in range(files):
        parts.append(
            f'<action name="write_file">\n<path>pkg{i % 20:02d}/mod{i:04d}.js</path>\n'
            f"<content>\nexport const value{i} = {i};\n</content>\n</action>\n"
        )
    parts.append("Done.\n")
    return "".join(parts)


class HealthPoller(threading.Thread):
    """GET /api/health every POLL_S; each answer's latency (a late one shows a busy loop)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30, trust_env=False) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                client.get(f"{self.url}/api/health").raise_for_status()
                took = time.perf_counter() - started
                self.latencies.append(took)
                self.stop.wait(max(0.0, POLL_S - took))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_turn(url: str, token: str, files: int, pid: int) -> dict[str, Any]:
    """Send the message; time it to `turn.end` while the poller watches the loop."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600, trust_env=False) as client:
        conv = client.post("/api/conversations", json={"mode": "build"}).json()["id"]
        poller = HealthPoller(url)
        poller.start()
        time.sleep(3 * POLL_S)  # a few idle answers first: the baseline latency
        ended: dict[str, Any] = {}
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        body = {"content": f"Write {files} files"}
        with client.stream("POST", f"/api/conversations/{conv}/messages", json=body) as response:
            response.raise_for_status()
            oks = 0
            for sse in EventSource(response).iter_sse():
                if sse.event == "action.end":
                    oks += sse.json()["ok"]
                elif sse.event == "turn.end":
                    ended = sse.json()
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(pid)
        poller.stop.set()
        poller.join()
        listed = client.get(f"/api/conversations/{conv}/files").json()["files"]
    message = ended.get("message", {})
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "turn_s": elapsed,
        "cpu_s": cpu,
        "health_max_s": max(poller.latencies),
        "health_polls": len(poller.latencies),
        "written": oks,
        "listed": len(listed),
        "reason": ended.get("reason"),
        "version": message.get("version"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="files in the reply")
    parser.add_argument("--quick", action="store_true", help="500 files")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    files = 500 if args.quick else args.files

    with tempfile.TemporaryDirectory(prefix="build-speed-") as tmp:
        script = Path(tmp) / "reply.txt"
        script.write_text(reply_script(files), encoding="utf-8")
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        app = start_app(
            data_dir, "--model", f"replay:{script}?tps=0", env={"GEMMA_CHAT_ALLOW_REPLAY": "1"}
        )
        try:
            run = run_turn(app.url, app.token, files, app.proc.pid)
        finally:
            app.stop()

    complete = run["written"] == files == run["listed"] and run["version"] is not None
    results = [
        result(
            f"turn writing {files} files (send to turn.end)",
            run["turn_s"],
            "s",
            f"< {TURN_TARGET_S:g}",
            complete and run["turn_s"] < TURN_TARGET_S,
        ),
        result(
            "max GET /api/health latency during the turn",
            run["health_max_s"],
            "s",
            f"< {HEALTH_TARGET_S:g}",
            run["health_max_s"] < HEALTH_TARGET_S,
        ),
        # No target: wall-clock figures swing with the machine's load, this one much less.
        result("server CPU time during the turn", run["cpu_s"], "s"),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"load average {load or 0:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{files} files: {run['written']} written, {run['listed']} listed, "
        f"reason {run['reason']}, version {'recorded' if run['version'] else 'MISSING'}, "
        f"{run['health_polls']} health polls"
    )
    print(f"{'metric':<50} {'value':>9}  {'target':<8} ok")
    for row in results:
        value = "n/a" if row["value"] is None else f"{row['value']:.3f} {row['unit']}"
        ok = {True: "yes", False: "NO", None: "-"}[row["ok"]]
        print(f"{row['metric']:<50} {value:>9}  {row['target'] or '-':<8} {ok}")
    write(args.json, "build_speed", results, load_average=load, cpus=os.cpu_count())
    return 0 if all(row["ok"] is not False for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
