"""Read what the memory planner needs from a local GGUF file, without loading its weights.

The header is parsed here rather than with `gguf.GGUFReader`, which builds Python objects
for every element of every metadata array (a 262K-token vocabulary costs seconds). The file
is memory-mapped; scalars and strings are unpacked only for the keys the planner reads,
arrays of fixed-size items are skipped with one seek, arrays of strings with a tight loop
over their 8-byte lengths, and nothing below touches tensor data.
"""

from __future__ import annotations

import math
import mmap
import struct
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

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
            buf = None
            if magic == GGUF_MAGIC:
                buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if buf is None:
        raise ValueError(f"{path} is not a GGUF file (no GGUF magic number)")

    try:
        with buf:
            fields, tensors = _HeaderParser(buf).parse()
    except _Truncated as exc:
        raise ValueError(f"{path} is truncated: {exc}") from None
    except (ValueError, KeyError, OverflowError, struct.error) as exc:
        raise ValueError(f"{path} is not a complete GGUF file: {exc}") from exc
    return _meta_from_header(path, file_size, fields, tensors)


class _Tensor(NamedTuple):
    name: str
    n_dims: int
    type_name: str  # a gguf.GGMLQuantizationType name
    n_bytes: int
    data_offset: int  # from the start of the file


def _meta_from_header(
    path: Path, file_size: int, fields: dict[str, Any], tensors: list[_Tensor]
) -> GGUFMeta:
    """The planner's view of parsed metadata (`fields` holds what `ReaderField.contents()`
    would give, None where that raises) and tensor infos."""
    tensor_bytes = 0
    tensor_types: Counter[str] = Counter()
    for tensor in tensors:
        if tensor.data_offset + tensor.n_bytes > file_size:
            raise ValueError(f"{path} is truncated: tensor {tensor.name} ends past the file end")
        tensor_bytes += tensor.n_bytes
        if tensor.n_dims >= 2:
            tensor_types[tensor.type_name] += 1

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
        tensor_count=len(tensors),
        tensor_bytes=tensor_bytes,
        file_size=file_size,
        file_type=file_type,
        quant_name=_quant_name(file_type, tensor_types),
        has_chat_template=bool(fields.get("tokenizer.chat_template")),
    )


# Keys whose values are decoded; every other value is skipped without building objects.
_WANTED_KEYS = frozenset(
    {
        "general.architecture",
        "general.name",
        "general.file_type",
        "general.alignment",
        "tokenizer.chat_template",
    }
)
# `{arch}.<suffix>` keys the planner reads. The architecture may come after them in the
# file, so any key with such a suffix is kept; _meta_from_header looks up the exact name.
_WANTED_SUFFIXES = tuple(
    "." + suffix
    for suffix in (
        "block_count",
        "context_length",
        "embedding_length",
        "attention.head_count",
        "attention.head_count_kv",
        "attention.key_length",
        "attention.value_length",
        "attention.key_length_swa",
        "attention.value_length_swa",
        "attention.sliding_window",
        "attention.sliding_window_pattern",
        "attention.shared_kv_layers",
    )
)


class _Truncated(Exception):
    """The header claims more bytes than the file holds."""


@cache
def _gguf() -> Any:
    """The gguf package, imported late: numpy and gguf take a noticeable time to load."""
    import gguf

    return gguf


@cache
def _scalar_formats() -> dict[int, str]:
    """struct format characters of the fixed-size GGUF value types."""
    vt = _gguf().GGUFValueType
    return {
        vt.UINT8: "B",
        vt.INT8: "b",
        vt.UINT16: "H",
        vt.INT16: "h",
        vt.UINT32: "I",
        vt.INT32: "i",
        vt.FLOAT32: "f",
        vt.BOOL: "?",
        vt.UINT64: "Q",
        vt.INT64: "q",
        vt.FLOAT64: "d",
    }


