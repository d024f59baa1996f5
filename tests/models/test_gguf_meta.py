"""GGUF header reading, on tiny files written with gguf.GGUFWriter and on the shipped model."""

from __future__ import annotations

import mmap
import struct
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.gguf_meta import (
    _HeaderParser,
    _meta_from_header,
    _Tensor,
    read_gguf_meta,
)


def write_gguf(
    path: Path, arch: str = "gemma4", *, tensors: int = 3, extra=None, file_type=None
) -> Path:
    """A small but valid GGUF: a few tiny f32 tensors and the metadata `extra` adds."""
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name("tiny test model")
    writer.add_block_count(6)
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    if file_type is not None:
        writer.add_file_type(file_type)
    if extra:
        extra(writer)
    for index in range(tensors):
        writer.add_tensor(f"blk.{index}.attn_q.weight", np.ones((8, 16), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def gemma4_like(writer: gguf.GGUFWriter) -> None:
    writer.add_head_count_kv([2, 2, 2, 2, 2, 1])
    writer.add_key_length(32)
    writer.add_value_length(32)
    writer.add_key_length_swa(16)
    writer.add_value_length_swa(16)
    writer.add_sliding_window(128)
    writer.add_sliding_window_pattern([True] * 5 + [False])
    writer.add_shared_kv_layers(2)
    writer.add_chat_template("{{ messages }}")


def test_reads_the_planner_fields(tmp_path: Path):
    path = write_gguf(
        tmp_path / "m.gguf", extra=gemma4_like, file_type=gguf.LlamaFileType.MOSTLY_Q8_0
    )
    meta = read_gguf_meta(path)
    assert meta.architecture == "gemma4"
    assert meta.name == "tiny test model"
    assert meta.n_layers == 6
    assert meta.context_length == 4096
    assert meta.embedding_length == 64
    assert meta.head_count == 4
    assert meta.head_count_kv == (2, 2, 2, 2, 2, 1)
    assert (meta.key_length, meta.value_length) == (32, 32)
    assert (meta.key_length_swa, meta.value_length_swa) == (16, 16)
    assert meta.sliding_window == 128
    assert meta.sliding_window_pattern == (True,) * 5 + (False,)
    assert meta.swa_layers() == meta.sliding_window_pattern
    assert meta.shared_kv_layers == 2
    assert meta.tensor_count == 3
    assert meta.tensor_bytes == 3 * 8 * 16 * 4
    assert meta.file_size == path.stat().st_size > meta.tensor_bytes
    assert meta.quant_name == "Q8_0"
    assert meta.has_chat_template is True
    assert meta.head_dim() == 32
    assert meta.as_dict()["head_dim"] == 32


def test_scalar_head_count_is_repeated_per_layer_and_head_dim_derived(tmp_path: Path):
    path = write_gguf(tmp_path / "m.gguf", "llama", extra=lambda w: w.add_head_count_kv(2))
    meta = read_gguf_meta(path)
    assert meta.head_count_kv == (2,) * 6
    assert meta.head_dim() == 64 // 4
    assert meta.sliding_window is None and meta.swa_layers() == (False,) * 6
    assert meta.has_chat_template is False
    assert meta.quant_name == "F32"  # no file type recorded: the matrices' type


def test_integer_pattern_and_known_architectures(tmp_path: Path):
    def int_pattern(writer: gguf.GGUFWriter) -> None:
        writer.add_sliding_window(64)
        writer.add_sliding_window_pattern(3)

    meta = read_gguf_meta(write_gguf(tmp_path / "a.gguf", "gemma4", extra=int_pattern))
    assert meta.swa_layers() == (True, True, False, True, True, False)

    # gemma3 files carry no pattern: llama.cpp hard-codes five sliding layers per global one.
    meta = read_gguf_meta(
        write_gguf(tmp_path / "b.gguf", "gemma3", extra=lambda w: w.add_sliding_window(512))
    )
    assert meta.swa_layers() == (True,) * 5 + (False,)

    # Unknown layouts count as global: the estimate must not come out too small.
    meta = read_gguf_meta(
        write_gguf(tmp_path / "c.gguf", "mystery", extra=lambda w: w.add_sliding_window(512))
    )
    assert meta.swa_layers() == (False,) * 6


def test_not_a_gguf(tmp_path: Path):
    path = tmp_path / "notes.gguf"
    path.write_text("hello, I am plain text", encoding="utf-8")
    with pytest.raises(ValueError, match="not a GGUF"):
        read_gguf_meta(path)
    with pytest.raises(ValueError, match="Cannot read"):
        read_gguf_meta(tmp_path / "missing.gguf")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.97])
def test_truncated_files_are_rejected(tmp_path: Path, keep: float):
    whole = write_gguf(tmp_path / "whole.gguf", extra=gemma4_like, tensors=4).read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ValueError, match=r"truncated|not a complete GGUF"):
        read_gguf_meta(cut)


