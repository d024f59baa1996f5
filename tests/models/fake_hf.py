"""A fake Hugging Face hub on 127.0.0.1, enough for huggingface_hub to list and download.

It serves `HEAD/GET /{repo}/resolve/{revision}/{file}` with the headers huggingface_hub
reads (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, Accept-Ranges, Range → 206)
and `GET /api/models/{repo}[/revision/{rev}]` for `HfApi.model_info`. Knobs let a test
cut a response mid-file, answer an error status, serve corrupt bytes or throttle, and
every request is recorded (Range header, bytes sent, Authorization).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

CHUNK = 16 * 1024
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_CDN = re.compile(r"^/cdn/(?P<repo>[^/]+/[^/]+)/(?P<file>.+)$")
_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    lfs: bool = True
    commit: str = ""

    def etag(self, name: str) -> str:
        data = self.files[name]
        return sha256(data) if self.lfs else git_sha1(data)


@dataclass
class Fault:
    """What to do to the next GET of file bytes: cut after N bytes, or answer `status`."""

    cut_after: int | None = None
    status: int | None = None


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    status: int = 0
    sent: int = 0
    authorization: str | None = None


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)  # consumed by file GETs, in order
    corrupt: set[str] = field(default_factory=set)  # file names served with wrong bytes
    throttle_bps: int | None = None
    redirect_host: str | None = None  # e.g. "localhost": LFS GETs redirect to a "CDN" there
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- setup --

    def add_repo(self, repo: str, files: dict[str, bytes], *, lfs: bool = True) -> str:
        commit = hashlib.sha1("\n".join([repo, *sorted(files)]).encode()).hexdigest()
        self.repos[repo] = FakeRepo(dict(files), lfs=lfs, commit=commit)
        return commit

    url: str = ""  # set by start(); kept after stop() so a test can aim at a dead hub

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection --

    def gets(self, file: str | None = None) -> list[Request]:
        """GETs of file bytes (resolve or CDN), optionally of one file."""
        with self._lock:
            found = [
                r
                for r in self.requests
                if r.method == "GET" and ("/resolve/" in r.path or r.path.startswith("/cdn/"))
            ]
        return [r for r in found if file is None or r.path.endswith("/" + file)]

    def bytes_served(self, file: str | None = None) -> int:
        return sum(r.sent for r in self.gets(file))

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.0"  # one request per connection: a cut is a closed socket

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return None

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    def _handle(self, method: str) -> None:
        path = unquote(urlparse(self.path).path)
        record = Request(
            method, path, self.headers.get("Range"), authorization=self.headers.get("Authorization")
        )
        self.fake._record(record)
        try:
            if m := _API.match(path):
                self._model_info(record, m["repo"], m["rev"])
            elif m := _RESOLVE.match(path):
                self._resolve(record, method, m["repo"], m["rev"], m["file"])
            elif m := _CDN.match(path):
                repo = self.fake.repos.get(m["repo"])
                if repo is None or m["file"] not in repo.files:
                    self._error(record, 404, "EntryNotFound")
                else:
                    self._content(record, method, repo, m["file"])
            else:
                self._error(record, 404, None)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _repo(self, record: Request, name: str, rev: str | None) -> FakeRepo | None:
        repo = self.fake.repos.get(name)
        if repo is None:
            self._error(record, 404, "RepoNotFound")
            return None
        if rev not in (None, "main", repo.commit):
            self._error(record, 404, "RevisionNotFound")
            return None
        return repo

    def _model_info(self, record: Request, name: str, rev: str | None) -> None:
        repo = self._repo(record, name, rev)
        if repo is None:
            return
        siblings = []
        for fname, data in sorted(repo.files.items()):
            item: dict[str, Any] = {"rfilename": fname, "size": len(data), "blobId": git_sha1(data)}
            if repo.lfs:
                item["lfs"] = {"sha256": sha256(data), "size": len(data), "pointerSize": 134}
            siblings.append(item)
        body = json.dumps(
            {
                "id": name,
                "modelId": name,
                "sha": repo.commit,
                "private": False,
                "siblings": siblings,
            }
        ).encode()
        record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self, record: Request, method: str, name: str, rev: str, fname: str) -> None:
        repo = self._repo(record, name, rev)
        if repo is None:
            return
        if fname not in repo.files:
            self._error(record, 404, "EntryNotFound", commit=repo.commit)
            return
        if self.fake.redirect_host and repo.lfs:
            port = self.server.server_address[1]
            record.status = 302
            self.send_response(302)
            self._file_headers(repo, fname)
            self.send_header(
                "Location", f"http://{self.fake.redirect_host}:{port}/cdn/{name}/{fname}"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._content(record, method, repo, fname)

    def _file_headers(self, repo: FakeRepo, fname: str) -> None:
        data = repo.files[fname]
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{repo.etag(fname)}"')
        if repo.lfs:
            self.send_header("X-Linked-Etag", f'"{sha256(data)}"')
            self.send_header("X-Linked-Size", str(len(data)))

    def _content(self, record: Request, method: str, repo: FakeRepo, fname: str) -> None:
        data = repo.files[fname]
        if fname in self.fake.corrupt:
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        fault = self.fake._next_fault() if method == "GET" else None
        if fault is not None and fault.status is not None:
            self._error(record, fault.status, None, commit=repo.commit)
            return
        start, end = 0, len(data) - 1
        status = 200
        if method == "GET" and (wanted := _parse_range(self.headers.get("Range"), len(data))):
            start, end = wanted
            status = 206
            if start >= len(data):
                record.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start : end + 1]
        record.status = status
        self.send_response(status)
        self._file_headers(repo, fname)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if method == "HEAD":
            return
        limit = fault.cut_after if fault is not None and fault.cut_after is not None else len(body)
        self._send_body(record, body[:limit])
        if limit < len(body):
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the client sees a body cut short

    def _send_body(self, record: Request, body: bytes) -> None:
        for i in range(0, len(body), CHUNK):
            chunk = body[i : i + CHUNK]
            self.wfile.write(chunk)
            record.sent += len(chunk)
            if self.fake.throttle_bps:
                time.sleep(len(chunk) / self.fake.throttle_bps)

    def _error(self, record: Request, status: int, code: str | None, commit: str = "") -> None:
        record.status = status
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        body = json.dumps({"error": code or "error"}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header:
        return None
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not m or (not m[1] and not m[2]):
        return None
    if not m[1]:  # suffix range: the last N bytes
        n = int(m[2])
        return max(size - n, 0), size - 1
    start = int(m[1])
    end = min(int(m[2]), size - 1) if m[2] else size - 1
    return start, end


class StaticCatalogue:
    """A catalogue of the test's own entries, pointing at the fake hub's repos."""

    def __init__(self, *entries: Any) -> None:
        self.entries = entries

    def all_entries(self) -> tuple[Any, ...]:
        return self.entries

    def find(self, model_id: str) -> Any:
        return next((e for e in self.entries if e.id == model_id.strip().lower()), None)


def make_entry(
    model_id: str,
    repo: str,
    quants: dict[str, tuple[str, bytes]],
    *,
    mmproj: tuple[str, bytes] | None = None,
    sha256s: dict[str, str] | None = None,
    builtin: bool = False,
) -> Any:
    """A CatalogueEntry whose GGUF source is `repo`, with exact sizes of the given bytes."""
    from gemma_chat.models.catalogue import (
        CatalogueEntry,
        GGUFQuant,
        GGUFSource,
        Sampling,
    )

    sha256s = sha256s or {}
    source = GGUFSource(
        repo=repo,
        quants=tuple(
            GGUFQuant(name, file, len(data), sha256s.get(name))
            for name, (file, data) in quants.items()
        ),
        mmproj=GGUFQuant("F16", mmproj[0], len(mmproj[1])) if mmproj else None,
        default_quant=next(iter(quants), "Q4_K_M"),
    )
    return CatalogueEntry(
        id=model_id,
        name=model_id.title(),
        family="test",
        params_b=0.1,
        active_params_b=None,
        modalities=("text", "image") if mmproj else ("text",),
        context_length=4096,
        sampling=Sampling(temperature=1.0, top_p=0.95, top_k=64),
        licence="Apache-2.0",
        architecture=None,
        gguf=() if builtin else (source,),
        builtin=builtin,
    )