class _HeaderParser:
    """A bounds-checked cursor over the memory-mapped header of a GGUF v2/v3 file."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.end = len(buf)
        self.off = 0
        # Files written for the other byte order show a version with its low half zero
        # (as gguf.GGUFReader detects them).
        version = struct.unpack_from("<I", buf, 4)[0] if self.end >= 8 else 1
        self.order = ">" if version & 0xFFFF == 0 else "<"
        self._u32 = struct.Struct(self.order + "I").unpack_from
        self._u64 = struct.Struct(self.order + "Q").unpack_from
        self.formats = _scalar_formats()
        self.sizes = {vtype: struct.calcsize(fmt) for vtype, fmt in self.formats.items()}
        vt = _gguf().GGUFValueType
        self.STRING = int(vt.STRING)
        self.ARRAY = int(vt.ARRAY)
        self.UINT32 = int(vt.UINT32)

    # -- primitives --------------------------------------------------------------------

    def take(self, n: int, what: str) -> int:
        """Advance past n bytes and return where they start."""
        start = self.off
        if n > self.end - start:
            raise _Truncated(f"{what} at byte {start} runs past the end of the file")
        self.off = start + n
        return start

    def u32(self, what: str) -> int:
        return self._u32(self.buf, self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return self._u64(self.buf, self.take(8, what))[0]

    def raw_string(self, what: str) -> bytes:
        length = self.u64(what)
        start = self.take(length, what)
        return self.buf[start : start + length]

    # -- metadata values ---------------------------------------------------------------

    def value(self, vtype: int, what: str) -> Any:
        """A value as Python objects; strings stay bytes and arrays come back flattened."""
        if vtype == self.STRING:
            return self.raw_string(what)
        fmt = self.formats.get(vtype)
        if fmt is not None:
            start = self.take(self.sizes[vtype], what)
            return struct.unpack_from(self.order + fmt, self.buf, start)[0]
        if vtype == self.ARRAY:
            itype = self.u32(what)
            count = self.u64(what)
            if count == 0:
                return []
            fmt = self.formats.get(itype)
            if fmt is not None:
                start = self.take(count * self.sizes[itype], what)
                return list(struct.unpack_from(f"{self.order}{count}{fmt}", self.buf, start))
            if count > (self.end - self.off) // 8:  # every remaining kind is at least 8 bytes
                raise _Truncated(f"{what}: {count} array items cannot fit in the file")
            items: list[Any] = []
            for _ in range(count):
                item = self.value(itype, what)
                if isinstance(item, list):  # nested arrays flatten, as in ReaderField
                    items.extend(item)
                else:
                    items.append(item)
            return items
        raise ValueError(f"{what} has unknown value type {vtype}")

    def skip(self, vtype: int, what: str) -> None:
        """Move past a value without decoding it."""
        size = self.sizes.get(vtype)
        if size is not None:
            self.take(size, what)
        elif vtype == self.STRING:
            self.take(self.u64(what), what)
        elif vtype == self.ARRAY:
            itype = self.u32(what)
            count = self.u64(what)
            if count == 0:
                return
            size = self.sizes.get(itype)
            if size is not None:
                self.take(count * size, what)
            elif itype == self.STRING:
                self.skip_strings(count, what)
            elif itype == self.ARRAY:  # arrays of arrays: rare, and never big
                if count > (self.end - self.off) // 12:
                    raise _Truncated(f"{what}: {count} arrays cannot fit in the file")
                for _ in range(count):
                    self.skip(itype, what)
            else:
                raise ValueError(f"{what} has unknown array item type {itype}")
        else:
            raise ValueError(f"{what} has unknown value type {vtype}")

    def skip_strings(self, count: int, what: str) -> None:
        """Skip `count` length-prefixed strings: the hot loop for tokenizer vocabularies."""
        buf, end, off = self.buf, self.end, self.off
        if count > (end - off) // 8:
            raise _Truncated(f"{what}: {count} strings cannot fit in the file")
        unpack = self._u64
        try:
            for _ in range(count):
                off += 8 + unpack(buf, off)[0]
        except (struct.error, OverflowError):  # a length ran past the end of the mapping
            off = end + 1
        if off > end:
            raise _Truncated(f"{what}: a string runs past the end of the file")
        self.off = off

    # -- the header --------------------------------------------------------------------

    def parse(self) -> tuple[dict[str, Any], list[_Tensor]]:
        gguf = _gguf()
        self.take(4, "magic")
        version = self.u32("version")
        if version not in {2, gguf.GGUF_VERSION}:
            raise ValueError(f"GGUF version {version} is not supported")
        tensor_count = self.u64("tensor count")
        kv_count = self.u64("metadata count")

        fields: dict[str, Any] = {}
        # gguf.GGUFReader lists these header values as fields too, so a key repeating them
        # is a duplicate there.
        seen = {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count"}
        alignment = gguf.GGUF_DEFAULT_ALIGNMENT
        for index in range(kv_count):
            name = self.raw_string(f"metadata key #{index}").decode("utf-8")
            if name in seen:
                raise ValueError(f"duplicate metadata key {name}")
            seen.add(name)
            vtype = self.u32(name)
            if name in _WANTED_KEYS or name.endswith(_WANTED_SUFFIXES):
                raw = self.value(vtype, name)
                if name == "general.alignment":
                    if vtype != self.UINT32:
                        raise ValueError("general.alignment is not a uint32")
                    if raw == 0 or raw & (raw - 1):
                        raise ValueError(f"general.alignment {raw} is not a power of two")
                    alignment = raw
                fields[name] = _decode(raw)
            else:
                self.skip(vtype, name)

        infos = []
        for index in range(tensor_count):
            what = f"tensor info #{index}"
            tensor_name = self.raw_string(what)
            n_dims = self.u32(what)
            dims = struct.unpack_from(
                f"{self.order}{n_dims}Q", self.buf, self.take(8 * n_dims, what)
            )
            raw_type = self.u32(what)
            offset = self.u64(what)
            infos.append((tensor_name, dims, raw_type, offset))

        data_start = -(-self.off // alignment) * alignment
        tensors = []
        names: set[str] = set()
        for tensor_name, dims, raw_type, offset in infos:
            name = tensor_name.decode("utf-8")
            if name in names:
                raise ValueError(f"duplicate tensor {name}")
            names.add(name)
            qtype = gguf.GGMLQuantizationType(raw_type)
            block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
            if block_size > 1 and (not dims or dims[0] % block_size):
                raise ValueError(
                    f"tensor {name}: row size {dims[0] if dims else 0} is not a multiple"
                    f" of the {qtype.name} block size {block_size}"
                )
            n_bytes = math.prod(dims) * type_size // block_size
            tensors.append(_Tensor(name, len(dims), qtype.name, n_bytes, data_start + offset))
        return fields, tensors


def _decode(raw: Any) -> Any:
    """What ReaderField.contents() gives for a parsed value: str for strings, and None
    where a string is not valid UTF-8 (contents() raises there)."""
    try:
        if isinstance(raw, bytes):
            return raw.decode("utf-8")
        if isinstance(raw, list) and raw and isinstance(raw[0], bytes):
            return [item.decode("utf-8") for item in raw]
    except UnicodeDecodeError:
        return None
    return raw


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
