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
from typing import TYPE_CHECKING, Any

from gemma_chat.errors import CorruptMedia, MediaError
from gemma_chat.media import limits
from gemma_chat.media.attachments import Attachment
from gemma_chat.media.documents import DEFAULT_MAX_DOC_CHARS, extract_text, fenced
from gemma_chat.media.kinds import check_pixels, guard_pillow, image_bytes, media_duration
from gemma_chat.runtimes.base import MediaPart

if TYPE_CHECKING:  # Pillow loads when a picture is prepared, not at start-up
    from PIL import Image

IMAGE_SIDE = 896  # Gemma's preferred input size (longer side)
AUDIO_RATE = 16_000
# What preparing one attachment may hold at once (for the memory gate), roughly: the PCM
# of the longest audio sent plus its WAV clips; a document's text and its parser.
_AUDIO_BYTES = int(limits.MAX_AUDIO_SENT_S * AUDIO_RATE * 2 * 3)
_DOCUMENT_BYTES = 64 * limits.MB
CLIP_S = 30
MAX_FRAMES = 32
_LONG_VIDEO_S = 120  # past this, frames come from key frames only (cheap)


@dataclass(frozen=True, slots=True)
class Prepared:
    media: tuple[MediaPart, ...] = ()
    text: str = ""  # goes into the message text (documents; a marker for media left out)
    notes: tuple[str, ...] = ()  # for the user: what was not sent, or cut
    needs_transcript: bool = False  # audio the model cannot hear: run speech to text
    # Why the model does not get the file itself (kept on the message for the user);
    # MODEL stands for the model's name: "MODEL can't see images".
    left_out: str = ""


MODEL = "{model}"


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
    try:
        return _prepare(attachment, path, modalities, max_doc_chars, image_side, clip_s, max_frames)
    except MediaError as exc:
        name = attachment.name
        return Prepared(
            text=f"[The user attached {name}, which could not be prepared for you; say so "
            "if asked about it.]",
            notes=(f"{name} was not sent: {exc}",),
            left_out=f"it could not be prepared ({exc})",
        )


