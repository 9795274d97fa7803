"""The archive of every response: a real loopback crawl written as WARC, read back with warcio."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from loopback_site import LoopbackSite, Page, loopback_source
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from horizon.archive import ArchiveIndex, warc_path_for
from horizon.cli import app
from horizon.config import CrawlSettings
from horizon.fetch import ArchiveTarget, CrawlJob, FetchOutcome
from horizon.item import Item
from horizon.state import StateDB
from spiders.crawl import run_crawl

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>Guidance on AI audits</title><link>/news/1</link></item>
</channel></rss>"""
PAGES = {
    "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
    "/feed.xml": Page(RSS, "application/rss+xml"),
    "/old-feed": Page(b"", "text/plain", 301, {"Location": "/feed.xml"}),
}


@dataclass
class ArchivedCrawl:
    home: Path
    warc: Path
    outcomes: dict[str, FetchOutcome]
    base: str


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchivedCrawl]:
    home = tmp_path_factory.mktemp("home")
    warc = warc_path_for(home, date(2026, 12, 6), 1)
    with LoopbackSite(PAGES) as site:
        sources = [
            loopback_source("plain-feed", f"{site.base}/feed.xml"),
            loopback_source("moved-feed", f"{site.base}/old-feed"),
            loopback_source("gone-feed", f"{site.base}/gone.xml"),
        ]
        job = CrawlJob(
            crawl=CrawlSettings(delay_seconds=0, retries=0, timeout_seconds=5),
            sources=sources,
            archive=ArchiveTarget(warc_path=str(warc), index_db=str(home / "state.db")),
        )
        outcomes = run_crawl(job, home / "work")
        yield ArchivedCrawl(home, warc, {o.source: o for o in outcomes}, site.base)


def warc_responses(path: Path) -> list[tuple[str, int, bytes]]:
    with path.open("rb") as handle:
        return [
            (
                record.rec_headers.get_header("WARC-Target-URI"),
                int(record.http_headers.get_statuscode()),
                record.content_stream().read(),
            )
            for record in ArchiveIterator(handle)
            if record.rec_type == "response"
        ]


def test_every_response_of_the_crawl_is_a_warc_record_with_its_body(crawl: ArchivedCrawl) -> None:
    assert crawl.warc.name == "2026-12-06-run-1.warc.gz"
    records = {(url, status): body for url, status, body in warc_responses(crawl.warc)}
    base = crawl.base
    assert records[(f"{base}/feed.xml", 200)] == RSS
    assert (f"{base}/old-feed", 301) in records  # the redirect itself, not only its target
    assert (f"{base}/gone.xml", 404) in records
    assert records[(f"{base}/robots.txt", 200)] == PAGES["/robots.txt"].body
    assert crawl.outcomes["plain-feed"].outcome == "ok"


def test_index_points_at_each_record_and_hashes_its_body(crawl: ArchivedCrawl) -> None:
    index = ArchiveIndex(StateDB(crawl.home / "state.db"), crawl.home)
    feed = index.for_url(f"{crawl.base}/feed.xml")
    assert {record.source for record in feed} == {"plain-feed", "moved-feed"}
    for record in feed:
        assert record.warc_file == crawl.warc.name
        assert index.body(record) == RSS
        assert record.content_hash == "sha256:" + hashlib.sha256(RSS).hexdigest()
        assert record.fetched_at.tzinfo is not None and not record.replayed
    assert [r.http_status for r in index.for_source("gone-feed")] == [404]


def test_archive_show_lists_fetches_and_replays_the_stored_body(crawl: ArchivedCrawl) -> None:
    state = StateDB(crawl.home / "state.db")
    item = Item(
        id="audit-guidance",
        title="Guidance on AI audits",
        url=f"{crawl.base}/feed.xml",
        source="plain-feed",
        content_hash="x",
    )
    state.save_new_items([item], datetime(2026, 12, 6, tzinfo=UTC))
    runner = CliRunner()
    shown = runner.invoke(
        app, ["archive", "show", "audit-guidance", "--home", str(crawl.home), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["last_verified"]["http_status"] == 200
    assert report["last_verified"]["content_hash"].startswith("sha256:")
    assert {f["source"] for f in report["source_fetches"]} == {"plain-feed"}
    replayed = runner.invoke(
        app, ["archive", "show", "audit-guidance", "--home", str(crawl.home), "--replay"]
    )
    assert replayed.exit_code == 0 and replayed.stdout_bytes == RSS
    missing = runner.invoke(app, ["archive", "show", "nope", "--home", str(crawl.home)])
    assert missing.exit_code == 2 and "no item 'nope'" in missing.output
