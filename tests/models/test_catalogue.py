"""The catalogue is data other layers trust blindly: check it is complete and consistent."""

from __future__ import annotations

import re

import pytest

from gemma_chat.models import catalogue
from gemma_chat.models.catalogue import CatalogueEntry

EXPECTED_IDS = {
    "gemma-4-e2b",
    "gemma-4-e4b",
    "gemma-4-12b",
    "gemma-4-26b-a4b",
    "gemma-4-31b",
    "gemma-3n-e2b",
    "gemma-3n-e4b",
    "embedded",
}
GEMMA_4 = [e for e in catalogue.all_entries() if e.family == "gemma-4"]


def test_the_catalogue_has_exactly_the_planned_models():
    ids = [entry.id for entry in catalogue.all_entries()]
    assert set(ids) == EXPECTED_IDS
    assert len(ids) == len(set(ids))
    assert all(entry_id == entry_id.lower() for entry_id in ids)


def test_get_and_find():
    assert catalogue.get("gemma-4-e4b").name == "Gemma 4 E4B"
    assert catalogue.find(" Gemma-4-E4B ") is catalogue.get("gemma-4-e4b")
    assert catalogue.find("gemma-5") is None
    with pytest.raises(KeyError, match=r"known models: .*gemma-4-e4b"):
        catalogue.get("gemma-5")


@pytest.mark.parametrize("entry", GEMMA_4, ids=lambda e: e.id)
def test_gemma_4_facts(entry: CatalogueEntry):
    assert entry.licence == "Apache-2.0"
    assert entry.thinking is True
    assert entry.system_role is True
    assert (entry.sampling.temperature, entry.sampling.top_p, entry.sampling.top_k) == (
        1.0,
        0.95,
        64,
    )
    assert {"text", "image"} <= set(entry.modalities)
    small = entry.id in {"gemma-4-e2b", "gemma-4-e4b"}
    assert entry.context_length == (131_072 if small else 262_144)
    arch = entry.architecture
    assert arch is not None
    assert arch.global_head_dim == 512 and arch.head_dim == 256  # larger global head_dim
    assert arch.n_layers % arch.n_global_layers == 0  # regular interleaving
    assert entry.mlx and all(repo.startswith("mlx-community/") for repo in entry.mlx)


def test_audio_only_where_the_model_card_says_so():
    with_audio = {e.id for e in GEMMA_4 if "audio" in e.modalities}
    assert with_audio == {"gemma-4-e2b", "gemma-4-e4b", "gemma-4-12b"}


def test_gemma_3n_facts():
    for entry in (catalogue.get("gemma-3n-e2b"), catalogue.get("gemma-3n-e4b")):
        assert entry.licence == "Gemma Terms of Use"
        assert entry.system_role is False
        assert entry.thinking is False
        assert entry.context_length == 32_768
        assert entry.architecture and entry.architecture.kv_shared_layers > 0


def test_kv_sharing_on_the_effective_parameter_models_only():
    shared = {e.id for e in catalogue.all_entries() if e.architecture.kv_shared_layers}
    assert shared == {"gemma-4-e2b", "gemma-4-e4b", "gemma-3n-e2b", "gemma-3n-e4b"}


def test_moe_and_effective_parameters():
    moe = catalogue.get("gemma-4-26b-a4b")
    assert moe.active_params_b is not None and moe.active_params_b < 5 < moe.params_b
    assert "moe" in moe.tags
    for entry_id in ("gemma-4-e2b", "gemma-4-e4b"):
        entry = catalogue.get(entry_id)
        assert entry.active_params_b is not None and entry.active_params_b < entry.params_b


def test_embedded_is_builtin_and_needs_no_download():
    entry = catalogue.get("embedded")
    assert entry.builtin is True
    assert entry.gguf == ()
    assert entry.source() is None
    assert entry.licence == "Apache-2.0"
    assert not any(e.builtin for e in catalogue.all_entries() if e.id != "embedded")


@pytest.mark.parametrize(
    "entry", [e for e in catalogue.all_entries() if not e.builtin], ids=lambda e: e.id
)
def test_gguf_sources_are_well_formed(entry: CatalogueEntry):
    assert entry.gguf, "every downloadable model needs a GGUF source"
    for source in entry.gguf:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+-GGUF", source.repo), source.repo
        assert source.quant().name == source.default_quant  # the default exists
        for quant in source.quants:
            assert quant.file.endswith(".gguf")
            assert quant.size_bytes > 100_000_000
            assert quant.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", quant.sha256)
        sizes = {q.name: q.size_bytes for q in source.quants}
        if "Q4_K_M" in sizes and "Q8_0" in sizes:
            assert sizes["Q4_K_M"] < sizes["Q8_0"]
    assert entry.source().default_quant == "Q4_K_M"
    assert {"Q4_K_M", "Q8_0"} <= {q.name for s in entry.gguf for q in s.quants}


def test_multimodal_gemma_4_ships_a_projector():
    for entry in GEMMA_4:
        mmproj = entry.source().mmproj
        assert mmproj is not None and mmproj.file.startswith("mmproj")
    # The encoder-free 12B only needs its linear projections: a far smaller projector.
    assert catalogue.get("gemma-4-12b").source().mmproj.size_bytes < 200_000_000
    assert catalogue.get("gemma-4-31b").source().mmproj.size_bytes > 500_000_000


def test_quant_lookup_is_case_insensitive_and_helpful():
    source = catalogue.get("gemma-4-e4b").source()
    assert source.quant("q8_0").name == "Q8_0"
    with pytest.raises(KeyError, match="Q4_K_M"):
        source.quant("Q2_K")
