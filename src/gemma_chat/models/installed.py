"""What has been downloaded: the manifest, spec parsing, resolving a spec to files, removal.

Files live in a Hugging Face style cache (`DATA_DIR/models/models--OWNER--REPO/...`), so
the hub's own tools and `try_to_load_from_cache` understand it; the small JSON manifest
next to it records which pulls are complete and verified. Resolving never touches the
network: a downloaded model must start on a plane.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs

from gemma_chat.config import Settings
from gemma_chat.errors import (
    ManifestError,
    ModelError,
    ModelNotInstalled,
    UnknownModel,
)
from gemma_chat.models import catalogue as catalogue_module
from gemma_chat.models.catalogue import CatalogueEntry
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.util.atomic import atomic_write_text

MANIFEST_NAME = "installed.json"
MANIFEST_VERSION = 1
DEFAULT_HF_QUANT = "Q4_K_M"

_HF_REPO = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?::(?P<sel>[^:]+))?")
_QUANT_TOKEN = re.compile(r"I?Q\d+(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4(?:_MOE)?", re.IGNORECASE)


class Catalogue(Protocol):
    """What this package needs of the catalogue (the module itself satisfies it)."""

    def find(self, model_id: str) -> CatalogueEntry | None: ...

    def all_entries(self) -> Iterable[CatalogueEntry]: ...


def default_catalogue() -> Catalogue:
    return catalogue_module


# --- Specs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed model spec: what to pull, look up or remove."""

    id: str  # canonical: "gemma-4-e4b", "hf:owner/repo", or the local path
    kind: Literal["catalogue", "hf", "path"]
    repo: str | None = None
    quant: str | None = None  # asked for; None means the default
    file: str | None = None  # a file inside the repo, when the spec names one
    entry: CatalogueEntry | None = None
    path: Path | None = None  # kind "path"
    mmproj: Path | None = None  # kind "path", from ?mmproj=


def quant_of(filename: str) -> str | None:
    """The quantisation named in a GGUF file name (`gemma-3-4b-it-Q4_K_M.gguf` → Q4_K_M)."""
    for token in reversed(re.split(r"[-./]", filename)):
        if _QUANT_TOKEN.fullmatch(token):
            return token.upper()
    return None


