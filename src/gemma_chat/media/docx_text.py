"""Text out of a docx in bounded memory: the zip directory is checked before any member
is read, and word/document.xml is streamed through expat (no tree, no DTD), so a 180 KB
file of 20 M empty paragraphs costs a parse, not gigabytes.

Paragraphs come out in document order; a table's rows as `cell | cell` lines after a
blank line.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.parsers import expat

from gemma_chat.errors import CorruptMedia, UnsupportedMedia
from gemma_chat.media import limits
from gemma_chat.util.units import format_bytes

DOCUMENT = "word/document.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main "
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006 "
_CHUNK = 64 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"


Source = Path | str | bytes


@contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
    else:
        with open(source, "rb") as f:
            yield f


class _Enough(Exception):
    """Stop parsing: the text limit is reached and the rest need not be checked."""


class _Refused(Exception):
    """Over a limit while parsing; the message completes "<name> cannot be used: …"."""


def check_zip(source: Source, label: str) -> None:
    """Refuse a zip whose directory promises too much: too many members, too large in all,
    or a member that expands more than `MAX_ZIP_RATIO` times (read from the end-of-
    directory record first, so a million-entry directory is never parsed)."""
    with _opened(source) as f:
        entries, directory_size = _end_of_directory(f, label)
    if entries > limits.MAX_ZIP_MEMBERS or directory_size > limits.MAX_ZIP_DIRECTORY:
        raise CorruptMedia(
            f"{label} has {entries:,} archive members; the limit is {limits.MAX_ZIP_MEMBERS:,}"
        )
    try:
        with _opened(source) as f, zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptMedia(f"{label} is damaged or unreadable ({exc})") from exc
    total = sum(m.file_size for m in members)
    if total > limits.MAX_ZIP_UNCOMPRESSED:
        raise CorruptMedia(
            f"{label} expands to {format_bytes(total)}; the limit is "
            f"{format_bytes(limits.MAX_ZIP_UNCOMPRESSED)}"
        )
    for member in members:
        packed = max(1, member.compress_size)
        if (
            member.file_size > limits.RATIO_FLOOR
            and member.file_size > packed * limits.MAX_ZIP_RATIO
        ):
            raise CorruptMedia(
                f"{label} has a member that expands {member.file_size // packed:,} times "
                f"({member.filename}); the limit is {limits.MAX_ZIP_RATIO}"
            )


def _end_of_directory(f: IO[bytes], label: str) -> tuple[int, int]:
    """(entries, central directory bytes) from the end-of-central-directory record."""
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - (65_535 + 22 + 20)))
    tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise CorruptMedia(f"{label} is damaged or unreadable (no zip directory)")
    entries, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
        locator = at - 20
        if locator >= 0 and tail[locator : locator + 4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            f.seek(offset)
            record = f.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                entries, directory_size = struct.unpack("<QQ", record[32:48])
    return entries, directory_size


@dataclass
class DocxText:
    text: str
    truncated: bool
    paragraphs: int


@dataclass
class _Reader:
    limit: int
    keep_going: bool  # parse to the end after the limit (checking), or stop there
    lines: list[str] = field(default_factory=list)
    total: int = 0
    truncated: bool = False
    paragraphs: int = 0
    run: int = 0  # depth inside w:r
    text: int = 0  # depth inside w:t
    fallback: int = 0  # inside mc:Fallback (a copy of what mc:Choice holds)
    tables: int = 0
    para: list[str] | None = None
    para_depth: int = 0
    cell: list[str] | None = None
    row: list[str] | None = None

    def start(self, name: str, _attrs: dict[str, str]) -> None:
        if name == _MC + "Fallback" or self.fallback:
            self.fallback += 1
            return
        if name == _W + "p":
            self.para_depth += 1
            if self.para_depth == 1:
                self.para = []
        elif name == _W + "r":
            self.run += 1
        elif name == _W + "t":
            self.text += 1
        elif self.run and self.para is not None and name in (_W + "tab",):
            self.para.append("\t")
        elif self.run and self.para is not None and name in (_W + "br", _W + "cr"):
            self.para.append("\n")
        elif name == _W + "tbl":
            self.tables += 1
            if self.tables == 1:
                self._emit("")
        elif name == _W + "tr" and self.tables == 1:
            self.row = []
        elif name == _W + "tc" and self.tables == 1:
            self.cell = []

    def end(self, name: str) -> None:
        if self.fallback:
            self.fallback -= 1
            return
        if name == _W + "p":
            self.para_depth -= 1
            if self.para_depth:
                return
            self.paragraphs += 1
            if self.paragraphs > limits.MAX_DOCX_PARAGRAPHS:
                raise _Refused(f"it has more than {limits.MAX_DOCX_PARAGRAPHS:,} paragraphs")
            line = "".join(self.para or ())
            self.para = None
            if self.tables == 0:
                self._emit(line)
            elif self.cell is not None:
                self.cell.append(line)
        elif name == _W + "r":
            self.run -= 1
        elif name == _W + "t":
            self.text -= 1
        elif name == _W + "tbl":
            self.tables -= 1
        elif name == _W + "tc" and self.tables == 1 and self.cell is not None:
            if self.row is not None:
                self.row.append("\n".join(self.cell).strip())
            self.cell = None
        elif name == _W + "tr" and self.tables == 1 and self.row is not None:
            self._emit(" | ".join(self.row))
            self.row = None

    def chars(self, data: str) -> None:
        if self.text and self.para is not None and not self.fallback:
            self.para.append(data)

    def _emit(self, line: str) -> None:
        if self.truncated:
            return
        self.lines.append(line)
        self.total += len(line) + 1
        if self.total > self.limit:
            self.truncated = True
            if not self.keep_going:
                raise _Enough


def _no_dtd(*_args: object) -> None:
    raise _Refused("a document type declaration is not allowed in a docx")


def read_docx(
    source: Source,
    label: str,
    limit: int,
    *,
    check_all: bool = False,
    budget_s: float | None = None,
) -> DocxText:
    """The document's text, at most `limit` characters. `check_all` parses to the end
    (the upload check: well-formed, within the paragraph limit) instead of stopping once
    the limit is reached. Raises CorruptMedia or UnsupportedMedia."""
    check_zip(source, label)
    deadline = limits.Deadline(budget_s or limits.DECODE_BUDGET_S)
    reader = _Reader(limit, check_all)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.chars
    parser.buffer_text = True
    try:
        with _opened(source) as f, zipfile.ZipFile(f) as archive:
            try:
                info = archive.getinfo(DOCUMENT)
            except KeyError:
                raise UnsupportedMedia(f"{label} is not a Word document") from None
            if info.file_size > limits.MAX_DOCX_XML:
                raise _Refused(
                    f"its text part is {format_bytes(info.file_size)}; the limit "
                    f"is {format_bytes(limits.MAX_DOCX_XML)}"
                )
            with archive.open(info) as xml:
                while chunk := xml.read(_CHUNK):
                    parser.Parse(chunk, False)
                    if deadline.expired:
                        raise _Refused(f"reading it took over {deadline.seconds:g} s")
                parser.Parse(b"", True)
    except _Enough:
        pass
    except _Refused as exc:
        raise CorruptMedia(f"{label} cannot be used: {exc}") from exc
    except (expat.ExpatError, zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptMedia(f"{label} is damaged or unreadable ({exc})") from exc
    text = "\n".join(reader.lines).strip("\n")
    if len(text) > limit:
        return DocxText(text[:limit], True, reader.paragraphs)
    return DocxText(text, reader.truncated, reader.paragraphs)
