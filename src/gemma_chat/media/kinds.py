"""What an uploaded file is: sniffed from its content, then checked by actually opening it.

The file name only breaks ties the bytes cannot (plain text: txt, md or csv). A file that
claims a type it does not have is judged by its content; one we cannot take raises
`UnsupportedMedia` (HTTP 415), one that looks right but does not open or decode raises
`CorruptMedia` (HTTP 422).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import IO, Any, Literal

from gemma_chat.errors import CorruptMedia, MediaError, UnsupportedMedia
from gemma_chat.media import limits
from gemma_chat.media.docx_text import read_docx
from gemma_chat.util.units import format_duration

Kind = Literal["image", "audio", "video", "document"]
Source = Path | str | bytes

log = logging.getLogger(__name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_MIMES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
              ".csv": "text/csv", "": "text/plain"}  # fmt: skip
IMAGE_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
ACCEPTED = "png, jpeg, webp, gif, wav, mp3, ogg, webm, m4a, mp4, mov, pdf, txt, md, csv, docx"
_SNIFF_BYTES = 64 * 1024


def classify(source: Source, filename: str = "") -> tuple[Kind, str]:
    """(kind, mime) of a file given as a path or its bytes; raises UnsupportedMedia or
    CorruptMedia."""
    kind, mime, _ = inspect(source, filename)
    return kind, mime


def inspect(source: Source, filename: str = "") -> tuple[Kind, str, dict[str, Any]]:
    """Like `classify`, plus the meta the API shows: image width/height, audio and video
    duration_s, pdf pages (documents otherwise `{}`)."""
    with _open(source) as f:
        head = f.read(_SNIFF_BYTES)
    name = PurePath(filename.replace("\\", "/")).name
    if not head:
        raise CorruptMedia(f"{name or 'The file'} is empty")
    family = _sniff(head, name)
    if family == "image":
        return _inspect_image(source, name)
    if family == "av":
        return _inspect_av(source, name, quicktime=head[8:12] == b"qt  ")
    if family == "pdf":
        return "document", "application/pdf", {"pages": _pdf_pages(source, name)}
    if family == "docx":
        _check_docx(source, name)
        return "document", DOCX_MIME, {}
    if family == "text":
        return "document", TEXT_MIMES[PurePath(name).suffix.lower()], {}
    raise UnsupportedMedia(_unsupported(name))


def _unsupported(name: str) -> str:
    what = f"{name} is" if name else "This file is"
    return f"{what} not a supported type. Accepted: {ACCEPTED}."


@contextmanager
def _open(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
    else:
        with open(source, "rb") as f:
            yield f


def _sniff(head: bytes, name: str) -> str | None:
    """The family a file's first bytes say it belongs to: image, av, pdf, docx, text."""
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "av"
    if head.startswith((b"ID3", b"OggS", b"\x1a\x45\xdf\xa3")):
        return "av"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "av"  # an MPEG audio frame sync (mp3 without ID3)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "av"  # ISO base media: mp4, m4a, mov
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in head or name.lower().endswith(".docx") else None
    suffix = PurePath(name).suffix.lower()
    if suffix in TEXT_MIMES and _looks_like_text(head):
        return "text"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control <= len(head) // 100


# ---- images -------------------------------------------------------------------------


def _inspect_image(source: Source, name: str) -> tuple[Kind, str, dict[str, Any]]:
    """Checked from the header first (pixels, frames × pixels), then decoded once inside
    the memory budget to prove it is whole: JPEG at 1/8 scale, which still reads all of
    its data."""
    from PIL import Image

    guard_pillow()
    label = name or "The image"
    try:
        with _open(source) as f, Image.open(f) as image:
            fmt = image.format or ""
            if fmt not in IMAGE_MIMES:
                raise UnsupportedMedia(_unsupported(name))
            width, height = image.size
            check_pixels(label, width, height, frame_count(image))
            if fmt == "JPEG":
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            with limits.prep_gate.hold(image_bytes(image)):
                image.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        with _open(source) as f:
            head = f.read(32)
        raise CorruptMedia(_bomb_message(label, exc, head)) from exc
    except Exception as exc:
        raise CorruptMedia(f"{label} is damaged or truncated ({exc})") from exc
    return "image", IMAGE_MIMES[fmt], {"width": width, "height": height}


