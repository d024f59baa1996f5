"""GGUF header reading, on tiny files written with gguf.GGUFWriter and on the shipped model."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_chat.models.gguf_meta import read_gguf_meta
from gemma_chat.runtimes.registry import embedded_model_path


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
    assert meta.n_layers == 30
    assert meta.context_length == 8192
    assert meta.head_count_kv == (3,) * 30
    assert meta.head_dim() == 64
    assert meta.quant_name == "Q4_1"
    assert meta.has_chat_template
    assert 0.9 * meta.file_size < meta.tensor_bytes < meta.file_size
