"""Full text for new items: extraction (trafilatura, pypdf), caps, and a real loopback crawl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loopback_site import LoopbackSite, Page, loopback_source
from typer.testing import CliRunner

from demo.pdf import text_pdf
from horizon.cli import app
from horizon.config import CrawlSettings
from horizon.enrich.extract import ExtractionError, extract_text
from horizon.enrich.model import EnrichJob, FullTextCaps
from horizon.enrich.store import MAX_ATTEMPTS, FullText, FullTextStore
from horizon.fetch import ArchiveTarget, CrawlJob, FetchOutcome
from horizon.item import Item
from horizon.normalise import canonical_url
from horizon.state import StateDB
from spiders.crawl import run_crawl

ARTICLE = b"""<!doctype html><html><head><title>Guidance</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/contact">Contact us</a></nav>
<div class="cookie-banner">We use cookies to improve this site. Accept all cookies.</div>
<main><article><h1>Guidance on auditing AI systems</h1>
<p>Organisations deploying high-risk AI systems must complete a conformity assessment before
the systems are placed on the market, and keep the technical documentation for ten years.</p>
<p>Providers must register the system in the EU database by 2 August 2026 at the latest, and
report serious incidents to the market surveillance authority within fifteen days.</p>
<p>The regulator will publish a template for the fundamental rights impact assessment, which
deployers in the public sector must complete before first use of the system.</p>
</article></main>
<footer>Copyright 2026. Privacy notice. Accessibility statement.</footer>
</body></html>"""
CAPS = FullTextCaps(max_bytes=40_000, max_pdf_pages=2, max_chars=10_000)


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF with one line of text per page."""
    return text_pdf("A linked document", [[text] for text in pages])


def test_html_extraction_keeps_the_article_and_drops_navigation_and_banners() -> None:
    extracted = extract_text(ARTICLE, "text/html; charset=utf-8", CAPS)
    assert extracted.kind == "html"
    assert "conformity assessment" in extracted.text
    assert "within fifteen days" in extracted.text
    assert "Contact us" not in extracted.text and "Accept all cookies" not in extracted.text
    assert extracted.text_hash.startswith("sha256:") and not extracted.notes


def test_pdf_text_is_extracted_page_by_page() -> None:
    pdf = make_pdf(["Consultation closes on 30 January 2027", "Responses go to the AI Office"])
    extracted = extract_text(pdf, "application/pdf", CAPS)
    assert extracted.kind == "pdf"
    assert "Consultation closes on 30 January 2027" in extracted.text
    assert "Responses go to the AI Office" in extracted.text


def test_pdf_over_the_page_cap_is_read_only_up_to_the_cap_and_says_so() -> None:
    pdf = make_pdf([f"Page number {n} of the annex" for n in range(1, 6)])
    extracted = extract_text(pdf, "application/pdf", CAPS)
    assert "Page number 2" in extracted.text and "Page number 3" not in extracted.text
    assert extracted.notes == ["only the first 2 of 5 pages were read (page cap)"]


def test_text_over_the_character_cap_is_cut_and_says_so() -> None:
    long_page = ARTICLE.replace(b"</article>", b"<p>" + b"More duties apply. " * 2000 + b"</p>")
    extracted = extract_text(long_page, "text/html", CAPS)
    assert len(extracted.text) == CAPS.max_chars
    assert "character cap" in extracted.notes[0]


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"%PDF-1.7 this is not really a pdf", "application/pdf", "the PDF could not be read"),
        (b"\x89PNG\r\n\x1a\n", "image/png", "neither a web page nor a PDF"),
        (b"<html><body></body></html>", "text/html", "no main text"),
    ],
)
def test_unusable_responses_raise_a_plain_reason(
    body: bytes, content_type: str, reason: str
) -> None:
    with pytest.raises(ExtractionError, match=reason):
        extract_text(body, content_type, CAPS)


RSS_TEMPLATE = """<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
{items}</channel></rss>"""
LINKS = {
    "article": "/articles/1",
    "pdf": "/docs/report.pdf",
    "huge": "/docs/huge.pdf",
    "gone": "/articles/gone",
    "known": "/articles/known",
    "disallowed": "/private/memo",
}
REPORT_PDF = make_pdf(["The code of practice applies from 2 August 2025"])