def guard_pillow() -> None:
    """Keep Pillow's own bomb check on (something may have set it to None) and make its
    warning, which it gives between its limit and twice that, a refusal."""
    from PIL import Image

    global _pillow_guarded
    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > 2 * limits.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = 2 * limits.MAX_IMAGE_PIXELS
    if not _pillow_guarded:
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
        _pillow_guarded = True


_pillow_guarded = False


def _bomb_message(label: str, exc: Exception, head: bytes) -> str:
    """Pillow refused it while opening: say its size as `check_pixels` would."""
    size = None
    if head.startswith(b"\x89PNG") and len(head) >= 24:
        size = struct.unpack(">II", head[16:24])
    elif head.startswith(b"GIF") and len(head) >= 10:
        size = struct.unpack("<HH", head[6:10])
    if size is not None:
        try:
            check_pixels(label, *size)
        except CorruptMedia as refusal:
            return str(refusal)
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{limits.megapixels(int(found.group(1)))} megapixels" if found else "too large"
    return f"{label} is {pixels}; the limit is {limits.MAX_IMAGE_PIXELS // 1_000_000}"


def frame_count(image: Any) -> int:
    """Frames of an animation (GIF, APNG, WebP); 1 for a still image."""
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except Exception:  # n_frames seeks through the file: a damaged one fails in many ways
        log.debug("cannot count frames; taking one", exc_info=True)
        return 1


def check_pixels(label: str, width: int, height: int, frames: int = 1) -> None:
    """Refuse, from the header, an image whose pixels would not fit the budget."""
    pixels = width * height
    if pixels > limits.MAX_IMAGE_PIXELS:
        raise CorruptMedia(
            f"{label} is {width}×{height}, {limits.megapixels(pixels)} megapixels; "
            f"the limit is {limits.MAX_IMAGE_PIXELS // 1_000_000}"
        )
    if frames > 1 and pixels * frames > limits.MAX_ANIMATION_PIXELS:
        raise CorruptMedia(
            f"{label} has {frames:,} frames of {width}×{height}, "
            f"{limits.megapixels(pixels * frames)} megapixels in all; the limit is "
            f"{limits.MAX_ANIMATION_PIXELS // 1_000_000}"
        )


def image_bytes(image: Any) -> int:
    """What decoding one frame at its current (draft) size costs, roughly."""
    width, height = image.size
    return width * height * max(1, len(image.getbands()))


# ---- audio and video ----------------------------------------------------------------


def _inspect_av(
    source: Source, name: str, quicktime: bool = False
) -> tuple[Kind, str, dict[str, Any]]:
    import av

    label = name or "The file"
    try:
        with _open(source) as f, av.open(f, "r") as container:
            formats = set(container.format.name.split(","))
            video = next((s for s in container.streams.video if not _is_cover(s)), None)
            audio = next(iter(container.streams.audio), None)
            kind, mime = _av_type(formats, video is not None, audio is not None, name, quicktime)
            stream = video if kind == "video" else audio
            duration = _duration(container, stream)
            _check_av(label, kind, stream, duration)
            estimate = _frame_bytes(stream) if kind == "video" else 16 * limits.MB
            with limits.prep_gate.hold(estimate):
                _decode_first(container, stream)
    except MediaError:
        raise
    except Exception as exc:
        raise CorruptMedia(f"{label} is damaged or truncated ({exc})") from exc
    return kind, mime, ({"duration_s": round(duration, 2)} if duration is not None else {})


