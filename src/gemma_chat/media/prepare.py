"""An attachment as a model gets it: images resized, audio as ≤30 s clips of 16 kHz mono
WAV, video as timestamped frames plus its sound, documents as fenced text.

Where the model lacks a modality, the media is left out and the `notes` say so (for the
user); audio it cannot hear sets `needs_transcript` so the caller can run speech to text.
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass
from pathlib import Path

from gemma_chat.media.attachments import Attachment
from gemma_chat.media.documents import DEFAULT_MAX_DOC_CHARS, extract_text, fenced
from gemma_chat.media.kinds import media_duration
from gemma_chat.runtimes.base import MediaPart

IMAGE_SIDE = 896  # Gemma's preferred input size (longer side)
AUDIO_RATE = 16_000
CLIP_S = 30
MAX_FRAMES = 32
_LONG_VIDEO_S = 120  # past this, frames come from key frames only (cheap)


@dataclass(frozen=True, slots=True)
class Prepared:
    media: tuple[MediaPart, ...] = ()
    text: str = ""  # goes into the message text (documents; a marker for media left out)
    notes: tuple[str, ...] = ()  # for the user: what was not sent, or cut
    needs_transcript: bool = False  # audio the model cannot hear: run speech to text


def prepare(
    attachment: Attachment,
    path: Path | None = None,
    modalities: tuple[str, ...] = ("text",),
    *,
    max_doc_chars: int = DEFAULT_MAX_DOC_CHARS,
    image_side: int = IMAGE_SIDE,
    clip_s: float = CLIP_S,
    max_frames: int = MAX_FRAMES,
) -> Prepared:
    path = Path(path or attachment.path)
    name = attachment.name
    if attachment.kind == "image":
        if "image" not in modalities:
            return Prepared(
                text=f"[Image {name} attached; this model cannot see images]",
                notes=(f"This model can't see images; the image {name} was not sent.",),
            )
        return Prepared(media=(prepare_image(path, name, image_side),))
    if attachment.kind == "audio":
        if "audio" not in modalities:
            return Prepared(needs_transcript=True)
        return Prepared(media=tuple(audio_clips(path, name, clip_s)))
    if attachment.kind == "video":
        return _video(path, name, modalities, image_side, clip_s, max_frames)
    extracted = extract_text(path, attachment.mime, max_doc_chars)
    notes: list[str] = []
    if extracted.truncated:
        notes.append(f"{name} was cut to its first {max_doc_chars:,} characters.")
    if not extracted.text.strip():
        notes.append(f"No text could be read from {name} (it may be scanned images).")
    text = fenced(name, attachment.mime, extracted.text, extracted.truncated)
    return Prepared(text=text, notes=tuple(notes))


# ---- images -------------------------------------------------------------------------


def prepare_image(path: Path, name: str, side: int = IMAGE_SIDE) -> MediaPart:
    """RGB, longer side ≤ `side` (never upscaled), first frame of an animation; JPEG for
    photos that came as JPEG, PNG otherwise."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.seek(0)
        source_format = image.format
        image = ImageOps.exif_transpose(image) or image
        return _image_part(image, name, side, jpeg=source_format == "JPEG")


def _image_part(image, name: str, side: int, jpeg: bool) -> MediaPart:  # type: ignore[no-untyped-def]
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    if max(image.size) > side:
        scale = side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if jpeg:
        image.save(out, "JPEG", quality=90)
        return MediaPart("image", "image/jpeg", out.getvalue(), name)
    image.save(out, "PNG", optimize=False)
    return MediaPart("image", "image/png", out.getvalue(), name)


# ---- audio --------------------------------------------------------------------------