@dataclass
class EnrichedCrawl:
    base: str
    site: LoopbackSite
    home: Path
    outcome: FetchOutcome


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnrichedCrawl]:
    home = tmp_path_factory.mktemp("home")
    items = "".join(
        f"<item><title>{name}</title><link>{path}</link></item>" for name, path in LINKS.items()
    )
    pages = {
        "/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/feed.xml": Page(RSS_TEMPLATE.format(items=items).encode(), "application/rss+xml"),
        "/articles/1": Page(ARTICLE),
        "/docs/report.pdf": Page(REPORT_PDF, "application/pdf"),
        "/docs/huge.pdf": Page(b"%PDF-1.7\n" + b"0" * 100_000, "application/pdf"),
        "/articles/known": Page(ARTICLE),
        "/private/memo": Page(ARTICLE),
    }
    with LoopbackSite(pages) as site:
        known = canonical_url(site.base + LINKS["known"])
        assert known is not None
        job = CrawlJob(
            crawl=CrawlSettings(delay_seconds=0, retries=0, timeout_seconds=5),
            sources=[loopback_source("news", f"{site.base}/feed.xml")],
            enrich=EnrichJob(state_db=str(home / "state.db"), followed_urls=[known], caps=CAPS),
            archive=ArchiveTarget(
                warc_path=str(home / "archive" / "crawl.warc.gz"), index_db=str(home / "state.db")
            ),
        )
        [outcome] = run_crawl(job, home / "work")
        yield EnrichedCrawl(site.base, site, home, outcome)


def stored(enriched: EnrichedCrawl, name: str) -> FullText:
    url = canonical_url(enriched.base + LINKS[name])
    assert url is not None
    full_text = FullTextStore(StateDB(enriched.home / "state.db")).get(url)
    assert full_text is not None, f"nothing stored for {name}"
    return full_text


def test_new_items_links_are_followed_once_and_their_text_stored(enriched: EnrichedCrawl) -> None:
    article = stored(enriched, "article")
    assert article.status == "ok" and article.kind == "html"
    assert "conformity assessment" in article.text and article.text_hash.startswith("sha256:")
    pdf = stored(enriched, "pdf")
    assert pdf.status == "ok" and "applies from 2 August 2025" in pdf.text
    assert enriched.site.requested.count(LINKS["article"]) == 1


def test_links_already_followed_are_not_fetched_again(enriched: EnrichedCrawl) -> None:
    assert LINKS["known"] not in enriched.site.requested
    known = canonical_url(enriched.base + LINKS["known"])
    assert known is not None
    assert FullTextStore(StateDB(enriched.home / "state.db")).get(known) is None


def test_failed_enrichment_is_recorded_and_the_item_kept(enriched: EnrichedCrawl) -> None:
    outcome = enriched.outcome
    assert outcome.outcome == "ok" and len(outcome.entries) == len(LINKS)
    gone = stored(enriched, "gone")
    assert gone.error == "the item's page answered HTTP 404; the item is kept without its full text"
    huge = stored(enriched, "huge")
    assert huge.status == "failed" and "full-text cap of 40,000 bytes" in huge.error
    disallowed = stored(enriched, "disallowed")
    assert disallowed.status == "failed" and "robots.txt" in disallowed.error
    assert LINKS["disallowed"] not in enriched.site.requested


def test_archive_show_reports_the_items_full_text_or_why_it_failed(
    enriched: EnrichedCrawl,
) -> None:
    state = StateDB(enriched.home / "state.db")
    for name in ("article", "gone"):
        url = canonical_url(enriched.base + LINKS[name])
        item = Item(id=name, title=name, url=url, source="news", content_hash="x")
        state.save_new_items([item], datetime(2026, 12, 6, tzinfo=UTC))
    runner = CliRunner()

    def full_text_of(item_id: str) -> dict[str, object]:
        arguments = ["archive", "show", item_id, "--home", str(enriched.home), "--json"]
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        return {**report["full_text"], "page_fetches": report["page_fetches"]}

    article = full_text_of("article")
    assert [fetch["http_status"] for fetch in article["page_fetches"]] == [200]
    assert article["status"] == "ok" and article["kind"] == "html"
    assert str(article["text_hash"]).startswith("sha256:") and int(str(article["chars"])) > 100
    gone = full_text_of("gone")
    assert gone["status"] == "failed" and "HTTP 404" in str(gone["error"])
    assert [fetch["http_status"] for fetch in gone["page_fetches"]] == [404]


