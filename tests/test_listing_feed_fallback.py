"""A listing whose selectors stop matching: the run reads the feed the page announces instead."""

from __future__ import annotations

from pathlib import Path

from loopback_site import LoopbackSite, Page, loopback_source

from horizon.config import CrawlSettings
from horizon.discover import fallback_feed
from horizon.fetch import CrawlJob
from spiders.crawl import run_crawl

REDESIGNED_LISTING = b"""<html><head><title>Regulator news</title>
<link rel="alternate" type="application/rss+xml" title="News" href="/news/feed.xml">
</head><body><main><div class="new-card"><a href="/news/1">New guidance on automated
decisions</a></div></main></body></html>"""
QUIET_LISTING = b"""<html><head><title>Regulator news</title></head><body><main>
<div class="new-card"><a href="/news/1">New guidance</a></div></main></body></html>"""
ANNOUNCING_A_MISSING_FEED = REDESIGNED_LISTING.replace(b"/news/feed.xml", b"/gone.xml")
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Regulator news</title>
<item><title>New guidance on automated decisions</title><link>/news/1</link>
<pubDate>Mon, 07 Dec 2026 09:00:00 GMT</pubDate></item>
<item><title>Consultation on AI assurance opens</title><link>/news/2</link>
<pubDate>Fri, 04 Dec 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""
OLD_SELECTORS = {"item": "article.news-card", "title": "h3 a::text", "link": "h3 a::attr(href)"}


def test_announced_feed_is_found_but_never_the_page_itself() -> None:
    assert fallback_feed(REDESIGNED_LISTING.decode(), "http://h.example/news") == (
        "http://h.example/news/feed.xml",
        "rss",
    )
    itself = b'<link rel="alternate" type="application/rss+xml" href="/news">'
    assert fallback_feed(itself.decode(), "http://h.example/news") is None
    assert fallback_feed(QUIET_LISTING.decode(), "http://h.example/news") is None


def test_listing_whose_selectors_match_nothing_uses_the_announced_feed_and_says_so(
    tmp_path: Path,
) -> None:
    pages = {
        "/robots.txt": Page(b"User-agent: *\n", "text/plain"),
        "/news": Page(REDESIGNED_LISTING),
        "/news/feed.xml": Page(RSS, "application/rss+xml"),
        "/quiet": Page(QUIET_LISTING),
        "/missing": Page(ANNOUNCING_A_MISSING_FEED),
    }
    with LoopbackSite(pages) as site:
        sources = [
            loopback_source(
                name, f"{site.base}/{name}", kind="html-listing", selectors=OLD_SELECTORS
            )
            for name in ("news", "quiet", "missing")
        ]
        job = CrawlJob(crawl=CrawlSettings(delay_seconds=0, retries=0), sources=sources)
        fell_back, quiet, missing = run_crawl(job, tmp_path / "work", time_limit_s=120)

    assert fell_back.outcome == "ok", fell_back.error
    assert [entry.title for entry in fell_back.entries] == [
        "New guidance on automated decisions",
        "Consultation on AI assurance opens",
    ]
    assert fell_back.entries[1].url == f"{site.base}/news/2"
    assert fell_back.warning is not None
    assert "selectors matched nothing; used the autodiscovered feed" in fell_back.warning
    assert f"{site.base}/news/feed.xml" in fell_back.warning
    assert "update sources.yaml" in fell_back.warning
    assert fell_back.etag is None and fell_back.last_modified is None  # the listing is read again

    assert quiet.outcome == "failed" and "held no items" in (quiet.error or "")
    assert missing.outcome == "failed"
    assert f"{site.base}/gone.xml" in (missing.error or "")
    assert "404" in (missing.error or "")
