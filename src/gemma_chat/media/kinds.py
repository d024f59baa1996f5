"""What an uploaded file is: sniffed from its content, then checked by actually opening it.

The file name only breaks ties the bytes cannot (plain text: txt, md or csv). A file that
claims a type it does not have is judged by its content; one we cannot take raises
`UnsupportedMedia` (HTTP 415), one that looks right but does not open or decode raises
`CorruptMedia` (HTTP 422).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import IO, Any, Literal

Kind = Literal["image", "audio", "video", "document"]
Source = Path | str | bytes

log = logging.getLogger(__name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT_MIMES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
              ".csv": "text/csv", "": "text/plain"}  # fmt: skip
IMAGE_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
ACCEPTED = "png, jpeg, webp, gif, wav, mp3, ogg, webm, m4a, mp4, mov, pdf, txt, md, csv, docx"
_SNIFF_BYTES = 64 * 1024


class MediaError(Exception):
    """The upload cannot be used; the message is meant for the user."""


class UnsupportedMedia(MediaError):
    """Not a type we accept (HTTP 415)."""


class CorruptMedia(MediaError):
    """A type we accept, but damaged, truncated or empty (HTTP 422)."""


class TooLarge(MediaError):
    """Over the upload size limit (HTTP 413)."""


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
    from PIL import Image

    try:
        with _open(source) as f, Image.open(f) as image:
            fmt = image.format or ""
            if fmt not in IMAGE_MIMES:
                raise UnsupportedMedia(_unsupported(name))
            image.load()
            width, height = image.size
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise CorruptMedia(f"{name or 'The image'} is too large to open safely") from exc
    except Exception as exc:
        raise CorruptMedia(f"{name or 'The image'} is damaged or truncated ({exc})") from exc
    return "image", IMAGE_MIMES[fmt], {"width": width, "height": height}


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
            _decode_first(container, stream)
            duration = _duration(container, stream)
    except MediaError:
        raise
    except Exception as exc:
        raise CorruptMedia(f"{label} is damaged or truncated ({exc})") from exc
    return kind, mime, ({"duration_s": round(duration, 2)} if duration is not None else {})


def _is_cover(stream: Any) -> bool:
    """An attached picture (album art in an mp3 or m4a) is not a video track."""
    try:
        return bool(stream.disposition & 0x400)  # AV_DISPOSITION_ATTACHED_PIC
    except Exception:
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


def _decode_first(container: Any, stream: Any) -> None:
    for frame in container.decode(stream):
        if frame is not None:
            return
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
    return pages


def _check_docx(source: Source, name: str) -> None:
    import docx

    try:
        with _open(source) as f:
            data = f.read()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise UnsupportedMedia(_unsupported(name))
        docx.Document(io.BytesIO(data))
    except MediaError:
        raise
    except Exception as exc:
        raise CorruptMedia(f"{name or 'The document'} is damaged or unreadable ({exc})") from exc
