"""Pull GGUF models from the Hugging Face hub into the app's cache, resumably and verified.

huggingface_hub does the hub side: file metadata (`get_hf_file_metadata`), repo listings
(`HfApi.model_info`), auth headers, its HTTP session and error types. The transfer loop is
ours because `hf_hub_download` in huggingface_hub 1.x writes to a per-process temporary
file and deletes it on failure: a 5 GB model interrupted at 90 % would start from zero.
Here the partial file is `blobs/<etag>.incomplete` in the usual cache layout, so the next
pull continues it with a Range request, and the finished file lands exactly where
huggingface_hub would put it (`try_to_load_from_cache` finds it). The transfer is plain
HTTP (hub CDN URLs serve Range requests); Xet is not used, since hf_xet neither resumes a
file across runs nor stops on our cancel event.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urlparse

from gemma_chat import __version__
from gemma_chat.errors import (
    ChecksumMismatch,
    DownloadCancelled,
    DownloadError,
    InsufficientDiskSpace,
    ModelError,
)
from gemma_chat.models.installed import (
    DEFAULT_HF_QUANT,
    Catalogue,
    InstalledFile,
    InstalledModel,
    ModelRef,
    find_installed,
    models_dir,
    parse_ref,
    quant_of,
    record_installed,
    repo_dir,
)
from gemma_chat.models.progress import ProgressCallback, ProgressTracker
from gemma_chat.util.units import format_bytes

DISK_HEADROOM_BYTES = 100 * 1000**2  # left free after the download, for logs, caches, the OS
HASH_CHUNK = 4 * 1024 * 1024
RETRIES = 5  # dropped connections in a row before a pull gives up (the next pull resumes)
RETRY_PAUSE_S = 1.0
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPLIT_PART = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_PROJECTOR_PREFERENCE = ("F16", "BF16", "Q8_0")
_TRUE = {"1", "true", "yes", "on"}

DiskUsage = Callable[[Path], Any]  # like shutil.disk_usage: an object with .free


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str  # path inside the repo
    size: int
    etag: str  # the blob's name in the cache (sha256 for LFS files)
    url: str  # where the bytes come from (a CDN URL after the hub's redirect)
    sha256: str | None  # what the finished file must hash to, when known
    role: Literal["model", "mmproj"]


@dataclass(frozen=True, slots=True)
class PullPlan:
    ref: ModelRef
    repo: str
    quant: str
    revision: str
    commit: str
    files: tuple[RemoteFile, ...]

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)


# --- Environment ---------------------------------------------------------------------------


OFFLINE_MESSAGE = (
    "You're offline (or huggingface.co can't be reached). Check your connection and try again."
)
_UNREACHABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENETDOWN}
log = logging.getLogger(__name__)


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means the hub could not be reached at all: a
    name that does not resolve, a refused or impossible connection, a connect timeout."""
    import httpx

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (httpx.ConnectError, httpx.ConnectTimeout, socket.gaierror)):
            return True
        if isinstance(current, (ConnectionRefusedError, ConnectionAbortedError)):
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


