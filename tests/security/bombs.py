"""Upload bombs made on the spot, a server in its own process, and its peak memory.

Shared by tests/security/test_upload_bombs.py and benchmarks/upload_memory.py, so the
figures the benchmark prints are the ones the tests hold the server to.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

MB = 1024 * 1024

# ---- bombs --------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=4)
def png_pixel_bomb(width: int = 13000, height: int = 13000) -> bytes:
    """A valid RGBA PNG of transparent black: 13000×13000 is 676 MB of pixels in 657 KB."""
    row = b"\0" * (width * 4 + 1)  # filter byte + pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=1)
def _docx_parts() -> dict[str, bytes]:
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _docx_with(document_xml: Iterator[bytes], extra: tuple[str, int] | None = None) -> bytes:
    """A real docx (python-docx's own template) whose body streams from `document_xml`;
    `extra` adds a member of that many zero bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _docx_parts().items():
            if name != "word/document.xml":
                archive.writestr(name, data)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for piece in document_xml:
                member.write(piece)
        if extra is not None:
            name, size = extra
            with archive.open(name, "w", force_zip64=True) as member:
                block = b"\0" * MB
                for _ in range(size // MB):
                    member.write(block)
    return out.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _body(paragraphs: Iterator[bytes]) -> Iterator[bytes]:
    yield f'<?xml version="1.0" encoding="UTF-8"?><w:document {_W}><w:body>'.encode()
    yield from paragraphs
    yield b"</w:body></w:document>"


@functools.lru_cache(maxsize=2)
def docx_paragraph_bomb(paragraphs: int = 20_000_000) -> bytes:
    """20 M empty paragraphs: 120 MB of XML in a ~180 KB docx."""
    block = b"<w:p/>" * 100_000
    return _docx_with(_body(iter([block] * (paragraphs // 100_000))))


@functools.lru_cache(maxsize=2)
def zip_ratio_bomb(member_mb: int = 1024) -> bytes:
    """A one-line docx carrying a member of `member_mb` MB of zeros (~1000:1)."""
    line = b"<w:p><w:r><w:t>hello</w:t></w:r></w:p>"
    return _docx_with(_body(iter([line])), ("word/media/blob.bin", member_mb * MB))


def multipart_chunks(
    total: int, boundary: str = "bombboundary", filename: str = "big.txt", chunk: int = MB
) -> Iterator[bytes]:
    """A multipart/form-data body with one `file` field of `total` bytes, as chunks (sent
    without Content-Length, i.e. chunked)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        "\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    block = b"a" * chunk
    for _ in range(total // chunk):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


# ---- the server, in its own process -------------------------------------------------


@dataclass
class ServerProcess:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout)


@contextlib.contextmanager
def serve(
    data_dir: Path, model: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[ServerProcess]:
    """`gemma-chat serve` as a user runs it, on a free port; stopped on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    info_file = data_dir / "server.json"
    environment = {
        **os.environ,
        "GEMMA_CHAT_HOME": str(data_dir),
        "GEMMA_CHAT_ALLOW_REPLAY": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "gemma_chat", "serve", "--no-browser", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--model", model, "--data-dir", str(data_dir)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(info_file.read_text())
                if info.get("pid") == process.pid:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.05)
        yield ServerProcess(info["url"], info.get("token", ""), process, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


# ---- measuring ----------------------------------------------------------------------


def _reset_high_water(pid: int) -> bool:
    """Linux: reset the process's peak RSS (VmHWM) to its current RSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _high_water(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def disk_use(pid: int, folders: list[Path]) -> int:
    """Bytes in files under `folders`: those listed there, plus files the process holds
    open there that have no name (a spooled upload is often an unlinked temp file)."""
    total = 0
    prefixes = tuple(str(folder.resolve()) for folder in folders)
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, name)).st_size
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(prefixes) and target.endswith("(deleted)"):
                    total += os.stat(f"/proc/{pid}/fd/{fd}").st_size
    return total


class Peak:
    """Peak RSS of a process (and the most disk its files took in `watch`) in the block.

    RSS is sampled every 5 ms, and on Linux the kernel's own high-water mark (reset on
    entry) catches a spike between samples. `rise` is peak minus the RSS on entry.
    """

    def __init__(self, pid: int, watch: list[Path] | None = None, interval: float = 0.005) -> None:
        self.process = psutil.Process(pid)
        self.watch = watch or []
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self.disk_peak = 0
        self._hwm = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Peak:
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._hwm = _reset_high_water(self.process.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(psutil.Error, OSError):
            self.peak = max(self.peak, self.process.memory_info().rss)
            if self._hwm:
                self.peak = max(self.peak, _high_water(self.process.pid))

    @property
    def rise_mb(self) -> float:
        return (self.peak - self.baseline) / MB

    def _sample(self) -> None:
        tick = 0
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
            if self.watch and tick % 4 == 0:
                self.disk_peak = max(self.disk_peak, disk_use(self.process.pid, self.watch))
            tick += 1
            time.sleep(self.interval)
