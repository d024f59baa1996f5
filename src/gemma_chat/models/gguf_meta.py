"""Read what the memory planner needs from a local GGUF file, without loading its weights.

`gguf.GGUFReader` memory-maps the file, so even a 30 GB model costs only page-table
entries here; nothing below touches tensor data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GGUF_MAGIC = b"GGUF"

# Architectures whose GGUF omits the per-layer pattern because llama.cpp hard-codes it:
# every Nth layer is global, the others use the sliding window.
_KNOWN_SWA_PERIOD = {"gemma2": 2, "gemma3": 6, "gemma3n": 5, "cohere2": 4}


@dataclass(frozen=True, slots=True)
class GGUFMeta:
    path: str
    architecture: str
    name: str | None
    n_layers: int
    context_length: int | None
    embedding_length: int | None
    head_count: int | None
    head_count_kv: tuple[int, ...]  # one value per layer (a scalar in the file is repeated)
    key_length: int | None  # of global layers where the file distinguishes the two kinds
    value_length: int | None
    key_length_swa: int | None
    value_length_swa: int | None
    sliding_window: int | None
    sliding_window_pattern: tuple[bool, ...] | None  # per layer: True = sliding-window layer
    shared_kv_layers: int  # trailing layers that reuse earlier layers' KV cache
    tensor_count: int
    tensor_bytes: int
    file_size: int
    file_type: int | None
    quant_name: str | None
    has_chat_template: bool

    def head_dim(self) -> int | None:
        """Key head size of global layers: the explicit key_length, else n_embd / n_head."""
        if self.key_length:
            return self.key_length
        if self.embedding_length and self.head_count:
            return self.embedding_length // self.head_count
        return None

    def swa_layers(self) -> tuple[bool, ...]:
        """Which layers use the sliding window (all False when the model has none)."""
        if not self.sliding_window:
            return (False,) * self.n_layers
        if self.sliding_window_pattern and len(self.sliding_window_pattern) == self.n_layers:
            return self.sliding_window_pattern
        period = _KNOWN_SWA_PERIOD.get(self.architecture)
        if period:
            return _swa_pattern(period, self.n_layers) or ()
        # Unknown layout: count every layer as global, so the estimate errs on the safe side.
        return (False,) * self.n_layers

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["head_dim"] = self.head_dim()
        return data


def read_gguf_meta(path: str | Path) -> GGUFMeta:
    """Parse the header of a GGUF file; ValueError when it is not a complete GGUF."""
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if magic != GGUF_MAGIC:
        raise ValueError(f"{path} is not a GGUF file (no GGUF magic number)")

    from gguf import GGUFReader  # imported late: numpy and gguf load in ~0.2 s

    try:
        reader = GGUFReader(path, "r")
    except Exception as exc:  # the reader raises a mix of ValueError, IndexError, struct.error
        raise ValueError(f"{path} is not a complete GGUF file: {exc}") from exc
    fields = {name: _value(field) for name, field in reader.fields.items()}

    tensor_bytes = 0
    tensor_types: Counter[str] = Counter()
    for tensor in reader.tensors:
        end = int(tensor.data_offset) + int(tensor.n_bytes)
        if end > file_size:
            raise ValueError(f"{path} is truncated: tensor {tensor.name} ends past the file end")
        tensor_bytes += int(tensor.n_bytes)
        if len(tensor.shape) >= 2:
            tensor_types[tensor.tensor_type.name] += 1

    arch = str(fields.get("general.architecture") or "")
    if not arch:
        raise ValueError(f"{path} has no general.architecture; is it a model file?")

    def key(suffix: str) -> Any:
        return fields.get(f"{arch}.{suffix}")

    n_layers = _int(key("block_count")) or 0
    file_type = _int(fields.get("general.file_type"))
    pattern = key("attention.sliding_window_pattern")
    return GGUFMeta(
        path=str(path),
        architecture=arch,
        name=_str(fields.get("general.name")),
        n_layers=n_layers,
        context_length=_int(key("context_length")),
        embedding_length=_int(key("embedding_length")),
        head_count=_first_int(key("attention.head_count")),
        head_count_kv=_per_layer(key("attention.head_count_kv"), n_layers),
        key_length=_int(key("attention.key_length")),
        value_length=_int(key("attention.value_length")),
        key_length_swa=_int(key("attention.key_length_swa")),
        value_length_swa=_int(key("attention.value_length_swa")),
        sliding_window=_int(key("attention.sliding_window")),
        sliding_window_pattern=_swa_pattern(pattern, n_layers),
        shared_kv_layers=_int(key("attention.shared_kv_layers")) or 0,
        tensor_count=len(reader.tensors),
        tensor_bytes=tensor_bytes,
        file_size=file_size,
        file_type=file_type,
        quant_name=_quant_name(file_type, tensor_types),
        has_chat_template=bool(fields.get("tokenizer.chat_template")),
    )


def _value(field: Any) -> Any:
    try:
        return field.contents()
    except Exception:  # a malformed field must not hide the ones the planner needs
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _first_int(value: Any) -> int | None:
    if isinstance(value, list):
        return _int(max(value)) if value else None
    return _int(value)


def _per_layer(value: Any, n_layers: int) -> tuple[int, ...]:
    if isinstance(value, list):
        return tuple(int(v) for v in value)
    scalar = _int(value)
    return (scalar,) * n_layers if scalar is not None else ()


def _swa_pattern(value: Any, n_layers: int) -> tuple[bool, ...] | None:
    """A per-layer bool array, or llama.cpp's integer form: with period n, layer i uses
    the window when i % n < n - 1 (0 means every layer does)."""
    if isinstance(value, list):
        return tuple(bool(v) for v in value)
    period = _int(value)
    if period is None:
        return None
    return tuple(period == 0 or i % period < period - 1 for i in range(n_layers))


def _quant_name(file_type: int | None, tensor_types: Counter[str]) -> str | None:
    from gguf import LlamaFileType

    if file_type is not None:
        try:
            name = LlamaFileType(file_type).name
        except ValueError:
            name = ""
        if name and name != "GUESSED":
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    if tensor_types:  # no file type recorded: the most common type among the matrices
        return tensor_types.most_common(1)[0][0]
    return None