def hub_endpoint(endpoint: str | None = None) -> str:
    """The explicit endpoint, else $HF_ENDPOINT now (not at import time), else the hub."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_token(token: str | bool | None = None) -> str | bool | None:
    """The explicit token, else $HF_TOKEN, else None (huggingface_hub's saved login)."""
    return token if token is not None else (os.environ.get("HF_TOKEN") or None)


def offline_mode() -> bool:
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE or bool(
        constants.HF_HUB_OFFLINE
    )


# --- Pull ----------------------------------------------------------------------------------


def pull(
    spec: str,
    data_dir: Path | None = None,
    *,
    quant: str | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    revision: str = "main",
    catalogue: Catalogue | None = None,
    disk_usage: DiskUsage = shutil.disk_usage,
) -> InstalledModel:
    """Download a catalogue model or HF GGUF repo (with its projector) and record it.

    Blocking; run it in a thread. Raises a DownloadError subclass (also reported to
    `on_progress` as phase "error") or UnknownModel.
    """
    ref = parse_ref(spec, quant=quant, catalogue=catalogue)
    tracker = ProgressTracker(ref.id, on_progress)
    try:
        tracker.set_phase("checking")
        _check_pullable(ref)
        if offline_mode():
            return _pull_offline(ref, data_dir, tracker)
        ep, tok = hub_endpoint(endpoint), hub_token(token)
        plan = plan_pull(ref, endpoint=ep, token=tok, revision=revision)
        return _execute(plan, data_dir, tracker, cancel, ep, tok, disk_usage)
    except ModelError as exc:
        tracker.set_phase("error", str(exc))
        raise


def _check_pullable(ref: ModelRef) -> None:
    if ref.kind == "path":
        raise DownloadError(f"{ref.id} is a local file; there is nothing to download")
    entry = ref.entry
    if entry is not None and entry.builtin:
        raise DownloadError(f"{entry.id} is built in; there is nothing to download")
    if entry is not None and entry.source() is None:
        hint = f": run it with mlx:{entry.mlx[0]}" if entry.mlx else ""
        raise DownloadError(f"{entry.id} has no GGUF download{hint}")


def _pull_offline(ref: ModelRef, data_dir: Path | None, tracker: ProgressTracker) -> InstalledModel:
    record = find_installed(ref, data_dir)
    models = models_dir(data_dir)
    if record is None or not all((models / f.path).is_file() for f in record.all_files()):
        raise DownloadError(f"offline mode (HF_HUB_OFFLINE) is on and {ref.id} is not downloaded")
    tracker.set_plan(record.size_bytes, len(record.all_files()))
    for f in record.all_files():
        tracker.file_done(f.name, f.size, counted=False)
    tracker.set_phase("done")
    return record


def plan_pull(
    ref: ModelRef, *, endpoint: str, token: str | bool | None, revision: str = "main"
) -> PullPlan:
    """Which files to fetch, their sizes, etags and hashes, pinned to one commit."""
    assert ref.repo is not None
    repo = ref.repo
    wanted: list[tuple[str, str | None, Literal["model", "mmproj"]]]
    with _hub_errors(repo, endpoint):
        if ref.entry is not None:
            source = ref.entry.source()
            assert source is not None
            try:
                chosen = source.quant(ref.quant)
            except KeyError as exc:
                raise DownloadError(str(exc.args[0])) from None
            wanted = [(chosen.file, chosen.sha256, "model")]
            if source.mmproj is not None:
                wanted.append((source.mmproj.file, source.mmproj.sha256, "mmproj"))
            quant, commit = chosen.name, None
        else:
            from huggingface_hub import HfApi

            info = HfApi(endpoint=endpoint, token=token).model_info(
                repo, revision=revision, files_metadata=True
            )
            siblings = {s.rfilename: s for s in info.siblings or []}
            weights, projector, quant = choose_files(repo, list(siblings), ref)
            lfs = {name: s.lfs.sha256 if s.lfs else None for name, s in siblings.items()}
            wanted = [(name, lfs[name], "model") for name in weights]
            if projector:
                wanted.append((projector, lfs[projector], "mmproj"))
            commit = info.sha
        files = []
        for name, sha256, role in wanted:
            remote, commit = _remote_file(repo, name, commit or revision, endpoint, token)
            expected = sha256 or (remote.etag if _SHA256.fullmatch(remote.etag) else None)
            files.append(replace(remote, sha256=expected, role=role))
    assert commit is not None
    return PullPlan(ref, repo, quant, revision, commit, tuple(files))


def _remote_file(
    repo: str, name: str, revision: str, endpoint: str, token: str | bool | None
) -> tuple[RemoteFile, str]:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import RemoteEntryNotFoundError

    url = hf_hub_url(repo, name, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(
            url,
            token=token,
            endpoint=endpoint,
            library_name="gemma-chat",
            library_version=__version__,
        )
    except RemoteEntryNotFoundError:
        raise DownloadError(f"{repo} has no file {name}") from None
    if not meta.commit_hash or not meta.etag:
        raise DownloadError(f"{endpoint} does not look like a Hugging Face hub (no commit/etag)")
    if meta.size is None:
        raise DownloadError(f"{endpoint} did not say how large {name} is")
    # A CDN URL when the hub redirected; for Xet-backed files the resolve URL, whose GET
    # redirects to a bridge that serves plain HTTP with Range support.
    where = meta.location if meta.xet_file_data is None else url
    return RemoteFile(name, meta.size, meta.etag, where, None, "model"), meta.commit_hash


def choose_files(repo: str, names: list[str], ref: ModelRef) -> tuple[list[str], str | None, str]:
    """The GGUF (all parts when split) a repo spec means, its projector, and the quant label."""
    ggufs = sorted(n for n in names if n.lower().endswith(".gguf"))
    projectors = [n for n in ggufs if Path(n).name.lower().startswith("mmproj")]
    weights = [n for n in ggufs if n not in projectors]
    if not weights:
        raise DownloadError(f"{repo} has no GGUF model files")
    groups: dict[str, list[str]] = {}
    for name in weights:
        groups.setdefault(_SPLIT_PART.sub("", name), []).append(name)
    available = sorted({q for n in weights if (q := quant_of(n))})
    if ref.file:
        key = _SPLIT_PART.sub("", ref.file)
        if ref.file not in names or key not in groups:
            raise DownloadError(
                f"{repo} has no GGUF file {ref.file}; its GGUF files: {', '.join(weights)}"
            )
        chosen = groups[key]
    else:
        wanted = (ref.quant or DEFAULT_HF_QUANT).upper()
        matching = [g for key, g in groups.items() if wanted in _tokens(key)]
        if matching:
            chosen = min(matching, key=lambda g: (len(g[0]), g[0]))
        elif ref.quant is None and len(groups) == 1:
            chosen = next(iter(groups.values()))
        else:
            choices = ", ".join(available) or ", ".join(weights)
            raise DownloadError(
                f"{repo} has no {wanted} GGUF; available: {choices} "
                f"(pull {repo}:QUANT or {repo}:FILE.gguf)"
            )
    label = ref.quant or quant_of(chosen[0]) or Path(chosen[0]).stem
    return chosen, _projector(projectors), label


def _tokens(name: str) -> set[str]:
    return {t.upper() for t in re.split(r"[-./]", name)}


def _projector(projectors: list[str]) -> str | None:
    for quant in _PROJECTOR_PREFERENCE:
        for name in projectors:
            if quant in _tokens(name):
                return name
    return projectors[0] if projectors else None


def _execute(
    plan: PullPlan,
    data_dir: Path | None,
    tracker: ProgressTracker,
    cancel: threading.Event | None,
    endpoint: str,
    token: str | bool | None,
    disk_usage: DiskUsage,
) -> InstalledModel:
    models = models_dir(data_dir)
    folder = repo_dir(models, plan.repo)
    done = _fetch_all(plan, models, tracker, cancel, endpoint, token, disk_usage)
    if plan.revision != plan.commit:
        refs = folder / "refs" / plan.revision
        refs.parent.mkdir(parents=True, exist_ok=True)
        refs.write_text(plan.commit)
    model_files = tuple(done[f.name] for f in plan.files if f.role == "model")
    mmproj = next((done[f.name] for f in plan.files if f.role == "mmproj"), None)
    record = InstalledModel(
        id=plan.ref.id,
        repo=plan.repo,
        quant=plan.quant,
        revision=plan.revision,
        commit=plan.commit,
        files=model_files,
        mmproj=mmproj,
        pulled_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    record_installed(record, data_dir)
    tracker.set_phase("done")
    return record


def check_disk_space(target: Path, needed: int, disk_usage: DiskUsage = shutil.disk_usage) -> None:
    """Refuse to start a download the disk cannot hold (plus some headroom)."""
    if needed <= 0:
        return
    probe = target
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = int(disk_usage(probe).free)
    if free < needed + DISK_HEADROOM_BYTES:
        raise InsufficientDiskSpace(
            f"not enough disk space: the download needs {format_bytes(needed)} "
            f"(plus {format_bytes(DISK_HEADROOM_BYTES)} headroom) but only "
            f"{format_bytes(free)} is free in {probe}"
        )


# --- One file ------------------------------------------------------------------------------


def _blob(folder: Path, remote: RemoteFile) -> Path:
    return folder / "blobs" / remote.etag


def _incomplete(folder: Path, remote: RemoteFile) -> Path:
    return folder / "blobs" / f"{remote.etag}.incomplete"


def _pointer(folder: Path, commit: str, remote: RemoteFile) -> Path:
    return folder / "snapshots" / commit / Path(*remote.name.split("/"))


def _partial_size(folder: Path, remote: RemoteFile) -> int:
    try:
        return min(_incomplete(folder, remote).stat().st_size, remote.size)
    except FileNotFoundError:
        return 0


def _fetch(
    remote: RemoteFile,
    plan: PullPlan,
    models: Path,
    tracker: ProgressTracker,
    cancel: threading.Event | None,
    headers: dict[str, str],
    endpoint: str,
) -> InstalledFile:
    """Make one file present, verified and linked into its snapshot; returns its record."""
    from huggingface_hub.utils import WeakFileLock

    folder = repo_dir(models, plan.repo)
    blob, pointer = _blob(folder, remote), _pointer(folder, plan.commit, remote)
    lock = models / ".locks" / folder.name / f"{remote.etag}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(lock):  # a second pull of the same file (CLI and server) waits here
        sha256 = remote.sha256
        if pointer.exists() or blob.exists():
            tracker.file_done(remote.name, remote.size, counted=False)
        else:
            sha256 = _transfer(remote, folder, tracker, cancel, headers, endpoint)
            tracker.file_done(remote.name, remote.size, counted=True)
        where = blob if pointer.exists() and blob.exists() else _link(blob, pointer)
    return InstalledFile(
        name=remote.name,
        path=pointer.relative_to(models).as_posix(),
        blob=where.relative_to(models).as_posix(),
        size=remote.size,
        sha256=sha256,
    )


def _transfer(
    remote: RemoteFile,
    folder: Path,
    tracker: ProgressTracker,
    cancel: threading.Event | None,
    headers: dict[str, str],
    endpoint: str,
) -> str:
    """Download (or continue) into the .incomplete file, verify, move into place."""
    partial = _incomplete(folder, remote)
    partial.parent.mkdir(parents=True, exist_ok=True)
    resume = partial.stat().st_size if partial.exists() else 0
    if resume > remote.size:  # not ours, or the file changed: start over
        partial.unlink()
        resume = 0
    tracker.start_file(remote.name, resume)
    if _host(remote.url) != _host(endpoint):  # a CDN: the hub token stays with the hub
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    with partial.open("r+b" if resume else "wb") as fh:
        fh.seek(0, os.SEEK_END)
        try:
            _stream(fh, remote, resume, headers, tracker, cancel)
        except DownloadError:
            raise
        except Exception as exc:  # httpx and HfHubHTTPError after retries, disk errors
            fh.flush()
            have = format_bytes(partial.stat().st_size)
            if is_unreachable(exc):
                log.warning("downloading %s from %s failed: %r", remote.name, remote.url, exc)
                raise DownloadError(
                    f"{OFFLINE_MESSAGE} ({have} of {remote.name} are kept; the next pull resumes.)"
                ) from exc
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DownloadError(
                f"downloading {remote.name} failed: {reason}; {have} are kept, pull again to resume"
            ) from exc
    tracker.set_phase("verifying")
    digest = _sha256(partial, cancel)
    if remote.sha256 and digest != remote.sha256.lower():
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"checksum mismatch for {remote.name}: expected sha256 {remote.sha256}, got "
            f"{digest}; the corrupt file was deleted, pull again"
        )
    os.replace(partial, _blob(folder, remote))
    return digest


def _stream(
    fh: BinaryIO,
    remote: RemoteFile,
    offset: int,
    headers: dict[str, str],
    tracker: ProgressTracker,
    cancel: threading.Event | None,
) -> None:
    """Append the rest of the file, continuing with a Range request after a dropped connection.

    huggingface_hub's http_get buffers 10 MB chunks, so on a slow link its progress and a
    cancel lag by seconds, and a cut loses the unbuffered tail; this loop writes what arrives.
    """
    import httpx
    from huggingface_hub import constants
    from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

    failures = 0
    while offset < remote.size:
        wanted = {**headers, "Range": f"bytes={offset}-"} if offset else headers
        try:
            with http_stream_backoff(
                "GET",
                remote.url,
                headers=wanted,
                timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                retry_on_exceptions=(),
                retry_on_status_codes=(408, 429),
            ) as response:
                hf_raise_for_status(response)
                if offset and response.status_code == 200:  # the server ignored Range
                    fh.seek(0)
                    fh.truncate()
                    offset = 0
                    tracker.rebase_file(0)
                for chunk in response.iter_bytes():  # as the bytes arrive
                    if cancel is not None and cancel.is_set():
                        raise _cancelled()
                    if offset + len(chunk) > remote.size:
                        raise OSError(f"the server sent more than the {remote.size} bytes expected")
                    fh.write(chunk)
                    offset += len(chunk)
                    tracker.advance(len(chunk))
                    failures = 0
            if offset < remote.size:
                raise httpx.RemoteProtocolError("the response ended early")
        except httpx.TransportError:
            failures += 1
            if failures > RETRIES:
                raise
            fh.flush()
            time.sleep(RETRY_PAUSE_S)


def _link(blob: Path, pointer: Path) -> Path:
    """Link the snapshot name to the blob, as huggingface_hub does; where the bytes now are."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink():
        pointer.unlink()  # dangling: its blob was removed
    elif pointer.exists():
        return pointer
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
        return blob
    except OSError:  # no symlinks (Windows without developer mode): move the bytes instead
        shutil.move(blob, pointer)
        return pointer


def _sha256(path: Path, cancel: threading.Event | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            if cancel is not None and cancel.is_set():
                raise _cancelled()
            digest.update(chunk)
    return digest.hexdigest()


def _cancelled() -> DownloadCancelled:
    return DownloadCancelled("download cancelled; the partial file is kept, pull again to resume")


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def _ua(token: str | bool | None) -> dict[str, str]:
    from huggingface_hub.utils import build_hf_headers

    return build_hf_headers(token=token, library_name="gemma-chat", library_version=__version__)


@contextlib.contextmanager
def _hub_errors(repo: str, endpoint: str) -> Iterator[None]:
    """Turn huggingface_hub and network exceptions into one-line DownloadErrors."""
    import httpx
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except ModelError:
        raise
    except GatedRepoError:
        raise DownloadError(
            f"{repo} is gated: accept its terms at {endpoint}/{repo} and set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise DownloadError(
            f"repository {repo} was not found on {endpoint} (if it is private, set HF_TOKEN)"
        ) from None
    except RevisionNotFoundError:
        raise DownloadError(f"{repo} has no such revision") from None
    except OfflineModeIsEnabled:
        raise DownloadError("offline mode (HF_HUB_OFFLINE) is on") from None
    except (HfHubHTTPError, httpx.HTTPError, OSError) as exc:
        if is_unreachable(exc):
            # The detail ("[Errno -2] Name or service not known") goes to the log only.
            log.warning("cannot reach %s for %s: %r", endpoint, repo, exc)
            raise DownloadError(OFFLINE_MESSAGE) from None
        if isinstance(exc, HfHubHTTPError):
            status = exc.response.status_code if exc.response is not None else "?"
            raise DownloadError(f"{endpoint} answered HTTP {status} for {repo}") from None
        if isinstance(exc, httpx.HTTPError):
            reason = str(exc) or type(exc).__name__
            raise DownloadError(f"cannot reach {endpoint}: {reason}") from None
        raise


# --- Folders of files (Whisper models for speech to text) ------------------------------


def pull_files(
    label: str,
    repo: str,
    names: tuple[str, ...],
    data_dir: Path | None = None,
    *,
    optional: tuple[str, ...] = (),
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
    revision: str = "main",
    disk_usage: DiskUsage = shutil.disk_usage,
) -> Path:
    """Download `names` (and those of `optional` the repo has) of one hub repo, resumably
    and verified like a model pull, reporting progress as `label`; returns the snapshot
    folder that holds them (a CTranslate2 Whisper model, for instance).

    Blocking; run it in a thread. Raises a DownloadError subclass (also reported to
    `on_progress` as phase "error").
    """
    tracker = ProgressTracker(label, on_progress)
    try:
        tracker.set_phase("checking")
        models = models_dir(data_dir)
        if offline_mode():
            snapshots = sorted((repo_dir(models, repo) / "snapshots").glob("*"))
            ready = [s for s in snapshots if all((s / n).is_file() for n in names)]
            if not ready:
                raise DownloadError(
                    f"offline mode (HF_HUB_OFFLINE) is on and {label} is not downloaded"
                )
            tracker.set_phase("done")
            return ready[-1]
        ep, tok = hub_endpoint(endpoint), hub_token(token)
        with _hub_errors(repo, ep):
            from huggingface_hub import HfApi

            info = HfApi(endpoint=ep, token=tok).model_info(
                repo, revision=revision, files_metadata=True
            )
            listed = {s.rfilename: s for s in info.siblings or []}
            missing = [n for n in names if n not in listed]
            if missing:
                raise DownloadError(f"{repo} has no {', '.join(missing)}")
            wanted = [*names, *(n for n in optional if n in listed)]
            commit = info.sha
            files = []
            for name in wanted:
                remote, commit = _remote_file(repo, name, commit or revision, ep, tok)
                lfs = listed[name].lfs
                expected = lfs.sha256 if lfs else None
                expected = expected or (remote.etag if _SHA256.fullmatch(remote.etag) else None)
                files.append(replace(remote, sha256=expected))
        assert commit is not None
        plan = PullPlan(
            ModelRef(id=label, kind="hf", repo=repo), repo, "", revision, commit, tuple(files)
        )
        _fetch_all(plan, models, tracker, cancel, ep, tok, disk_usage)
        tracker.set_phase("done")
        return repo_dir(models, repo) / "snapshots" / commit
    except ModelError as exc:
        tracker.set_phase("error", str(exc))
        raise


def _fetch_all(
    plan: PullPlan,
    models: Path,
    tracker: ProgressTracker,
    cancel: threading.Event | None,
    endpoint: str,
    token: str | bool | None,
    disk_usage: DiskUsage,
) -> dict[str, InstalledFile]:
    """Every file of `plan`, resumed and verified, after checking the disk can hold what is
    still missing; shared by model pulls and `pull_files`."""
    folder = repo_dir(models, plan.repo)
    tracker.set_plan(plan.total, len(plan.files))
    needed = sum(
        f.size - _partial_size(folder, f)
        for f in plan.files
        if not _blob(folder, f).exists() and not _pointer(folder, plan.commit, f).exists()
    )
    check_disk_space(models, needed, disk_usage)
    headers = _ua(token)
    done: dict[str, InstalledFile] = {}
    for remote in plan.files:
        if cancel is not None and cancel.is_set():
            raise _cancelled()
        done[remote.name] = _fetch(remote, plan, models, tracker, cancel, headers, endpoint)
    return done
