"""Media in the in-process llama.cpp runtime: the prompt the template renders with mtmd's
marker, and the errors for a model without (or with a bad) projector. No multimodal GGUF
is available here, so encoding real images/audio is not exercised."""

from __future__ import annotations

import pytest

from gemma_chat.errors import ModelLoadError, RuntimeFailure
from gemma_chat.models.embedded import embedded_model_path
from gemma_chat.models.registry import create_runtime
from gemma_chat.runtimes.base import CancelToken, ChatMessage, Finish, GenerationOptions, MediaPart
from gemma_chat.runtimes.llama import LlamaCppRuntime, media_template_messages
from gemma_chat.runtimes.system_role import fold_system_prompt
from tests.held_runtime import held

MARKER = "<__media__>"
PNG = MediaPart("image", "image/png", b"\x89PNG-one", "photo.png")
FRAME_0 = MediaPart("image", "image/jpeg", b"\xff\xd8-f0", "clip.mp4 at 00:00")
FRAME_3 = MediaPart("image", "image/jpeg", b"\xff\xd8-f3", "clip.mp4 at 00:03")
CLIP = MediaPart("audio", "audio/wav", b"RIFF-clip", "clip.mp4 audio")
GREEDY = GenerationOptions(temperature=0, max_tokens=8)


def test_marker_goes_before_the_text_after_its_label() -> None:
    rendered, media = media_template_messages([ChatMessage("user", "What is it?", (PNG,))], MARKER)
    assert rendered == [{"role": "user", "content": f"[Image: photo.png]\n{MARKER}\nWhat is it?"}]
    assert media == [PNG]


def test_several_images_keep_their_order() -> None:
    unlabelled = MediaPart("image", "image/png", b"x")
    rendered, media = media_template_messages(
        [ChatMessage("user", "Compare.", (PNG, unlabelled))], MARKER
    )
    assert rendered[0]["content"] == f"[Image: photo.png]\n{MARKER}\n{MARKER}\nCompare."
    assert media == [PNG, unlabelled]


def test_video_frames_carry_their_timestamps_and_audio_follows() -> None:
    history = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Look.", (PNG,)),
        ChatMessage("assistant", "A photo.", (FRAME_0,)),  # assistants never carry media
        ChatMessage("user", "And this clip?", (FRAME_0, FRAME_3, CLIP)),
    ]
    rendered, media = media_template_messages(history, MARKER)
    assert rendered[0] == {"role": "system", "content": "Be brief."}
    assert rendered[2] == {"role": "assistant", "content": "A photo."}
    assert rendered[3]["content"] == (
        f"[Image: clip.mp4 at 00:00]\n{MARKER}\n[Image: clip.mp4 at 00:03]\n{MARKER}\n"
        f"[Audio: clip.mp4 audio]\n{MARKER}\nAnd this clip?"
    )
    assert media == [PNG, FRAME_0, FRAME_3, CLIP]
    assert sum(m["content"].count(MARKER) for m in rendered) == len(media)


def test_text_messages_render_as_before() -> None:
    history = [ChatMessage("system", "S"), ChatMessage("user", "U")]
    rendered, media = media_template_messages(history, MARKER)
    assert rendered == [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert media == []


def test_folding_the_system_prompt_keeps_the_media() -> None:
    folded = fold_system_prompt(
        [ChatMessage("system", "Be brief."), ChatMessage("user", "Look.", (PNG,))]
    )
    assert folded == [ChatMessage("user", "Be brief.\n\nLook.", (PNG,))]


# -- the real embedded model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded():
    with held(create_runtime("embedded")) as runtime:
        yield runtime


async def collect(runtime, messages):
    return [d async for d in runtime.stream(messages, GREEDY, CancelToken())]


@pytest.mark.slow
def test_a_model_without_projector_is_text_only(embedded) -> None:
    assert embedded.capabilities.modalities == ("text",)


@pytest.mark.slow
async def test_media_without_projector_is_a_clear_error(embedded) -> None:
    with pytest.raises(RuntimeFailure, match="no projector for images/audio"):
        await collect(embedded, [ChatMessage("user", "What is it?", (PNG,))])
    # The model still answers text afterwards.
    deltas = await collect(embedded, [ChatMessage("user", "Hi")])
    assert isinstance(deltas[-1], Finish)


async def test_missing_projector_is_a_clear_error(tmp_path) -> None:
    runtime = LlamaCppRuntime("gguf:x", embedded_model_path(), mmproj=tmp_path / "mmproj.gguf")
    with pytest.raises(ModelLoadError, match="Projector file not found"):
        await runtime.load()
    assert not runtime.loaded


async def test_corrupt_projector_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "mmproj.gguf"
    bad.write_bytes(b"not a projector at all")
    runtime = LlamaCppRuntime("gguf:x", embedded_model_path(), mmproj=bad)
    with pytest.raises(ModelLoadError, match="Not a GGUF projector file"):
        await runtime.load()
    assert not runtime.loaded


async def test_a_gguf_that_is_not_a_projector_is_a_clear_error() -> None:
    model = embedded_model_path()
    runtime = LlamaCppRuntime("gguf:x", model, mmproj=model)  # a GGUF, but no CLIP/audio
    with pytest.raises(ModelLoadError, match="could not load the projector"):
        await runtime.load()
    assert not runtime.loaded
