"""Small, deterministic text PDFs (Helvetica, WinAnsi), written by hand: the kind of document a
publisher links to, with real text for pypdf to extract. The demo snapshot, the enrichment
benchmark and the tests all serve these."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

PDF_LINE_CHARS = 88
PDF_PAGE_LINES = 46


def simple_pdf(title: str, paragraphs: Sequence[str]) -> bytes:
    """The paragraphs wrapped into lines, with a blank line after each, on as many pages as
    they need."""
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += [*textwrap.wrap(paragraph, PDF_LINE_CHARS), ""]
    pages = [lines[at : at + PDF_PAGE_LINES] for at in range(0, len(lines), PDF_PAGE_LINES)]
    return text_pdf(title, pages)


def text_pdf(title: str, pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with these lines on each page, in order."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the page objects are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _pdf_string(title) + b") /Producer (Horizon demo) >>",
    ]
    kids = []
    for page_lines in pages:
        text = b" T* ".join(b"(" + _pdf_string(line) + b") Tj" for line in page_lines)
        stream = b"BT /F1 11 Tf 14 TL 56 786 Td " + text + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf_string(text: str) -> bytes:
    encoded = text.encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