def stamp(seconds: float) -> str:
    """mm:ss (h:mm:ss past an hour)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def decode_pcm(path: Path) -> bytes:
    """The first audio track as 16 kHz mono signed 16-bit little-endian PCM."""
    import av

    chunks: list[bytes] = []
    with av.open(str(path), "r") as container:
        if not container.streams.audio:
            return b""
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(bytes(out.planes[0])[: out.samples * 2])
        except av.error.FFmpegError:
            pass  # damaged tail: keep what decoded
        for out in resampler.resample(None):
            chunks.append(bytes(out.planes[0])[: out.samples * 2])
    return b"".join(chunks)


def wav_bytes(pcm: bytes, rate: int = AUDIO_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def audio_clips(path: Path, name: str, clip_s: float = CLIP_S) -> list[MediaPart]:
    pcm = decode_pcm(path)
    step = int(clip_s * AUDIO_RATE) * 2
    parts = []
    for start in range(0, len(pcm), step):
        chunk = pcm[start : start + step]
        begin = start / 2 / AUDIO_RATE
        end = begin + len(chunk) / 2 / AUDIO_RATE
        shown_end = round(end) if round(end) > begin else math.ceil(end)
        label = f"{name} {stamp(begin)}–{stamp(shown_end)}"
        parts.append(MediaPart("audio", "audio/wav", wav_bytes(chunk), label))
    return parts


# ---- video --------------------------------------------------------------------------


def _video(
    path: Path,
    name: str,
    modalities: tuple[str, ...],
    side: int,
    clip_s: float,
    max_frames: int,
) -> Prepared:
    has_audio = _has_audio(path)
    notes: list[str] = []
    media: list[MediaPart] = []
    needs_transcript = False
    if "image" in modalities:
        media.extend(video_frames(path, name, side, max_frames))
    else:
        sound = "only its sound is sent" if has_audio else "it was not sent"
        notes.append(f"This model can't see video; {sound} for {name}.")
    if has_audio:
        if "audio" in modalities:
            media.extend(audio_clips(path, name, clip_s))
        else:
            needs_transcript = True
    text = "" if media else f"[Video {name} attached; this model cannot see video]"
    return Prepared(tuple(media), text, tuple(notes), needs_transcript)


def _has_audio(path: Path) -> bool:
    import av

    with av.open(str(path), "r") as container:
        return bool(container.streams.audio)


def video_frames(
    path: Path, name: str, side: int = IMAGE_SIDE, max_frames: int = MAX_FRAMES
) -> list[MediaPart]:
    """Up to `max_frames` frames evenly spaced (at most one a second), each labelled with
    its time: one decoding pass for short videos, a seek per frame for long ones."""
    import av

    duration = media_duration(path) or 0.0
    count = max(1, min(max_frames, int(duration)))
    targets = [(i + 0.5) * duration / count for i in range(count)] if duration else [0.0]
    with av.open(str(path), "r") as container:
        if not container.streams.video:
            return []
        stream = container.streams.video[0]
        if duration > _LONG_VIDEO_S:
            return _frames_by_seeking(container, stream, targets, name, side)
        return _frames_in_one_pass(container, stream, targets, name, side)


def _frames_in_one_pass(container, stream, targets, name, side):  # type: ignore[no-untyped-def]
    import av

    parts: list[MediaPart] = []
    pending = iter(targets)
    target = next(pending, None)
    last = None
    try:
        for frame in container.decode(stream):
            if target is None:
                break
            t = float(frame.time) if frame.time is not None else 0.0
            last = (frame, t)
            if t + 1e-6 < target:
                continue
            parts.append(_frame_part(frame, name, t, side))
            while target is not None and target <= t + 1e-6:
                target = next(pending, None)
    except av.error.FFmpegError:
        pass
    if not parts and last is not None:
        parts.append(_frame_part(last[0], name, last[1], side))
    return parts


def _frames_by_seeking(container, stream, targets, name, side):  # type: ignore[no-untyped-def]
    """Long videos: seek to the key frame before each target, decode up to it."""
    import av

    parts: list[MediaPart] = []
    taken = -1.0
    for target in targets:
        try:
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else target
                if t + 1e-6 >= target:
                    if t > taken:
                        parts.append(_frame_part(frame, name, t, side))
                        taken = t
                    break
        except av.error.FFmpegError:
            continue
    return parts


def _frame_part(frame, name: str, t: float, side: int) -> MediaPart:  # type: ignore[no-untyped-def]
    part = _image_part(frame.to_image(), name, side, jpeg=True)
    return MediaPart("image", part.mime, part.data, f"{name} at {stamp(t)}")