def crawl_and_store(site: LoopbackSite, home: Path, caps: FullTextCaps) -> list[str]:
    """One crawl of the site's /feed.xml with what the home's state knows of its links, then
    its items stored as the flow stores them; the paths the crawl requested."""
    before = len(site.requested)
    state = StateDB(home / "state.db")
    store = FullTextStore(state)
    job = CrawlJob(
        crawl=CrawlSettings(delay_seconds=0, retries=0, timeout_seconds=5),
        sources=[loopback_source("news", f"{site.base}/feed.xml")],
        enrich=EnrichJob(
            state_db=str(home / "state.db"),
            followed_urls=store.followed_urls(),
            stored_urls=store.waiting_item_urls(),
            caps=caps,
        ),
    )
    [outcome] = run_crawl(job, home / "work")
    assert outcome.outcome == "ok"
    urls = {e.url: canonical_url(site.base + e.url) for e in outcome.entries if e.url}
    known = state.items_by_url([url for url in urls.values() if url])
    state.save_new_items(
        [
            Item(id=path, title=path, url=url, source="news", content_hash="x")
            for path, url in urls.items()
            if url not in known
        ],
        datetime(2026, 12, 6, tzinfo=UTC),
    )
    return site.requested[before:]


def test_links_left_over_by_the_budget_are_followed_next_crawl_after_new_items(
    tmp_path: Path,
) -> None:
    """An item stored without an attempt (the budget ran out) is followed when its feed lists
    it again, behind the new items, within the same per-source budget; then never again."""
    paths = [f"/articles/{n}" for n in range(1, 6)]

    def feed(listed: list[str]) -> Page:
        entries = "".join(f"<item><title>{p}</title><link>{p}</link></item>" for p in listed)
        return Page(RSS_TEMPLATE.format(items=entries).encode(), "application/rss+xml")

    def crawl(site: LoopbackSite) -> set[str]:
        """One crawl with a budget of two links; the article paths it fetched."""
        caps = CAPS.model_copy(update={"per_source": 2})
        return {path for path in crawl_and_store(site, tmp_path, caps) if path in paths}

    pages = {path: Page(ARTICLE) for path in paths}
    with LoopbackSite({**pages, "/feed.xml": feed(paths[:3])}) as site:
        assert crawl(site) == set(paths[:2])  # the third is left over by the budget
        site.pages["/feed.xml"] = feed([paths[3], paths[4], *paths[:3]])
        assert crawl(site) == {paths[3], paths[4]}  # two new items come first
        site.pages["/feed.xml"] = feed(paths)
        assert crawl(site) == {paths[2]}  # the left-over link, now
        assert crawl(site) == set()  # each link once
    assert FullTextStore(StateDB(tmp_path / "state.db")).waiting_item_urls() == []


def test_a_link_that_failed_for_a_passing_cause_is_tried_again_in_later_crawls_up_to_a_cap(
    tmp_path: Path,
) -> None:
    """HTTP 503 may pass: the link is tried again each crawl that lists its item, until it
    gives a text or has failed MAX_ATTEMPTS times; a 404 is final after one attempt."""
    paths = {"flaky": "/articles/flaky", "down": "/articles/down", "gone": "/articles/gone"}
    entries = "".join(f"<item><title>{n}</title><link>{p}</link></item>" for n, p in paths.items())
    unavailable = Page(b"try later", "text/plain", 503)
    pages = {
        "/feed.xml": Page(RSS_TEMPLATE.format(items=entries).encode(), "application/rss+xml"),
        paths["flaky"]: unavailable,
        paths["down"]: unavailable,
    }
    store = FullTextStore(StateDB(tmp_path / "state.db"))

    def crawl(site: LoopbackSite) -> list[str]:
        """One crawl; the article paths it fetched."""
        requested = crawl_and_store(site, tmp_path, CAPS)
        return sorted(p for p in requested if p.startswith("/articles/"))

    def full_text(name: str) -> FullText:
        url = canonical_url(site.base + paths[name])
        assert url is not None
        found = store.get(url)
        assert found is not None
        return found

    with LoopbackSite(pages) as site:
        assert crawl(site) == sorted(paths.values())
        assert full_text("flaky").will_retry and full_text("down").will_retry
        gone = full_text("gone")
        assert (gone.attempts, gone.will_retry) == (1, False)
        assert crawl(site) == sorted([paths["flaky"], paths["down"]])  # not the 404
        site.pages[paths["flaky"]] = Page(ARTICLE)
        assert crawl(site) == sorted([paths["flaky"], paths["down"]])
        flaky = full_text("flaky")
        assert flaky.status == "ok" and "conformity assessment" in flaky.text
        down = full_text("down")
        assert (down.status, down.attempts, down.will_retry) == ("failed", MAX_ATTEMPTS, False)
        assert "HTTP 503" in (down.error or "")
        assert crawl(site) == []  # nothing is fetched a fourth time
    assert store.waiting_item_urls() == []
