"""The main text of a fetched page or PDF, within caps. Pure: bytes in, text (or an error) out.

trafilatura and pypdf are imported where they are used: together they add most of a second to
every crawler process's start, and a crawl that follows no link never needs them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from io import BytesIO

from horizon.enrich.model import FullTextCaps

PDF_TYPES = ("application/pdf", "application/x-pdf")
HTML_TYPES = ("text/html", "application/xhtml+xml")


class ExtractionError(ValueError):
    """The response holds no usable text; the message says why in plain words."""


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str  # "html" or "pdf"
    notes: list[str] = field(default_factory=list)  # caps that cut the text short

    @property
    def text_hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def extract_text(body: bytes, content_type: str | None, caps: FullTextCaps) -> Extracted:
    """The main content of an HTML page (trafilatura) or the text of a PDF (pypdf)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in PDF_TYPES or body.startswith(b"%PDF-"):
        return extract_pdf(body, caps)
    if media_type in HTML_TYPES or (not media_type and b"<html" in body[:2048].lower()):
        return extract_html(body, caps)
    raise ExtractionError(
        f"the link is neither a web page nor a PDF (content type {media_type or 'unknown'}), "
        "so no full text was taken"
    )


def extract_html(body: bytes, caps: FullTextCaps) -> Extracted:
    import trafilatura

    text = trafilatura.extract(
        body.decode("utf-8", errors="replace"),
        include_comments=False,
        include_tables=True,
        favor_precision=True,
    )
    if not text or not text.strip():
        raise ExtractionError("the page has no main text that could be extracted")
    return _capped(text.strip(), "html", caps, [])


def extract_pdf(body: bytes, caps: FullTextCaps) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    notes: list[str] = []
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(BytesIO(body))
        pages = reader.pages
        total = len(pages)
        texts: list[str] = []
        length = 0
        for number in range(min(total, caps.max_pdf_pages)):
            page_text = pages[number].extract_text() or ""
            texts.append(page_text)
            length += len(page_text)
            if length >= caps.max_chars:
                break
    except (PyPdfError, ValueError, KeyError, TypeError, MemoryError) as error:
        raise ExtractionError(
            f"the PDF could not be read ({type(error).__name__}: {str(error)[:200]})"
        ) from error
    if total > caps.max_pdf_pages:
        notes.append(f"only the first {caps.max_pdf_pages} of {total} pages were read (page cap)")
    text = "\n\n".join(part.strip() for part in texts if part.strip())
    if not text:
        raise ExtractionError("the PDF holds no extractable text (it may be scanned images)")
    return _capped(text, "pdf", caps, notes)


def _capped(text: str, kind: str, caps: FullTextCaps, notes: list[str]) -> Extracted:
    if len(text) > caps.max_chars:
        notes = [*notes, f"text cut at {caps.max_chars} characters of {len(text)} (character cap)"]
        text = text[: caps.max_chars]
    return Extracted(text, kind, notes)
