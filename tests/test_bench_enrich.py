"""The enrichment benchmark measures real extraction: its pages and PDFs yield their text."""

from __future__ import annotations

from bench.enrich import ITEMS, build_site
from horizon.enrich.extract import extract_text
from horizon.enrich.model import FullTextCaps


def test_every_page_and_pdf_the_benchmark_serves_extracts_to_its_text() -> None:
    site = build_site()
    linked = {path: page for path, page in site.items() if path.startswith(("/updates", "/docs"))}
    assert len(linked) == ITEMS
    kinds = set()
    for body, content_type in linked.values():
        extracted = extract_text(body, content_type, FullTextCaps())
        kinds.add(extracted.kind)
        assert len(extracted.text) > 300 and "Accept all cookies" not in extracted.text
    assert kinds == {"html", "pdf"}