def _looks_like_path(text: str) -> bool:
    if text.startswith(("/", "./", "../", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return True
    return text.lower().endswith(".gguf") and Path(text).expanduser().is_file()


def parse_ref(
    spec: str, *, quant: str | None = None, catalogue: Catalogue | None = None
) -> ModelRef:
    """Turn a spec into a ModelRef; UnknownModel when it names nothing we can fetch or run."""
    text = spec.strip()
    if not text:
        raise UnknownModel("no model given")
    if text.startswith("gguf:") or _looks_like_path(text):
        raw, _, query = text.removeprefix("gguf:").partition("?")
        mmproj = parse_qs(query).get("mmproj", [None])[0]
        return ModelRef(
            id=text,
            kind="path",
            path=Path(raw).expanduser(),
            mmproj=Path(mmproj).expanduser() if mmproj else None,
        )
    match = _HF_REPO.fullmatch(text.removeprefix("hf:"))
    if match:
        sel = match["sel"] or ""
        is_file = sel.lower().endswith(".gguf")
        asked = quant or (quant_of(sel) if is_file else sel)
        return ModelRef(
            id=f"hf:{match['repo']}",
            kind="hf",
            repo=match["repo"],
            quant=asked.upper() if asked else None,
            file=sel if is_file else None,
        )
    base, _, sel = text.partition(":")
    entry = (catalogue or default_catalogue()).find(base)
    if entry is None:
        raise UnknownModel(
            f"unknown model {text!r}: not in the catalogue (see `gemma-chat models list`), "
            "not an HF repo (owner/repo[:QUANT]) and not a .gguf file"
        )
    source = entry.source()
    return ModelRef(
        id=entry.id,
        kind="catalogue",
        repo=source.repo if source else None,
        quant=(quant or sel).upper() or None,
        entry=entry,
    )


def pull_command(spec: str, quant: str | None = None) -> str:
    return f"gemma-chat models pull {spec.strip()}" + (f" --quant {quant}" if quant else "")


# --- Manifest ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstalledFile:
    name: str  # path inside the repo
    path: str  # where the runtime opens it, relative to the models dir (posix separators)
    blob: str  # where its bytes are (== path when links are unavailable)
    size: int
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "blob": self.blob,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstalledFile:
        return cls(
            name=data["name"],
            path=data["path"],
            blob=data.get("blob") or data["path"],
            size=int(data.get("size") or 0),
            sha256=data.get("sha256"),
        )


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """One completed, verified pull: a quantisation of a catalogue model or an HF repo."""

    id: str  # catalogue id or "hf:owner/repo"
    repo: str
    quant: str
    revision: str
    commit: str
    files: tuple[InstalledFile, ...]  # the model; several when the GGUF is split
    mmproj: InstalledFile | None = None
    pulled_at: str = ""

    @property
    def spec(self) -> str:
        """The model spec that runs exactly this download."""
        return self.id if not self.id.startswith("hf:") else f"{self.id}:{self.quant}"

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.all_files())

    def all_files(self) -> tuple[InstalledFile, ...]:
        return (*self.files, self.mmproj) if self.mmproj else self.files

    def same_pull(self, other: InstalledModel) -> bool:
        return self.id.lower() == other.id.lower() and self.quant.upper() == other.quant.upper()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "repo": self.repo,
            "quant": self.quant,
            "revision": self.revision,
            "commit": self.commit,
            "files": [f.to_dict() for f in self.files],
            "mmproj": self.mmproj.to_dict() if self.mmproj else None,
            "size_bytes": self.size_bytes,
            "pulled_at": self.pulled_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstalledModel:
        return cls(
            id=data["id"],
            repo=data["repo"],
            quant=data["quant"],
            revision=data.get("revision") or "main",
            commit=data.get("commit") or "",
            files=tuple(InstalledFile.from_dict(f) for f in data["files"]),
            mmproj=InstalledFile.from_dict(data["mmproj"]) if data.get("mmproj") else None,
            pulled_at=data.get("pulled_at") or "",
        )


def models_dir(data_dir: Path | None = None) -> Path:
    """The HF-style cache that holds every download: DATA_DIR/models."""
    return (Path(data_dir).expanduser() if data_dir else Settings().data_dir) / "models"


def repo_dir(models: Path, repo: str) -> Path:
    """huggingface_hub's folder for a model repo inside a cache dir."""
    return models / ("models--" + repo.replace("/", "--"))


def manifest_path(data_dir: Path | None = None) -> Path:
    return models_dir(data_dir) / MANIFEST_NAME


@contextlib.contextmanager
def manifest_lock(models: Path) -> Iterator[None]:
    """Serialise read-modify-write of the manifest between the server and the CLI."""
    from huggingface_hub.utils import WeakFileLock

    lock = models / ".locks" / f"{MANIFEST_NAME}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(lock):
        yield


def _read(models: Path) -> list[InstalledModel]:
    path = models / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [InstalledModel.from_dict(item) for item in data.get("models", [])]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc


def _write(models: Path, records: list[InstalledModel]) -> None:
    """Write the manifest atomically: a crash leaves the old one or the new one, never half."""
    models.mkdir(parents=True, exist_ok=True)
    payload = {"version": MANIFEST_VERSION, "models": [r.to_dict() for r in records]}
    atomic_write_text(models / MANIFEST_NAME, json.dumps(payload, indent=2))


def list_installed(data_dir: Path | None = None) -> list[InstalledModel]:
    return sorted(_read(models_dir(data_dir)), key=lambda r: (r.id.lower(), r.quant))


def record_installed(model: InstalledModel, data_dir: Path | None = None) -> None:
    """Add or replace the manifest record of this (id, quant)."""
    models = models_dir(data_dir)
    with manifest_lock(models):
        records = [r for r in _read(models) if not r.same_pull(model)]
        _write(models, [*records, model])


def _matches(ref: ModelRef, records: Iterable[InstalledModel]) -> list[InstalledModel]:
    found = [r for r in records if r.id.lower() == ref.id.lower()]
    if ref.file:
        return [r for r in found if r.files and r.files[0].name == ref.file]
    if ref.quant:
        return [r for r in found if r.quant.upper() == ref.quant.upper()]
    return found


def _preferred(ref: ModelRef, found: list[InstalledModel]) -> InstalledModel | None:
    """Without a quant: the default one when pulled, else the newest pull."""
    if not found:
        return None
    source = ref.entry.source() if ref.entry else None
    default = (source.default_quant if source else DEFAULT_HF_QUANT).upper()
    for record in found:
        if record.quant.upper() == default:
            return record
    return max(found, key=lambda r: r.pulled_at)


def find_installed(ref: ModelRef, data_dir: Path | None = None) -> InstalledModel | None:
    return _preferred(ref, _matches(ref, _read(models_dir(data_dir))))


# --- Resolve -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Local files a runtime can open, found without touching the network."""

    path: Path  # the GGUF (the first part of a split model)
    mmproj: Path | None
    entry: CatalogueEntry | None
    installed: InstalledModel | None = None


def resolve(
    spec: str,
    data_dir: Path | None = None,
    *,
    quant: str | None = None,
    catalogue: Catalogue | None = None,
) -> ResolvedModel:
    """Where the downloaded files of `spec` are; ModelNotInstalled when they are not."""
    ref = parse_ref(spec, quant=quant, catalogue=catalogue)
    if ref.kind == "path":
        assert ref.path is not None
        if not ref.path.is_file():
            raise ModelNotInstalled(f"no GGUF file at {ref.path}")
        if ref.mmproj is not None and not ref.mmproj.is_file():
            raise ModelNotInstalled(f"no projector file at {ref.mmproj}")
        return ResolvedModel(path=ref.path, mmproj=ref.mmproj, entry=None)
    if ref.entry is not None and ref.entry.builtin:
        return ResolvedModel(path=embedded_model_path(), mmproj=None, entry=ref.entry)
    models = models_dir(data_dir)
    record = find_installed(ref, data_dir)
    hint = pull_command(spec, quant)
    if record is not None:
        missing = [f.path for f in record.all_files() if not (models / f.path).is_file()]
        if missing:
            raise ModelNotInstalled(
                f"{spec.strip()}: downloaded files are missing ({', '.join(missing)}): "
                f"run `{hint}` again"
            )
        return ResolvedModel(
            path=models / record.files[0].path,
            mmproj=models / record.mmproj.path if record.mmproj else None,
            entry=ref.entry,
            installed=record,
        )
    cached = _from_hub_cache(ref, models)
    if cached is not None:
        return cached
    label = spec.strip() + (f" ({quant})" if quant else "")
    raise ModelNotInstalled(f"{label} is not downloaded yet: run `{hint}`")


def _from_hub_cache(ref: ModelRef, models: Path) -> ResolvedModel | None:
    """A catalogue model whose files sit in the cache without a manifest record."""
    source = ref.entry.source() if ref.entry else None
    if source is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        quant = source.quant(ref.quant)
    except KeyError as exc:
        raise ModelError(str(exc.args[0])) from None

    def cached(filename: str) -> Path | None:
        hit = try_to_load_from_cache(source.repo, filename, cache_dir=models)
        return Path(hit) if isinstance(hit, str) else None

    path = cached(quant.file)
    mmproj = cached(source.mmproj.file) if source.mmproj else None
    if path is None or (source.mmproj is not None and mmproj is None):
        return None
    return ResolvedModel(path=path, mmproj=mmproj, entry=ref.entry)


# --- Remove --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Removal:
    removed: tuple[InstalledModel, ...]
    freed_bytes: int


def remove(
    spec: str,
    data_dir: Path | None = None,
    *,
    quant: str | None = None,
    catalogue: Catalogue | None = None,
) -> Removal:
    """Delete a pull's files (every quant unless one is named) and any partial downloads.

    Blobs another remaining pull still uses (a shared projector) stay.
    """
    ref = parse_ref(spec, quant=quant, catalogue=catalogue)
    if ref.kind == "path" or (ref.entry is not None and ref.entry.builtin):
        raise ModelError(f"{spec.strip()} is not a download; there is nothing to remove")
    models = models_dir(data_dir)
    with manifest_lock(models):
        records = _read(models)
        gone = _matches(ref, records)
        kept = [r for r in records if r not in gone]
        in_use = {p for r in kept for f in r.all_files() for p in (f.path, f.blob)}
        doomed = {p for r in gone for f in r.all_files() for p in (f.path, f.blob)} - in_use
        freed = sum(_delete(models / p) for p in sorted(doomed))
        if ref.repo and not any(r.repo == ref.repo for r in kept):
            freed += _delete_repo_leftovers(models, ref.repo)
        if not gone and not freed:
            raise ModelNotInstalled(f"{spec.strip()} is not downloaded")
        if gone:
            _write(models, kept)
    return Removal(removed=tuple(gone), freed_bytes=freed)


def _delete(path: Path) -> int:
    """Unlink one file or link; the bytes it frees (0 for a link)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0
    path.unlink()
    return 0 if stat.S_ISLNK(st.st_mode) else st.st_size


def _delete_repo_leftovers(models: Path, repo: str) -> int:
    """Drop the repo's cache folder once no pull uses it: partial files, refs, empty dirs."""
    folder = repo_dir(models, repo)
    if not folder.exists():
        return 0
    blobs = folder / "blobs"  # refs and links are a few bytes: count only data
    freed = sum(p.lstat().st_size for p in blobs.glob("*") if p.is_file() and not p.is_symlink())
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(models / ".locks" / folder.name, ignore_errors=True)
    return freed
