"""Pulls against a fake Hugging Face hub on loopback: progress, resume, checksums, disk, offline."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from gemma_chat.errors import (
    ChecksumMismatch,
    DownloadCancelled,
    DownloadError,
    InsufficientDiskSpace,
    ModelNotInstalled,
)
from gemma_chat.models import download, installed
from gemma_chat.models.download import pull
from gemma_chat.models.installed import list_installed, resolve
from gemma_chat.models.progress import DownloadProgress
from tests.models.fake_hf import FakeHub, Fault, StaticCatalogue, make_entry

REPO = "acme/tiny-GGUF"
MODEL = os.urandom(1_500_000)
Q8 = os.urandom(400_000)
PROJECTOR = os.urandom(120_000)
FILES = {
    "tiny-Q4_K_M.gguf": MODEL,
    "tiny-Q8_0.gguf": Q8,
    "mmproj-tiny-f16.gguf": PROJECTOR,
    "README.md": b"# tiny\n",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    for name in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    with FakeHub() as fake:
        fake.add_repo(REPO, FILES)
        yield fake


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def catalogue() -> StaticCatalogue:
    entry = make_entry(
        "tiny-1b",
        REPO,
        {"Q4_K_M": ("tiny-Q4_K_M.gguf", MODEL), "Q8_0": ("tiny-Q8_0.gguf", Q8)},
        mmproj=("mmproj-tiny-f16.gguf", PROJECTOR),
    )
    return StaticCatalogue(entry, make_entry("built-in", "", {}, builtin=True))


def incomplete_files(data_dir: Path) -> list[Path]:
    return list((data_dir / "models").rglob("*.incomplete"))


def test_pull_by_catalogue_id_reports_progress_and_fetches_the_projector(
    hub: FakeHub, data_dir: Path, catalogue: StaticCatalogue
) -> None:
    hub.throttle_bps = 2_000_000  # ~0.8 s, so several progress events go out
    events: list[DownloadProgress] = []
    started = time.monotonic()
    record = pull(
        "tiny-1b", data_dir, endpoint=hub.url, catalogue=catalogue, on_progress=events.append
    )
    elapsed = time.monotonic() - started

    assert record.id == "tiny-1b" and record.quant == "Q4_K_M"
    assert record.mmproj is not None and record.mmproj.name == "mmproj-tiny-f16.gguf"
    resolved = resolve("tiny-1b", data_dir, catalogue=catalogue)
    assert resolved.path.read_bytes() == MODEL
    assert resolved.mmproj is not None and resolved.mmproj.read_bytes() == PROJECTOR
    assert resolved.entry is catalogue.entries[0]

    total = len(MODEL) + len(PROJECTOR)
    counts = [e.downloaded for e in events]
    assert counts == sorted(counts), "bytes never go backwards"
    assert events[0].phase == "checking"
    assert {"downloading", "verifying"} <= {e.phase for e in events}
    assert all(e.total == total for e in events if e.phase == "downloading")
    final = events[-1]
    assert final.phase == "done" and final.downloaded == final.total == total
    assert final.files_done == final.files_total == 2
    moving = [e for e in events if e.phase == "downloading"]
    assert len(moving) <= elapsed * 10 + 2 * 2 + 2, "at most ~10 events a second"
    assert any(e.bytes_per_s > 0 and e.eta_s is not None for e in moving)
    payload = json.loads(json.dumps(final.as_dict()))
    assert {"file", "phase", "downloaded", "total", "bytes_per_s", "eta_s"} <= payload.keys()
    assert {"files_done", "files_total"} <= payload.keys()


def test_a_cut_connection_resumes_with_a_range_request(hub: FakeHub, data_dir: Path) -> None:
    hub.faults = [Fault(cut_after=600_000)]
    record = pull(REPO, data_dir, endpoint=hub.url)

    gets = hub.gets("tiny-Q4_K_M.gguf")
    assert [g.range for g in gets] == [None, "bytes=600000-"]
    assert gets[1].status == 206 and gets[1].sent == len(MODEL) - 600_000
    assert hub.bytes_served("tiny-Q4_K_M.gguf") == len(MODEL), "no byte fetched twice"
    assert record.files[0].sha256 == sha(MODEL)
    assert resolve(f"hf:{REPO}", data_dir).path.read_bytes() == MODEL


def test_an_interrupted_pull_is_resumed_by_the_next_one(hub: FakeHub, data_dir: Path) -> None:
    hub.faults = [Fault(cut_after=700_000), Fault(status=503)]
    with pytest.raises(DownloadError, match="pull again to resume"):
        pull(REPO, data_dir, endpoint=hub.url)
    [partial] = incomplete_files(data_dir)
    assert partial.stat().st_size == 700_000
    assert list_installed(data_dir) == []

    record = pull(REPO, data_dir, endpoint=hub.url)
    last = hub.gets("tiny-Q4_K_M.gguf")[-1]
    assert last.range == "bytes=700000-" and last.sent == len(MODEL) - 700_000
    assert record.files[0].sha256 == sha(MODEL)
    assert incomplete_files(data_dir) == []


def test_cancel_keeps_the_partial_file_and_the_next_pull_resumes(
    hub: FakeHub, data_dir: Path
) -> None:
    hub.throttle_bps = 2_000_000
    cancel = threading.Event()
    events: list[DownloadProgress] = []

    def watch(event: DownloadProgress) -> None:
        events.append(event)
        if event.downloaded >= 300_000:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        pull(REPO, data_dir, endpoint=hub.url, cancel=cancel, on_progress=watch)
    assert events[-1].phase == "error" and "resume" in events[-1].message
    [partial] = incomplete_files(data_dir)
    kept = partial.stat().st_size
    assert 0 < kept < len(MODEL)

    hub.throttle_bps = None
    record = pull(REPO, data_dir, endpoint=hub.url)
    assert hub.gets("tiny-Q4_K_M.gguf")[-1].range == f"bytes={kept}-"
    assert record.files[0].sha256 == sha(MODEL)


def test_corrupt_bytes_fail_the_checksum_and_leave_nothing(hub: FakeHub, data_dir: Path) -> None:
    hub.corrupt = {"tiny-Q4_K_M.gguf"}
    events: list[DownloadProgress] = []
    with pytest.raises(ChecksumMismatch, match=r"checksum mismatch for tiny-Q4_K_M\.gguf"):
        pull(REPO, data_dir, endpoint=hub.url, on_progress=events.append)
    assert events[-1].phase == "error" and "checksum mismatch" in events[-1].message
    blobs = data_dir / "models" / "models--acme--tiny-GGUF" / "blobs"
    assert not (blobs / sha(MODEL)).exists()
    assert incomplete_files(data_dir) == []
    assert list_installed(data_dir) == []
    with pytest.raises(ModelNotInstalled):
        resolve(f"hf:{REPO}", data_dir)


def test_the_catalogue_sha256_is_checked_too(hub: FakeHub, data_dir: Path) -> None:
    wrong = make_entry(
        "tiny-1b", REPO, {"Q8_0": ("tiny-Q8_0.gguf", Q8)}, sha256s={"Q8_0": "0" * 64}
    )
    with pytest.raises(ChecksumMismatch, match="expected sha256 0000"):
        pull("tiny-1b", data_dir, endpoint=hub.url, catalogue=StaticCatalogue(wrong))
    assert incomplete_files(data_dir) == [] and list_installed(data_dir) == []


def test_a_full_disk_stops_the_pull_before_any_byte(hub: FakeHub, data_dir: Path) -> None:
    def full(path: Path) -> SimpleNamespace:
        assert path.exists()
        return SimpleNamespace(total=10**9, used=10**9 - 5_000, free=5_000)

    with pytest.raises(InsufficientDiskSpace) as caught:
        pull(REPO, data_dir, endpoint=hub.url, disk_usage=full)
    message = str(caught.value)
    assert "needs 1.6 MB" in message and "5 kB is free" in message
    assert hub.gets() == []


def test_a_downloaded_model_resolves_with_the_hub_gone(
    hub: FakeHub, data_dir: Path, catalogue: StaticCatalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    pull("tiny-1b", data_dir, endpoint=hub.url, catalogue=catalogue)
    hub.stop()
    resolved = resolve("tiny-1b", data_dir, catalogue=catalogue)
    assert resolved.path.read_bytes() == MODEL

    # A pull of something already here succeeds offline without the network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert pull("tiny-1b", data_dir, endpoint=hub.url, catalogue=catalogue).quant == "Q4_K_M"
    with pytest.raises(DownloadError, match="offline"):
        pull("tiny-1b", data_dir, quant="Q8_0", endpoint=hub.url, catalogue=catalogue)

    # The files sit in huggingface_hub's cache layout: its own lookup finds them even
    # without our manifest.
    (data_dir / "models" / "installed.json").unlink()
    again = resolve("tiny-1b", data_dir, catalogue=catalogue)
    assert again.path.read_bytes() == MODEL and again.installed is None
    assert again.mmproj is not None and again.mmproj.read_bytes() == PROJECTOR


def test_pull_an_hf_repo_by_quant_file_or_default(hub: FakeHub, data_dir: Path) -> None:
    q8 = pull(f"{REPO}:Q8_0", data_dir, endpoint=hub.url)
    assert q8.id == f"hf:{REPO}" and q8.quant == "Q8_0" and q8.spec == f"hf:{REPO}:Q8_0"
    assert q8.mmproj is not None  # the repo's projector comes along
    assert resolve(f"hf:{REPO}:Q8_0", data_dir).path.read_bytes() == Q8

    default = pull(REPO, data_dir, endpoint=hub.url)
    assert default.quant == "Q4_K_M"
    by_file = pull(f"hf:{REPO}:tiny-Q8_0.gguf", data_dir, endpoint=hub.url)
    assert by_file.files == q8.files
    assert hub.bytes_served("tiny-Q8_0.gguf") == len(Q8), "already there: not fetched again"
    assert hub.bytes_served("mmproj-tiny-f16.gguf") == len(PROJECTOR)
    # Without a quant, the default one is what runs.
    assert resolve(REPO, data_dir).path.read_bytes() == MODEL


def test_split_gguf_files_are_pulled_together(hub: FakeHub, data_dir: Path) -> None:
    parts = {f"big-Q4_K_M-0000{i}-of-00003.gguf": os.urandom(50_000) for i in (1, 2, 3)}
    hub.add_repo("acme/big-GGUF", {**parts, "big-Q8_0.gguf": b"x" * 10})
    record = pull("acme/big-GGUF", data_dir, endpoint=hub.url)
    assert [f.name for f in record.files] == sorted(parts)
    resolved = resolve("hf:acme/big-GGUF", data_dir)
    assert resolved.path.name == "big-Q4_K_M-00001-of-00003.gguf"
    assert sorted(p.name for p in resolved.path.parent.iterdir()) == sorted(parts)


def test_repo_errors_are_one_clear_line(hub: FakeHub, data_dir: Path) -> None:
    with pytest.raises(DownloadError, match="acme/missing was not found"):
        pull("acme/missing", data_dir, endpoint=hub.url)
    with pytest.raises(DownloadError, match=r"has no IQ1_S GGUF; available: Q4_K_M, Q8_0"):
        pull(f"{REPO}:IQ1_S", data_dir, endpoint=hub.url)
    hub.add_repo("acme/multi", {"a-Q5_K_S.gguf": b"a", "a-Q6_K.gguf": b"b"})
    with pytest.raises(DownloadError, match="no Q4_K_M GGUF; available: Q5_K_S, Q6_K"):
        pull("acme/multi", data_dir, endpoint=hub.url)


def test_built_in_and_local_models_have_nothing_to_pull(
    data_dir: Path, catalogue: StaticCatalogue, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="built in"):
        pull("built-in", data_dir, catalogue=catalogue)
    local = tmp_path / "mine.gguf"
    local.write_bytes(b"GGUF")
    with pytest.raises(DownloadError, match="local file"):
        pull(str(local), data_dir, catalogue=catalogue)


def test_hf_endpoint_and_token_come_from_the_environment(
    hub: FakeHub, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.redirect_host = "localhost"  # LFS bytes come from a "CDN" on another host name
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    record = pull(f"{REPO}:Q8_0", data_dir)
    assert record.files[0].sha256 == sha(Q8)
    heads = [r for r in hub.requests if r.method == "HEAD"]
    assert heads and all(r.authorization == "Bearer hf_test_token" for r in heads)
    cdn = hub.gets("tiny-Q8_0.gguf")
    assert cdn and all(r.path.startswith("/cdn/") and r.authorization is None for r in cdn)


def test_a_second_pull_of_a_complete_model_downloads_nothing(
    hub: FakeHub, data_dir: Path, catalogue: StaticCatalogue
) -> None:
    pull("tiny-1b", data_dir, endpoint=hub.url, catalogue=catalogue)
    served = hub.bytes_served()
    events: list[DownloadProgress] = []
    pull("tiny-1b", data_dir, endpoint=hub.url, catalogue=catalogue, on_progress=events.append)
    assert hub.bytes_served() == served
    assert events[-1].phase == "done" and events[-1].downloaded == events[-1].total
    assert len(installed.list_installed(data_dir)) == 1