def _prepare(
    attachment: Attachment,
    path: Path,
    modalities: tuple[str, ...],
    max_doc_chars: int,
    image_side: int,
    clip_s: float,
    max_frames: int,
) -> Prepared:
    name = attachment.name
    if attachment.kind == "image":
        if "image" not in modalities:
            return Prepared(
                text=f"[The user attached an image, {name}, that you cannot see; say so if "
                "asked about it.]",
                notes=(f"This model can't see images; the image {name} was not sent.",),
                left_out=f"{MODEL} can't see images",
            )
        return Prepared(media=(prepare_image(path, name, image_side),))
    if attachment.kind == "audio":
        if "audio" not in modalities:
            return Prepared(needs_transcript=True)
        with limits.prep_gate.hold(_AUDIO_BYTES):
            clips = audio_clips(path, name, clip_s)
        return Prepared(media=tuple(clips), notes=_cut_note(name, clips))
    if attachment.kind == "video":
        return _video(path, name, modalities, image_side, clip_s, max_frames)
    with limits.prep_gate.hold(_DOCUMENT_BYTES):
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
    photos that came as JPEG, PNG otherwise. Bounded: the pixel budget is checked from the
    header again (a file stored before it existed), a JPEG decodes straight at a reduced
    scale, and anything else is shrunk by an integer factor right after decoding, before
    any copy (flattening, conversion) is made."""
    from PIL import Image

    guard_pillow()
    try:
        with Image.open(path) as image:
            image.seek(0)
            source_format = image.format
            check_pixels(name, *image.size)
            if source_format == "JPEG":
                image.draft("RGB", (side, side))
            with limits.prep_gate.hold(image_bytes(image) + _STRIP_BYTES * 2):
                image.load()
                orientation = image.getexif().get(_ORIENTATION, 1)  # PNG: after the pixels
                small = _shrink(image, max(1, max(image.size) // side))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CorruptMedia(f"{name} is too large to prepare ({exc})") from exc
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        small = small.transpose(method)
    return _image_part(small, name, side, jpeg=source_format == "JPEG")


def _shrink(image: Image.Image, factor: int) -> Image.Image:
    """An integer-factor box reduction, strip by strip: Pillow's own `reduce` (and any
    mode change) copies the whole image first (RGBA is premultiplied into a full-size
    copy), which doubles the memory of a large image; a strip at a time costs a strip."""
    from PIL import Image

    mode = _SHRINK_MODES.get(image.mode, image.mode)
    if image.mode == "P" and "transparency" in image.info:
        mode = "RGBA"
    if factor == 1:
        return image.convert(mode) if mode != image.mode else image.copy()
    width, height = image.size
    out = Image.new(mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_BYTES // max(1, width * 4 * factor))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


_SHRINK_MODES = {"1": "L", "P": "RGB", "I;16": "I", "I;16B": "I", "I;16L": "I"}
_STRIP_BYTES = 8 * limits.MB


_ORIENTATION = 0x0112  # EXIF tag


def _transposes() -> dict[int, Image.Transpose]:
    from PIL import Image

    T = Image.Transpose
    return {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
            6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}  # fmt: skip


_TRANSPOSE = _transposes()


def _image_part(image: Image.Image, name: str, side: int, jpeg: bool) -> MediaPart:
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


def decode_pcm(path: Path, max_s: float = limits.MAX_AUDIO_SENT_S) -> tuple[bytes, bool]:
    """The first audio track as 16 kHz mono signed 16-bit little-endian PCM, at most
    `max_s` seconds of it and what decodes within the time budget; and whether it was
    cut short."""
    import av

    most = int(max_s * AUDIO_RATE) * 2
    deadline = limits.Deadline()
    pcm = bytearray()
    cut = False
    with av.open(str(path), "r") as container:
        if not container.streams.audio:
            return b"", False
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
                if len(pcm) >= most or deadline.expired:
                    cut = True
                    break
        except av.error.FFmpegError:
            pass  # damaged tail: keep what decoded
        if not cut:
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    if len(pcm) > most:
        del pcm[most:]
        cut = True
    return bytes(pcm), cut


def wav_bytes(pcm: bytes, rate: int = AUDIO_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


class Clips(list[MediaPart]):
    """Audio clips; `cut`: the sound went on past what is sent."""

    cut: bool = False


def audio_clips(path: Path, name: str, clip_s: float = CLIP_S) -> Clips:
    pcm, cut = decode_pcm(path)
    step = int(clip_s * AUDIO_RATE) * 2
    parts: list[MediaPart] = []
    for start in range(0, len(pcm), step):
        chunk = pcm[start : start + step]
        begin = start / 2 / AUDIO_RATE
        end = begin + len(chunk) / 2 / AUDIO_RATE
        shown_end = round(end) if round(end) > begin else math.ceil(end)
        label = f"{name} {stamp(begin)}–{stamp(shown_end)}"
        parts.append(MediaPart("audio", "audio/wav", wav_bytes(chunk), label))
    clips = Clips(parts)
    clips.cut = cut
    return clips


def _cut_note(name: str, clips: Clips) -> tuple[str, ...]:
    if not clips.cut:
        return ()
    return (f"Only the first {stamp(limits.MAX_AUDIO_SENT_S)} of the sound of {name} was sent.",)


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
        with limits.prep_gate.hold(_video_frame_bytes(path)):
            media.extend(video_frames(path, name, side, max_frames))
    else:
        sound = "only its sound is sent" if has_audio else "it was not sent"
        notes.append(f"This model can't see video; {sound} for {name}.")
    if has_audio:
        if "audio" in modalities:
            with limits.prep_gate.hold(_AUDIO_BYTES):
                clips = audio_clips(path, name, clip_s)
            media.extend(clips)
            notes.extend(_cut_note(name, clips))
        else:
            needs_transcript = True
    if "image" in modalities:
        return Prepared(tuple(media), "", tuple(notes), needs_transcript)
    heard = " (only its sound)" if has_audio else ""
    text = (
        f"[The user attached a video, {name}, whose pictures you cannot see{heard}; say so "
        "if asked about what it shows.]"
    )
    left_out = f"{MODEL} can't see video" + ("; only its sound was sent" if has_audio else "")
    return Prepared(tuple(media), text, tuple(notes), needs_transcript, left_out)


def _video_frame_bytes(path: Path) -> int:
    """A decoded frame, its RGB copy and the scaled one, roughly."""
    import av

    with av.open(str(path), "r") as container:
        if not container.streams.video:
            return limits.MB
        context = container.streams.video[0].codec_context
        return max(limits.MB, int(context.width or 0) * int(context.height or 0) * 8)


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
        check_pixels(
            name, int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
        )
        if duration > _LONG_VIDEO_S:
            return _frames_by_seeking(container, stream, targets, name, side)
        return _frames_in_one_pass(container, stream, targets, name, side)


def _frames_in_one_pass(
    container: Any, stream: Any, targets: list[float], name: str, side: int
) -> list[MediaPart]:
    import av

    parts: list[MediaPart] = []
    pending = iter(targets)
    target = next(pending, None)
    last = None
    deadline = limits.Deadline()
    try:
        for frame in container.decode(stream):
            if target is None or deadline.expired:
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


def _frames_by_seeking(
    container: Any, stream: Any, targets: list[float], name: str, side: int
) -> list[MediaPart]:
    """Long videos: seek to the key frame before each target, decode up to it."""
    import av

    parts: list[MediaPart] = []
    taken = -1.0
    deadline = limits.Deadline()
    for target in targets:
        if deadline.expired:
            break
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


def _frame_part(frame: Any, name: str, t: float, side: int) -> MediaPart:
    """Scaled by FFmpeg while converting to RGB: no full-size RGB copy is made."""
    scale = min(1.0, side / max(1, frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    part = _image_part(frame.to_image(width=width, height=height), name, side, jpeg=True)
    return MediaPart("image", part.mime, part.data, f"{name} at {stamp(t)}")
