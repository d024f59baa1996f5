"""What each engine receives for a message with images and audio: the request bodies
OpenAICompatRuntime and OllamaRuntime send, captured by loopback servers and checked
against each engine's documented format."""

from __future__ import annotations

import base64

import pytest

from gemma_chat.errors import RuntimeFailure
from gemma_chat.runtimes.base import ChatMessage, Finish, GenerationOptions, MediaPart
from gemma_chat.runtimes.mlx import MLX_VLM_ENGINE
from gemma_chat.runtimes.ollama import OllamaRuntime
from gemma_chat.runtimes.openai_compat import OpenAICompatRuntime
from tests.runtimes.fixtures.helpers import collect
from tests.runtimes.fixtures.loopback import ollama_routes, openai_routes

PNG = b"\x89PNG\r\n\x1a\nfake-frame-0"
JPEG = b"\xff\xd8\xff\xe0fake-frame-3"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt fake-audio"
B64 = {
    name: base64.b64encode(data).decode()
    for name, data in [("png", PNG), ("jpeg", JPEG), ("wav", WAV)]
}
MEDIA = (
    MediaPart("image", "image/png", PNG, "clip.mp4 at 00:00"),
    MediaPart("image", "image/jpeg", JPEG, "clip.mp4 at 00:03"),
    MediaPart("audio", "audio/wav", WAV, "clip.mp4 audio"),
)
SYSTEM = ChatMessage("system", "Be brief.")
ASK = ChatMessage("user", "What happens in this clip?", media=MEDIA)
TEXT_ONLY = [SYSTEM, ChatMessage("user", "Say hello.")]

LLAMA_SERVER = ("llama_server_models.json", "llama_server_reasoning.sse", "llama_server_props.json")
VLLM = ("vllm_models.json", "vllm_reasoning.sse", None)
GENERIC = ("generic_models.json", "generic_think.sse", None)


def input_audio_parts() -> list[dict]:
    return [
        {"type": "text", "text": "[Image: clip.mp4 at 00:00]"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64['png']}"}},
        {"type": "text", "text": "[Image: clip.mp4 at 00:03]"},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{B64['jpeg']}"}},
        {"type": "text", "text": "[Audio: clip.mp4 audio]"},
        {"type": "input_audio", "input_audio": {"data": B64["wav"], "format": "wav"}},
        {"type": "text", "text": "What happens in this clip?"},
    ]


async def sent_messages(loopback, server, messages, engine=None) -> list[dict]:
    models, chat, props = server
    fake = loopback(openai_routes(models, chat, props))
    runtime = OpenAICompatRuntime(f"openai:{fake.url}/v1", engine=engine, trust_model=False)
    try:
        deltas = await collect(runtime, messages=messages)
    finally:
        await runtime.close()
    assert isinstance(deltas[-1], Finish)
    (body,) = fake.bodies("/v1/chat/completions")
    return body["messages"]


@pytest.mark.parametrize("server", [LLAMA_SERVER, GENERIC], ids=["llama-server", "generic"])
async def test_input_audio_engines_get_image_url_and_input_audio_parts(loopback, server) -> None:
    sent = await sent_messages(loopback, server, [SYSTEM, ASK])
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1] == {"role": "user", "content": input_audio_parts()}


async def test_vllm_gets_audio_as_an_audio_url_data_uri(loopback) -> None:
    sent = await sent_messages(loopback, VLLM, [SYSTEM, ASK])
    parts = sent[1]["content"]
    expected = input_audio_parts()
    expected[5] = {"type": "audio_url", "audio_url": {"url": f"data:audio/wav;base64,{B64['wav']}"}}
    assert parts == expected


async def test_mlx_vlm_gets_its_labels_in_the_one_text_part_it_reads(loopback) -> None:
    sent = await sent_messages(loopback, GENERIC, [SYSTEM, ASK], engine=MLX_VLM_ENGINE)
    parts = sent[1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "input_audio", "text"]
    assert parts[-1]["text"] == (
        "[Image: clip.mp4 at 00:00]\n[Image: clip.mp4 at 00:03]\n[Audio: clip.mp4 audio]\n"
        "What happens in this clip?"
    )


async def test_unlabelled_media_gets_no_label_parts(loopback) -> None:
    message = ChatMessage("user", "Describe it.", media=(MediaPart("image", "image/png", PNG),))
    sent = await sent_messages(loopback, LLAMA_SERVER, [message])
    assert sent[0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64['png']}"}},
        {"type": "text", "text": "Describe it."},
    ]


@pytest.mark.parametrize(
    "server", [LLAMA_SERVER, VLLM, GENERIC], ids=["llama-server", "vllm", "generic"]
)
async def test_text_only_messages_keep_plain_string_content(loopback, server) -> None:
    history = [
        *TEXT_ONLY,
        ChatMessage("assistant", "Hello!", media=MEDIA),
        ChatMessage("user", "Again."),
    ]
    sent = await sent_messages(loopback, server, history)
    # Exactly the shape sent before media existed; an assistant turn never carries media.
    assert sent == [{"role": m.role, "content": m.content} for m in history]


async def test_request_body_without_media_is_unchanged() -> None:
    runtime = OpenAICompatRuntime("openai:http://127.0.0.1:9/v1#m")
    body = runtime.request_body(TEXT_ONLY, GenerationOptions())
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]


# -- Ollama ---------------------------------------------------------------------------------


async def ollama_body(loopback, messages) -> dict:
    fake = loopback(ollama_routes("ollama_show_gemma3.json"))
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b")
    try:
        await collect(runtime, messages=messages)
        assert "image" in runtime.capabilities.modalities  # /api/show lists "vision"
    finally:
        await runtime.close()
    (body,) = fake.bodies("/api/chat")
    return body


async def test_ollama_gets_plain_base64_images_on_the_message(loopback) -> None:
    frames = tuple(p for p in MEDIA if p.kind == "image")
    body = await ollama_body(loopback, [SYSTEM, ChatMessage("user", "What happens?", media=frames)])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1] == {
        "role": "user",
        "content": "[Image: clip.mp4 at 00:00]\n[Image: clip.mp4 at 00:03]\nWhat happens?",
        "images": [B64["png"], B64["jpeg"]],
    }
    assert not any(image.startswith("data:") for image in body["messages"][1]["images"])


async def test_ollama_text_only_messages_are_unchanged(loopback) -> None:
    body = await ollama_body(loopback, TEXT_ONLY)
    assert body["messages"] == [{"role": m.role, "content": m.content} for m in TEXT_ONLY]


async def test_ollama_refuses_audio_before_sending_anything(loopback) -> None:
    fake = loopback(ollama_routes("ollama_show_gemma3.json"))
    runtime = OllamaRuntime(f"ollama:{fake.url}#gemma3:4b")
    try:
        with pytest.raises(RuntimeFailure, match="Ollama's API does not take audio"):
            await collect(runtime, messages=[SYSTEM, ASK])
    finally:
        await runtime.close()
    assert fake.bodies("/api/chat") == []