def _is_cover(stream: Any) -> bool:
    """An attached picture (album art in an mp3 or m4a) is not a video track."""
    try:
        return bool(stream.disposition & 0x400)  # AV_DISPOSITION_ATTACHED_PIC
    except (AttributeError, TypeError, ValueError):  # a PyAV without dispositions
        return False


def _av_type(
    formats: set[str], video: bool, audio: bool, name: str, quicktime: bool = False
) -> tuple[Kind, str]:
    if "wav" in formats and audio:
        return "audio", "audio/wav"
    if "mp3" in formats and audio:
        return "audio", "audio/mpeg"
    if "ogg" in formats and audio and not video:
        return "audio", "audio/ogg"
    if "webm" in formats or "matroska" in formats:
        if video:
            return "video", "video/webm"
        if audio:
            return "audio", "audio/webm"
    if "mp4" in formats or "mov" in formats:
        quicktime = quicktime or PurePath(name).suffix.lower() in (".mov", ".qt")
        if video:
            return "video", "video/quicktime" if quicktime else "video/mp4"
        if audio:
            return "audio", "audio/mp4"
    if not video and not audio and formats & {"wav", "mp3", "ogg", "webm", "matroska", "mp4"}:
        raise CorruptMedia(f"{name or 'The file'} has no audio or video track")
    raise UnsupportedMedia(_unsupported(name))


def _check_av(label: str, kind: str, stream: Any, duration: float | None) -> None:
    """Refuse, from the container, what would be too long or too large to decode."""
    if duration is not None and duration > limits.MAX_MEDIA_SECONDS:
        raise CorruptMedia(
            f"{label} is {format_duration(duration)} long; the limit is "
            f"{format_duration(limits.MAX_MEDIA_SECONDS)}"
        )
    if kind == "video":
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        check_pixels(label, width, height)


def _frame_bytes(stream: Any) -> int:
    """A decoded frame and its RGB copy, roughly."""
    width = int(stream.codec_context.width or 0)
    height = int(stream.codec_context.height or 0)
    return max(width * height * 6, 16 * limits.MB)


_MAX_PACKETS_TO_FIRST_FRAME = 10_000


def _decode_first(container: Any, stream: Any) -> None:
    deadline = limits.Deadline()
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            if frame is not None:
                return
        if count > _MAX_PACKETS_TO_FIRST_FRAME or deadline.expired:
            break
    raise CorruptMedia("no frame could be decoded")


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def media_duration(path: Path) -> float | None:
    """Duration in seconds of an audio or video file, scanning packets when the header
    does not say (no decoding)."""
    import av

    with av.open(str(path), "r") as container:
        stream = next(iter(container.streams.video or container.streams.audio), None)
        if stream is None:
            return None
        known = _duration(container, stream)
        if known is not None:
            return known
        end = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return end or None


# ---- documents ----------------------------------------------------------------------


def _pdf_pages(source: Source, name: str) -> int:
    from pypdf import PdfReader

    try:
        with _open(source) as f:
            reader = PdfReader(f)
            if reader.is_encrypted:
                reader.decrypt("")
            pages = len(reader.pages)
    except Exception as exc:
        raise CorruptMedia(f"{name or 'The PDF'} is damaged or unreadable ({exc})") from exc
    if pages == 0:
        raise CorruptMedia(f"{name or 'The PDF'} has no pages")
    if pages > limits.MAX_PDF_PAGES:
        raise CorruptMedia(
            f"{name or 'The PDF'} has {pages:,} pages; the limit is {limits.MAX_PDF_PAGES:,}"
        )
    return pages


def _check_docx(source: Source, name: str) -> None:
    """Zip directory, size of the text part, and a streamed parse to the end (well-formed,
    within the paragraph limit); no tree is built, nothing else is read."""
    try:
        read_docx(source, name or "The document", 0, check_all=True)
    except UnsupportedMedia as exc:
        raise UnsupportedMedia(_unsupported(name)) from exc
