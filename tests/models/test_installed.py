"""The installed-model manifest: spec parsing, resolve (offline), removal, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gemma_chat.errors import (
    ManifestError,
    ModelLoadError,
    ModelNotInstalled,
    UnknownModel,
    UnknownModelSpec,
)
from gemma_chat.models import download
from gemma_chat.models.download import pull
from gemma_chat.models.installed import list_installed, parse_ref, quant_of, remove, resolve
from tests.models.fake_hf import FakeHub, StaticCatalogue, make_entry

REPO = "acme/tiny-GGUF"
Q4 = os.urandom(200_000)
Q8 = os.urandom(300_000)
PROJECTOR = os.urandom(50_000)
ENTRY = make_entry(
    "tiny-1b",
    REPO,
    {"Q4_K_M": ("tiny-Q4_K_M.gguf", Q4), "Q8_0": ("tiny-Q8_0.gguf", Q8)},
    mmproj=("mmproj-tiny-f16.gguf", PROJECTOR),
)
CATALOGUE = StaticCatalogue(ENTRY, make_entry("built-in", "", {}, builtin=True))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with FakeHub() as fake:
        fake.add_repo(
            REPO,
            {"tiny-Q4_K_M.gguf": Q4, "tiny-Q8_0.gguf": Q8, "mmproj-tiny-f16.gguf": PROJECTOR},
        )
        yield fake


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("gemma-3-4b-it-Q4_K_M.gguf", "Q4_K_M"),
        ("model.q8_0.gguf", "Q8_0"),
        ("gemma-3-4b-it-UD-IQ4_XS.gguf", "IQ4_XS"),
        ("Q5_K_M/big-Q5_K_M-00001-of-00002.gguf", "Q5_K_M"),
        ("mmproj-model-f16.gguf", "F16"),
        ("model.gguf", None),
    ],
)
def test_quant_of_reads_the_file_name(name: str, quant: str | None) -> None:
    assert quant_of(name) == quant


def test_parse_ref_knows_every_kind_of_spec(tmp_path: Path) -> None:
    ref = parse_ref("tiny-1b", catalogue=CATALOGUE)
    assert (ref.kind, ref.id, ref.repo, ref.quant, ref.entry) == (
        "catalogue",
        "tiny-1b",
        REPO,
        None,
        ENTRY,
    )
    assert parse_ref("tiny-1b:q8_0", catalogue=CATALOGUE).quant == "Q8_0"
    assert parse_ref("tiny-1b", quant="q8_0", catalogue=CATALOGUE).quant == "Q8_0"

    for spec in ("owner/repo", "hf:owner/repo"):
        ref = parse_ref(spec, catalogue=CATALOGUE)
        assert (ref.kind, ref.id, ref.repo, ref.quant, ref.file) == (
            "hf",
            "hf:owner/repo",
            "owner/repo",
            None,
            None,
        )
    assert parse_ref("owner/repo:q8_0", catalogue=CATALOGUE).quant == "Q8_0"
    by_file = parse_ref("hf:owner/repo:sub/x-Q6_K.gguf", catalogue=CATALOGUE)
    assert (by_file.file, by_file.quant) == ("sub/x-Q6_K.gguf", "Q6_K")

    local = tmp_path / "m.gguf"
    ref = parse_ref(f"gguf:{local}?mmproj={tmp_path / 'p.gguf'}", catalogue=CATALOGUE)
    assert (ref.kind, ref.path, ref.mmproj) == ("path", local, tmp_path / "p.gguf")
    assert parse_ref(str(local), catalogue=CATALOGUE).kind == "path"

    with pytest.raises(UnknownModel, match="unknown model 'nope'") as caught:
        parse_ref("nope", catalogue=CATALOGUE)
    assert isinstance(caught.value, UnknownModelSpec)  # the registry's own error type


def test_resolve_says_how_to_download_a_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled) as caught:
        resolve("tiny-1b", tmp_path, catalogue=CATALOGUE)
    assert str(caught.value) == (
        "tiny-1b is not downloaded yet: run `gemma-chat models pull tiny-1b`"
    )
    assert isinstance(caught.value, ModelLoadError)
    with pytest.raises(ModelNotInstalled, match=r"pull tiny-1b --quant Q8_0`"):
        resolve("tiny-1b", tmp_path, quant="Q8_0", catalogue=CATALOGUE)
    with pytest.raises(ModelNotInstalled, match=r"run `gemma-chat models pull hf:o/r:Q8_0`"):
        resolve("hf:o/r:Q8_0", tmp_path, catalogue=CATALOGUE)


def test_the_real_catalogue_message(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled) as caught:
        resolve("gemma-4-e4b", tmp_path)
    assert str(caught.value) == (
        "gemma-4-e4b is not downloaded yet: run `gemma-chat models pull gemma-4-e4b`"
    )


def test_resolve_local_files_without_a_download(tmp_path: Path) -> None:
    model, projector = tmp_path / "m.gguf", tmp_path / "p.gguf"
    model.write_bytes(b"GGUF")
    projector.write_bytes(b"GGUF")
    resolved = resolve(f"gguf:{model}?mmproj={projector}", tmp_path, catalogue=CATALOGUE)
    assert (resolved.path, resolved.mmproj, resolved.entry) == (model, projector, None)
    assert resolve(str(model), tmp_path, catalogue=CATALOGUE).path == model
    with pytest.raises(ModelNotInstalled, match="no GGUF file"):
        resolve(f"gguf:{tmp_path / 'gone.gguf'}", tmp_path, catalogue=CATALOGUE)


def test_remove_frees_the_files_but_keeps_a_shared_projector(hub: FakeHub, tmp_path: Path) -> None:
    q4 = pull("tiny-1b", tmp_path, endpoint=hub.url, catalogue=CATALOGUE)
    q8 = pull("tiny-1b", tmp_path, quant="Q8_0", endpoint=hub.url, catalogue=CATALOGUE)
    assert q4.mmproj == q8.mmproj
    assert [r.quant for r in list_installed(tmp_path)] == ["Q4_K_M", "Q8_0"]
    # Without a quant, the entry's default quant is the one that runs.
    assert resolve("tiny-1b", tmp_path, catalogue=CATALOGUE).path.read_bytes() == Q4

    removal = remove("tiny-1b", tmp_path, quant="Q8_0", catalogue=CATALOGUE)
    assert [r.quant for r in removal.removed] == ["Q8_0"]
    assert removal.freed_bytes == len(Q8), "the projector is still used by Q4_K_M"
    resolved = resolve("tiny-1b", tmp_path, catalogue=CATALOGUE)
    assert resolved.mmproj is not None and resolved.mmproj.read_bytes() == PROJECTOR
    with pytest.raises(ModelNotInstalled):
        resolve("tiny-1b", tmp_path, quant="Q8_0", catalogue=CATALOGUE)

    removal = remove("tiny-1b", tmp_path, catalogue=CATALOGUE)
    assert removal.freed_bytes == len(Q4) + len(PROJECTOR)
    assert list_installed(tmp_path) == []
    models = tmp_path / "models"
    assert not (models / "models--acme--tiny-GGUF").exists()
    with pytest.raises(ModelNotInstalled, match="tiny-1b is not downloaded"):
        remove("tiny-1b", tmp_path, catalogue=CATALOGUE)


def test_remove_clears_partial_downloads(tmp_path: Path) -> None:
    blobs = tmp_path / "models" / "models--acme--tiny-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / ("a" * 64 + ".incomplete")).write_bytes(b"x" * 1234)
    removal = remove(REPO, tmp_path, catalogue=CATALOGUE)
    assert removal.removed == () and removal.freed_bytes == 1234
    assert not blobs.exists()


def test_missing_files_are_reported_not_crashed_on(hub: FakeHub, tmp_path: Path) -> None:
    record = pull(REPO, tmp_path, endpoint=hub.url)
    (tmp_path / "models" / record.files[0].blob).unlink()
    with pytest.raises(ModelNotInstalled, match="files are missing"):
        resolve(REPO, tmp_path)


def test_the_manifest_is_json_written_atomically(hub: FakeHub, tmp_path: Path) -> None:
    pull(REPO, tmp_path, endpoint=hub.url)
    models = tmp_path / "models"
    data = json.loads((models / "installed.json").read_text())
    [item] = data["models"]
    assert item["id"] == f"hf:{REPO}" and item["repo"] == REPO and item["quant"] == "Q4_K_M"
    assert item["files"][0]["sha256"] and item["mmproj"]["name"] == "mmproj-tiny-f16.gguf"
    assert item["size_bytes"] == len(Q4) + len(PROJECTOR) and item["pulled_at"]
    assert not list(models.glob(".installed-*")), "no temporary file left behind"

    (models / "installed.json").write_text("{not json")
    with pytest.raises(ManifestError, match="cannot read"):
        list_installed(tmp_path)


def test_data_dir_defaults_to_the_app_home(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMMA_CHAT_HOME", str(tmp_path / "home"))
    pull(REPO, endpoint=hub.url)
    assert (tmp_path / "home" / "models" / "installed.json").exists()
    assert resolve(f"hf:{REPO}:Q4_K_M").path.read_bytes() == Q4