def test_the_embedded_model():
    meta = read_gguf_meta(embedded_model_path())
    assert meta.architecture == "llama"
    assert meta.name == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert meta.n_layers == 30
    assert meta.context_length == 8192
    assert meta.embedding_length == 576
    assert meta.head_count == 9
    assert meta.head_count_kv == (3,) * 30
    assert meta.head_dim() == 64
    assert meta.sliding_window is None and meta.sliding_window_pattern is None
    assert meta.shared_kv_layers == 0
    assert meta.tensor_count == 272
    assert meta.file_type == gguf.LlamaFileType.MOSTLY_Q4_1
    assert meta.quant_name == "Q4_1"
    assert meta.has_chat_template
    assert 0.9 * meta.file_size < meta.tensor_bytes < meta.file_size


# --- the header parser against gguf.GGUFReader ------------------------------------------


def reference_meta(path: Path):
    """What read_gguf_meta gave when it was built on gguf.GGUFReader (slow: it makes
    Python objects for every array element, so keep the files it reads small)."""
    reader = gguf.GGUFReader(path, "r")
    fields = {name: _contents(field) for name, field in reader.fields.items()}
    tensors = [
        _Tensor(t.name, len(t.shape), t.tensor_type.name, int(t.n_bytes), int(t.data_offset))
        for t in reader.tensors
    ]
    return fields, tensors, _meta_from_header(path, path.stat().st_size, fields, tensors)


def _contents(field):
    try:
        return field.contents()
    except Exception:  # noqa: BLE001 - gguf fails in many ways on types it cannot decode
        return None


def fast_header(path: Path):
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _HeaderParser(buf).parse()


