"""`horizon sources add URL`: detecting a feed, an announced feed, a JSON Feed and a listing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_site import LoopbackSite, Page
from typer.testing import CliRunner

from horizon.config import load_sources
from horizon.discover import autodiscovered_feeds, feed_kind, propose_selectors
from pipelines.cli import app

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Regulator news</title>
<item><title>New guidance on automated decisions</title><link>/news/1</link></item>
<item><title>Consultation on AI assurance opens</title><link>/news/2</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Updates</title><id>urn:u</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>An update</title><id>urn:u1</id><link href="https://x.example/1"/>
<updated>2026-12-01T00:00:00Z</updated></entry></feed>"""
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Vendor changes",
        "items": [{"id": "1", "title": "Model v2 deprecated", "url": "https://v.example/1"}],
    }
).encode()
ANNOUNCING = b"""<html><head><title>Regulator</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Hi</body></html>"""
LISTING = b"""<html><head><title>Standards programme</title></head><body>
<nav><a href="/">Home page of the body</a></nav><main>
<article class="card"><h3><a href="/std/1">Artificial intelligence management system</a></h3>
<time datetime="2026-11-02">2 Nov</time></article>
<article class="card"><h3><a href="/std/2">Guidance on AI risk management</a></h3>
<time datetime="2026-10-01">1 Oct</time></article>
<article class="card"><h3><a href="/std/3">Assessment of machine learning classification</a></h3>
<time datetime="2026-09-12">12 Sep</time></article>
</main></body></html>"""


def test_feed_formats_are_told_apart_by_content() -> None:
    assert feed_kind(RSS) == "rss" and feed_kind(ATOM) == "atom"
    assert feed_kind(JSON_FEED) == "jsonfeed" and feed_kind(LISTING) is None
    assert feed_kind(b'{"data": []}') is None


def test_announced_feeds_and_listing_selectors_are_found() -> None:
    assert autodiscovered_feeds(ANNOUNCING.decode(), "http://h.example/a/") == [
        ("http://h.example/feed.xml", "rss")
    ]
    selectors = propose_selectors(LISTING.decode())
    assert selectors is not None
    assert (selectors.item, selectors.link, selectors.date) == (
        "article.card",
        "a::attr(href)",
        "time::attr(datetime)",
    )
    assert propose_selectors("<html><body><p>No links at all</p></body></html>") is None


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackSite]:
    pages = {
        "/robots.txt": Page(b"User-agent: *\n", "text/plain"),
        "/feed.xml": Page(RSS, "application/rss+xml"),
        "/about": Page(ANNOUNCING),
        "/changes.json": Page(JSON_FEED, "application/feed+json"),
        "/programme": Page(LISTING),
        "/plain": Page(b"<html><body><p>Nothing to list here.</p></body></html>"),
    }
    with LoopbackSite(pages) as running:
        yield running


def add(home: Path, url: str, *extra: str) -> tuple[int, dict[str, object], str]:
    arguments = ["sources", "add", url, "--home", str(home), "--allow-private-hosts", *extra]
    result = CliRunner().invoke(app, [*arguments, "--json"])
    report = json.loads(result.stdout) if result.exit_code == 0 else {}
    return result.exit_code, report, result.output


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text(
        "crawl:\n  delay_seconds: 0\n  retries: 0\nsources:\n"
        "- id: existing\n  name: Existing\n  publisher: X\n  category: regulator\n"
        "  jurisdiction: UK\n  kind: rss\n  url: https://existing.example.org/feed\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("path", "kind", "how", "first_title"),
    [
        ("/feed.xml", "rss", "a feed", "New guidance on automated decisions"),
        ("/about", "rss", "the feed the page announces", "New guidance on automated decisions"),
        ("/changes.json", "jsonfeed", "a JSON Feed", "Model v2 deprecated"),
        ("/programme", "html-listing", "a listing page", "Artificial intelligence management"),
    ],
)
def test_each_kind_of_address_is_detected_and_written_on_confirmation(
    site: LoopbackSite, home: Path, path: str, kind: str, how: str, first_title: str
) -> None:
    code, report, output = add(home, site.base + path, "--yes")
    assert code == 0, output
    assert report["kind"] == kind and str(report["how"]).startswith(how)
    items = report["items"]
    assert isinstance(items, list) and str(items[0]["title"]).startswith(first_title)
    [_, written] = load_sources(home / "sources.yaml").sources
    assert written.kind == kind and report["written"] is True


def test_dry_run_writes_nothing_and_a_page_with_nothing_to_list_fails_plainly(
    site: LoopbackSite, home: Path
) -> None:
    code, report, _ = add(home, site.base + "/programme", "--dry-run")
    assert code == 0 and report["written"] is False
    assert [s.id for s in load_sources(home / "sources.yaml").sources] == ["existing"]
    code, _, output = add(home, site.base + "/plain", "--yes")
    assert code == 2 and "no repeated list of links" in output
