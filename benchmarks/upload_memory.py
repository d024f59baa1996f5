"""Peak server memory while it takes hostile uploads (issue 10, part 5).

Each case starts `gemma-chat serve` in its own process (a replay model that claims to see
images), sends one kind of bomb, alone or four at once, and prints how far the server's
RSS rose above where it was just before (sampled every 5 ms, plus the kernel's own peak),
the HTTP answer, and, for the chunked upload, how large the temp folder grew.

Target: no case raises peak RSS by more than 300 MB.

    .venv/bin/python benchmarks/upload_memory.py [--cases png-upload,docx-upload] [--src DIR]
        [--quick] [--json PATH]

--quick runs the default cases (all but the heavy ones), as with no --cases.

`--src` runs another checkout's code (e.g. `git archive <commit> src | tar -x -C /tmp/old`
then `--src /tmp/old/src`) to compare before and after with the very same bombs.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image
from report import result, write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.security import bombs

# A case returns the peak RSS rise in MB (None where it measures none) and its line.
Case = Callable[[bombs.ServerProcess, Path], tuple[float | None, str]]
TARGET_MB = 300


def big_png(side: int = 6000) -> bytes:
    """A 36-megapixel RGBA PNG: under the pixel budget, heavy to prepare."""
    out = io.BytesIO()
    Image.new("RGBA", (side, side), (200, 30, 30, 128)).save(out, "PNG", compress_level=1)
    return out.getvalue()


def upload(server: bombs.ServerProcess, data: bytes, name: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/attachments", files={"file": (name, data)})


def send(server: bombs.ServerProcess, attachment_id: str) -> str:
    """Post a message with the attachment and read the turn to its end; the last event."""
    with server.client() as client:
        conversation = client.post("/api/conversations", json={"mode": "chat"}).json()
        body = {"content": "What is this?", "attachments": [attachment_id]}
        url = f"/api/conversations/{conversation['id']}/messages"
        last = ""
        with client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                response.read()
                return f"{response.status_code} {response.text[:120]}"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    last = line[6:].strip()
        return last


def at_once(count: int, job: Callable[[], str]) -> str:
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda _: job(), range(count)))
    return ",".join(sorted(set(results)))


def status(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:160]}"


def case_upload(data: Callable[[], bytes], name: str, count: int = 1) -> Case:
    def run(server: bombs.ServerProcess, _tmp: Path) -> tuple[float | None, str]:
        payload = data()
        with bombs.Peak(server.pid) as peak:
            answer = at_once(count, lambda: status(upload(server, payload, name)))
        return peak.rise_mb, f"{peak.rise_mb:8.0f} MB  {answer}"

    return run


def case_send(data: Callable[[], bytes], name: str, count: int = 1) -> Case:
    def run(server: bombs.ServerProcess, _tmp: Path) -> tuple[float | None, str]:
        payload = data()
        answers = [upload(server, payload, name) for _ in range(count)]
        if any(a.status_code != 201 for a in answers):
            return None, f"{'-':>8}     upload refused: {status(answers[0])}"
        ids = iter([a.json()["id"] for a in answers])
        with bombs.Peak(server.pid) as peak:
            answer = at_once(count, lambda: send(server, next(ids)))
        return peak.rise_mb, f"{peak.rise_mb:8.0f} MB  last event: {answer}"

    return run


def case_chunked(total_mb: int = 1024) -> Case:
    def run(server: bombs.ServerProcess, tmp: Path) -> tuple[float | None, str]:
        headers = {"Content-Type": "multipart/form-data; boundary=bombboundary"}
        watch = [tmp, server.data_dir]
        with bombs.Peak(server.pid, watch=watch) as peak, server.client() as client:
            try:
                response = client.post(
                    "/api/attachments",
                    content=bombs.multipart_chunks(total_mb * bombs.MB),
                    headers=headers,
                )
                answer = status(response)
            except httpx.HTTPError as exc:
                answer = f"connection closed ({type(exc).__name__})"
        disk = peak.disk_peak / bombs.MB
        return peak.rise_mb, f"{peak.rise_mb:8.0f} MB  disk peak {disk:.0f} MB  {answer}"

    return run


def case_json(total_mb: int = 256) -> Case:
    def run(server: bombs.ServerProcess, _tmp: Path) -> tuple[float | None, str]:
        body = b'{"mode": "chat", "title": "' + b"x" * (total_mb * bombs.MB) + b'"}'
        with bombs.Peak(server.pid) as peak, server.client() as client:
            try:
                answer = status(
                    client.post(
                        "/api/conversations",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                )
            except httpx.HTTPError as exc:
                answer = f"connection closed ({type(exc).__name__})"
        return peak.rise_mb, f"{peak.rise_mb:8.0f} MB  {answer[:100]}"

    return run


def case_echo(server: bombs.ServerProcess, _tmp: Path) -> tuple[float | None, str]:
    secret = "SECRET-" + "s" * 100_000
    with server.client() as client:
        response = client.post("/api/conversations", json={"mode": "chat", "title": [secret]})
    echoed = "echoes the body" if "SECRET-" in response.text else "no echo"
    return None, f"{'-':>8}     {response.status_code}, {len(response.content)} bytes, {echoed}"


CASES: dict[str, Case] = {
    "png-bomb-upload": case_upload(bombs.png_pixel_bomb, "bomb.png"),
    "png-bomb-upload-x4": case_upload(bombs.png_pixel_bomb, "bomb.png", 4),
    "png-bomb-send": case_send(bombs.png_pixel_bomb, "bomb.png"),
    "png-36mp-send": case_send(big_png, "big.png"),
    "png-36mp-send-x4": case_send(big_png, "big.png", 4),
    "docx-paragraphs-upload": case_upload(bombs.docx_paragraph_bomb, "bomb.docx"),
    "docx-paragraphs-upload-x4": case_upload(bombs.docx_paragraph_bomb, "bomb.docx", 4),
    "zip-ratio-upload": case_upload(bombs.zip_ratio_bomb, "ratio.docx"),
    "chunked-1gib-upload": case_chunked(),
    "png-36mp-upload-x4": case_upload(big_png, "big.png", 4),
    "json-256mb": case_json(),
    "422-echo": case_echo,
}
HEAVY = {"png-bomb-send-x4": case_send(bombs.png_pixel_bomb, "bomb.png", 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="comma-separated; default: all but the heavy ones")
    parser.add_argument("--src", type=Path, help="a src/ folder to run instead of this one")
    parser.add_argument(
        "--quick", action="store_true", help="the default cases (all but the heavy ones)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    everything = {**CASES, **HEAVY}
    names = args.cases.split(",") if args.cases else list(CASES)
    rises: dict[str, float | None] = {}
    env: dict[str, str] = {}
    if args.src:
        old = os.environ.get("PYTHONPATH", "")
        env["PYTHONPATH"] = os.pathsep.join([str(args.src.resolve()), old])
    print(f"{'case':28} {'peak rise':>11}  answer")
    for name in names:
        with tempfile.TemporaryDirectory(prefix="upload-memory-") as scratch:
            root = Path(scratch)
            replay = root / "replay.txt"
            replay.write_text("A picture.", encoding="utf-8")
            spec = f"replay:{replay}?modalities=image"
            tmp = root / "tmp"
            tmp.mkdir()
            case_env = {**env, "TMPDIR": str(tmp)}
            with bombs.serve(root / "data", spec, case_env) as server:
                rises[name], line = everything[name](server, tmp)
        print(f"{name:28} {line}", flush=True)
    measured = {name: rise for name, rise in rises.items() if rise is not None}
    worst = max(measured, key=lambda name: measured[name]) if measured else None
    peak = measured[worst] if worst else None
    rows = [
        result(
            "max peak RSS rise",
            peak,
            "MB",
            f"<= {TARGET_MB}",
            None if peak is None else peak <= TARGET_MB,
        )
    ]
    rows += [result(f"peak RSS rise, {name}", rise, "MB") for name, rise in measured.items()]
    write(args.json, "upload_memory", rows, cases=names, worst_case=worst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