def write_full_gguf(
    path: Path,
    *,
    vocab: int,
    endianess: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE,
    name: str | bytes = "full test model",
    pattern=None,
) -> Path:
    """A Gemma-4-like GGUF with a tokenizer of `vocab` entries, per-layer arrays, values of
    every scalar type, nested arrays, a custom alignment and a quantized tensor."""
    n_layers = 8
    writer = gguf.GGUFWriter(path, "gemma4", endianess=endianess)
    writer.add_key_value("general.name", name, gguf.GGUFValueType.STRING)
    writer.add_custom_alignment(64)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_block_count(n_layers)
    writer.add_context_length(131072)
    writer.add_embedding_length(128)
    writer.add_head_count([8] * n_layers)
    writer.add_head_count_kv([4, 4, 4, 4, 4, 2, 4, 2])
    writer.add_key_length(64)
    writer.add_value_length(64)
    writer.add_key_length_swa(32)
    writer.add_value_length_swa(32)
    writer.add_sliding_window(512)
    writer.add_sliding_window_pattern(pattern if pattern is not None else [True, False] * 4)
    writer.add_shared_kv_layers(2)
    # Keys the planner ignores, of every value type, and keys that only look wanted.
    writer.add_uint8("test.u8", 7)
    writer.add_int8("test.i8", -7)
    writer.add_uint16("test.u16", 700)
    writer.add_int16("test.i16", -700)
    writer.add_int32("test.i32", -70000)
    writer.add_uint64("test.u64", 2**40)
    writer.add_int64("test.i64", -(2**40))
    writer.add_float32("gemma4.rope.freq_base", 10000.0)
    writer.add_float64("test.f64", 0.1)
    writer.add_bool("test.bool", True)
    writer.add_array("test.nested", [[1, 2], [3], [4, 5, 6]])
    writer.add_array("test.nested_strings", [["a", "b"], ["c"]])
    writer.add_array("test.floats", [0.5] * 1000)
    writer.add_uint32("clip.vision.block_count", 99)
    writer.add_token_list([f"<tok{i}>" for i in range(vocab)])
    writer.add_token_scores([float(-i) for i in range(vocab)])
    writer.add_token_types([1] * vocab)
    writer.add_token_merges([f"a{i} b{i}" for i in range(vocab // 2)])
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    for layer in range(n_layers):
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", np.ones(128, dtype=np.float32))
        writer.add_tensor(
            f"blk.{layer}.attn_q.weight",
            np.zeros((128, 128 // 32 * 34), dtype=np.uint8),
            raw_dtype=gguf.GGMLQuantizationType.Q8_0,
        )
    writer.add_tensor("output.weight", np.ones((16, 128), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"endianess": gguf.GGUFEndian.BIG},
        {"name": b"bad \xff utf-8"},  # not decodable: None, as ReaderField.contents() raises
        {"pattern": 4},
    ],
    ids=["little-endian", "big-endian", "bad-utf8", "int-pattern"],
)
def test_same_values_as_gguf_reader(tmp_path: Path, variant: dict):
    path = write_full_gguf(tmp_path / "m.gguf", vocab=3000, **variant)
    ref_fields, ref_tensors, ref_meta = reference_meta(path)
    fields, tensors = fast_header(path)

    assert fields, "nothing was kept"
    for key, value in fields.items():
        assert value == ref_fields[key], key
        assert type(value) is type(ref_fields[key]), key
    assert "tokenizer.ggml.tokens" not in fields  # skipped, not decoded
    assert tensors == ref_tensors
    meta = read_gguf_meta(path)
    assert meta == ref_meta
    assert meta.head_count_kv == (4, 4, 4, 4, 4, 2, 4, 2)
    assert meta.head_count == 8
    assert meta.quant_name == "Q8_0"


@pytest.fixture(scope="module")
def big_vocab_files(tmp_path_factory) -> tuple[Path, Path]:
    """The same model with a 300K-token and with a 3K-token vocabulary."""
    folder = tmp_path_factory.mktemp("vocab")
    big = write_full_gguf(folder / "big.gguf", vocab=300_000)
    small = write_full_gguf(folder / "small.gguf", vocab=3000)
    return big, small


def test_big_vocabulary_is_fast_and_read_alike(big_vocab_files):
    big, small = big_vocab_files
    read_gguf_meta(big)  # warm the page cache and the late imports
    started = time.perf_counter()
    meta = read_gguf_meta(big)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"reading a 300K-token header took {elapsed:.2f} s"

    # Only the skipped vocabulary differs, so everything else matches what GGUFReader
    # reads from the small file (GGUFReader itself needs ~15 s on the big one).
    _, _, ref = reference_meta(small)
    assert meta.file_size > ref.file_size
    assert meta.as_dict() | {"path": "", "file_size": 0} == ref.as_dict() | {
        "path": "",
        "file_size": 0,
    }


def test_truncated_anywhere_raises(tmp_path: Path):
    path = write_full_gguf(tmp_path / "whole.gguf", vocab=3000)
    whole = path.read_bytes()
    reader = gguf.GGUFReader(path, "r")
    tokens = reader.fields["tokenizer.ggml.tokens"].offset
    template = reader.fields["tokenizer.chat_template"].offset
    first_info = reader.tensors[0].field.offset
    last_info = reader.tensors[-1].field.offset
    cuts = [
        5,  # inside the version
        10,  # inside the tensor count
        22,  # inside the first key
        tokens + 20,  # inside the vocabulary array's header
        tokens + 5000,  # inside the vocabulary strings
        template + 30,  # inside the last string value
        first_info,  # right where the tensor infos start
        last_info + 10,  # inside the last tensor info
        reader.data_offset + 1,  # tensor data missing
        len(whole) - 1,  # one byte short
    ]
    cut = tmp_path / "cut.gguf"
    for size in cuts:
        cut.write_bytes(whole[:size])
        started = time.perf_counter()
        with pytest.raises(ValueError, match=r"truncated|not a complete GGUF"):
            read_gguf_meta(cut)
        assert time.perf_counter() - started < 1.0, size


def test_absurd_counts_raise_quickly(tmp_path: Path):
    path = write_full_gguf(tmp_path / "whole.gguf", vocab=3000)
    whole = bytearray(path.read_bytes())
    reader = gguf.GGUFReader(path, "r")
    field = reader.fields["tokenizer.ggml.tokens"]
    count_at = field.offset + 8 + len(field.name) + 4 + 4  # key length, key, type, item type
    assert struct.unpack_from("<Q", whole, count_at)[0] == 3000
    bad = tmp_path / "bad.gguf"
    for count in (2**62, 2**64 - 1):
        struct.pack_into("<Q", whole, count_at, count)
        bad.write_bytes(whole)
        started = time.perf_counter()
        with pytest.raises(ValueError, match="truncated"):
            read_gguf_meta(bad)
        assert time.perf_counter() - started < 1.0

    # One token's length claiming more than the file holds.
    whole = bytearray(path.read_bytes())
    struct.pack_into("<Q", whole, count_at + 8, 2**63)
    bad.write_bytes(whole)
    with pytest.raises(ValueError, match="truncated"):
        read_gguf_meta(bad)

    # So many metadata keys that they cannot fit.
    whole = bytearray(path.read_bytes())
    struct.pack_into("<Q", whole, 16, 2**60)
    bad.write_bytes(whole)
    with pytest.raises(ValueError, match=r"truncated|not a complete GGUF"):
        read_gguf_meta(bad)


def test_unsupported_version_and_bad_alignment(tmp_path: Path):
    whole = bytearray(write_gguf(tmp_path / "m.gguf").read_bytes())
    bad = tmp_path / "bad.gguf"
    struct.pack_into("<I", whole, 4, 1)
    bad.write_bytes(whole)
    with pytest.raises(ValueError, match=r"not a complete GGUF.*version 1"):
        read_gguf_meta(bad)

    path = write_gguf(tmp_path / "a.gguf", extra=lambda w: w.add_uint32("general.alignment", 48))
    with pytest.raises(ValueError, match="power of two"):
        read_gguf_meta(path)
