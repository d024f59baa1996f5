"""Text out of documents (pdf, docx, txt, md, csv), stopped early once a limit is reached
(text length, pages read, time: media/limits.py)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from gemma_chat.media import limits
from gemma_chat.media.docx_text import read_docx
from gemma_chat.media.kinds import DOCX_MIME

log = logging.getLogger(__name__)

DEFAULT_MAX_DOC_CHARS = 100_000
_LANGUAGE = {"text/markdown": "markdown", "text/csv": "csv"}


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    truncated: bool  # there was more than `limit` characters


def extract_text(path: Path, mime: str, limit: int = DEFAULT_MAX_DOC_CHARS) -> Extracted:
    if mime == "application/pdf":
        return _pdf(path, limit)
    if mime == DOCX_MIME:
        return _docx(path, limit)
    with open(path, "rb") as f:
        raw = f.read(limit * 4 + 4)  # a character is at most 4 bytes of UTF-8
        more = bool(f.read(1))
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    text = text.replace("\r\n", "\n")
    return _cut(text, limit, more)


def fenced(name: str, mime: str, text: str, truncated: bool = False) -> str:
    """The document as the model sees it: its name, then a code fence that its own
    backticks cannot close."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text.rstrip("\n")
    tail = "\n[… truncated]" if truncated else ""
    return f"File: {name}\n{fence}{_LANGUAGE.get(mime, '')}\n{body}{tail}\n{fence}"


def _cut(text: str, limit: int, more: bool = False) -> Extracted:
    if len(text) > limit:
        return Extracted(text[:limit], True)
    return Extracted(text, more)


def _pdf(path: Path, limit: int) -> Extracted:
    """Page by page until the text limit, `MAX_PDF_PAGES_READ` pages or the time budget;
    decoded page content is dropped after each page (pypdf caches it otherwise)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt("")
    deadline = limits.Deadline()
    parts: list[str] = []
    total = 0
    count = len(reader.pages)
    for index, page in enumerate(reader.pages):
        if index >= limits.MAX_PDF_PAGES_READ or deadline.expired:
            return _cut("\n\n".join(parts), limit, more=True)
        try:
            text = page.extract_text() or ""
        except Exception:  # pypdf fails in many ways on a damaged page: skip the page
            log.debug("no text from page %d of %s", index + 1, path.name, exc_info=True)
            text = ""
        reader.resolved_objects.clear()
        chunk = f"--- page {index + 1} ---\n{text.strip()}" if count > 1 else text.strip()
        parts.append(chunk)
        total += len(chunk) + 2
        if total > limit:
            return _cut("\n\n".join(parts), limit, more=index + 1 < count)
    text = "\n\n".join(parts)
    if not any(p.split("\n", 1)[-1].strip() for p in parts):
        text = ""
    return _cut(text, limit)


def _docx(path: Path, limit: int) -> Extracted:
    result = read_docx(path, path.name, limit)
    return Extracted(result.text, result.truncated)
