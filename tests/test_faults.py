"""Hostile servers and hostile feeds, all in one crawl against a fault-injecting server on
127.0.0.1: each fault ends as an outcome on its own source, in plain words, within the crawl's
time and memory bounds, and nothing it serves reaches anywhere else.

Bounds are asserted on what the crawl reports (its outcomes and `crawl-stats.json`), never on
wall-clock speed. References that hostile XML makes (external DTDs and entities, XInclude) point
back at this server, so any attempt to follow one would show in its request log.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_server import FaultServer, Route, answer, redirect

from horizon.config import PROJECT_ROOT, CrawlSettings, Settings, Source, load_settings
from horizon.embed import HashingEmbedder
from horizon.fetch import CrawlJob, FetchOutcome
from horizon.ingest import Ingestor
from horizon.normalise import item_from_record
from horizon.parse import MAX_BODY_BYTES
from horizon.store import open_store
from spiders.crawl import STATS_FILE, run_crawl

TIMEOUT_S = 12.0  # generous, so that only the slow drip runs into it, even under load
MANY_ENTRIES = 20_000
STREAMED_BYTES = 200 * 1024 * 1024
PEAK_MEMORY_LIMIT_MB = 512
ITEM = "<item><title>{title}</title><link>https://news.example/{n}</link></item>"


def rss(*items: str, prolog: str = "", channel_extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0" '
        f'xmlns:xi="http://www.w3.org/2001/XInclude"><channel><title>T</title>{channel_extra}'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def drip(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then a byte every 0.1 s: never finishing within the timeout."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(int(TIMEOUT_S * 3 * 10)):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)


def cut_off(handler: BaseHTTPRequestHandler) -> None:
    """Promises 10,000 bytes, sends 100, and hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "10000")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(rss(ITEM.format(title="Cut", n=1))[:100])
    handler.close_connection = True


@dataclass
class Stream:
    """200 MB of feed-like bytes, written 64 KiB at a time with no length given; `sent`
    counts what actually left, so the test can tell the crawler hung up early."""

    sent: int = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        chunk = b"<!-- padding -->" * 4096
        handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        while self.sent < STREAMED_BYTES:
            handler.wfile.write(chunk)
            self.sent += len(chunk)


def gzip_bomb(decompressed_mb: int) -> bytes:
    """A gzip body that inflates to `decompressed_mb` MB of zeros, built without holding it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(decompressed_mb)) + (
        compressor.flush()
    )


def redirect_chain(length: int) -> dict[str, Route]:
    return {f"/chain/{n}": redirect(f"/chain/{n + 1}") for n in range(length)}


def xml_attacks(base: str) -> dict[str, bytes]:
    """Hostile feeds of our own, each referring back to this server where it can."""
    item = ITEM.format(title="Safe title &ext;", n=1)
    nested = "<category>" * 50_000 + "deep" + "</category>" * 50_000
    return {
        "/attack/parameter-entities": rss(
            ITEM.format(title="Title &big;", n=1),
            prolog=(
                "<!DOCTYPE rss [<!ENTITY % a \"<!ENTITY big '"
                + "B" * 1000
                + "'>\">"
                + "".join(f'<!ENTITY % p{n} "%a;%a;%a;">' for n in range(20))
                + "%a;%p19;]>"
            ),
        ),
        "/attack/external-dtd": rss(
            ITEM.format(title="Plain title", n=1),
            prolog=f'<!DOCTYPE rss SYSTEM "{base}/evil.dtd">',
        ),
        "/attack/external-parameter-entity": rss(
            ITEM.format(title="Plain title", n=1),
            prolog=f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{base}/evil.dtd"> %ext;]>',
        ),
        "/attack/external-entity": rss(
            item, prolog=f'<!DOCTYPE rss [<!ENTITY ext SYSTEM "{base}/secret.txt">]>'
        ),
        "/attack/xinclude": rss(
            "<item><title>Included</title><link>https://news.example/x</link><description>"
            f'<xi:include href="{base}/secret.txt" parse="text"/></description></item>'
        ),
        "/attack/deep-nesting": rss(
            f"<item><title>Deep</title><link>https://news.example/d</link>{nested}</item>"
        ),
    }


@pytest.fixture(scope="module")
def fault_site() -> Iterator[tuple[FaultServer, Stream]]:
    stream = Stream()
    many = rss(*(ITEM.format(title=f"Entry {n}", n=n) for n in range(MANY_ENTRIES)))
    mislabelled = rss(ITEM.format(title="Résumé of the AI Act", n=1))
    error_page = b"<!DOCTYPE html><html><head><title>Error</title></head><body>503</body></html>"
    cut_mid_item = rss(*(ITEM.format(title=f"Report {n}", n=n) for n in range(3)))[:-60]
    routes: dict[str, Route] = {
        "/drip": drip,
        "/rate-limited": answer(b"slow down", "text/plain", 429, {"Retry-After": "3600"}),
        "/server-error": answer(b"Internal error", "text/plain", 500),
        "/loop": redirect("/loop"),
        **redirect_chain(30),
        "/wrong-type-and-charset": answer(mislabelled, "text/html; charset=iso-8859-1"),
        "/cut-off": cut_off,
        "/cut-mid-item": answer(cut_mid_item),
        "/gzip-bomb": answer(
            gzip_bomb(64), "application/rss+xml", headers={"Content-Encoding": "gzip"}
        ),
        "/huge-stream": stream,
        "/many-entries": answer(many),
        "/error-page-as-200": answer(error_page, "text/html; charset=utf-8"),
        "/secret.txt": answer(b"root:x:0:0:SECRET", "text/plain"),
        "/evil.dtd": answer(b'<!ENTITY ext "EVIL">', "application/xml-dtd"),
    }
    with FaultServer(routes) as server:
        server.routes.update(
            {path: answer(body) for path, body in xml_attacks(server.base).items()}
        )
        yield server, stream


FAULTS = {
    "slow-drip": "/drip",
    "rate-limited-long": "/rate-limited",
    "server-error": "/server-error",
    "redirect-loop": "/loop",
    "long-redirect-chain": "/chain/0",
    "wrong-type-and-charset": "/wrong-type-and-charset",
    "truncated-body": "/cut-off",
    "truncated-mid-item": "/cut-mid-item",
    "gzip-bomb": "/gzip-bomb",
    "huge-body": "/huge-stream",
    "many-entries": "/many-entries",
    "html-error-page": "/error-page-as-200",
    "parameter-entities": "/attack/parameter-entities",
    "external-dtd": "/attack/external-dtd",
    "external-parameter-entity": "/attack/external-parameter-entity",
    "external-entity": "/attack/external-entity",
    "xinclude": "/attack/xinclude",
    "deep-nesting": "/attack/deep-nesting",
}


@dataclass
class FaultCrawl:
    outcomes: dict[str, FetchOutcome]
    stats: dict[str, float]
    server: FaultServer
    stream: Stream


@pytest.fixture(scope="module")
def crawl(
    fault_site: tuple[FaultServer, Stream], tmp_path_factory: pytest.TempPathFactory
) -> FaultCrawl:
    server, stream = fault_site
    sources = [
        Source(
            id=source_id,
            name=source_id,
            publisher="Fault server",
            category="regulator",
            jurisdiction="UK",
            kind="rss",
            url=f"{server.base}{path}",
            allow_private_hosts=["127.0.0.1"],
        )
        for source_id, path in FAULTS.items()
    ]
    settings = CrawlSettings(delay_seconds=0, timeout_seconds=TIMEOUT_S, retries=1)
    workdir = tmp_path_factory.mktemp("faults")
    outcomes = run_crawl(CrawlJob(crawl=settings, sources=sources), workdir)
    stats = json.loads((workdir / STATS_FILE).read_text())
    return FaultCrawl({o.source: o for o in outcomes}, stats, server, stream)


def failure(crawl: FaultCrawl, source_id: str) -> str:
    outcome = crawl.outcomes[source_id]
    assert outcome.outcome == "failed", (source_id, outcome)
    assert outcome.entries == []
    assert outcome.error is not None
    assert "unexpectedly" not in outcome.error
    return outcome.error


@pytest.mark.parametrize(
    ("source_id", "expected"),
    [
        ("slow-drip", f"did not answer within {TIMEOUT_S:g} s on all 2 attempts"),
        ("rate-limited-long", "asked Horizon to wait 1.0 hours (3600 s) before asking again"),
        ("server-error", "500 Internal Server Error on all 2 attempts"),
        ("redirect-loop", "redirects too many times"),
        ("long-redirect-chain", "redirects too many times"),
        ("truncated-body", "broke before the response was complete"),
        ("gzip-bomb", "larger than 16 MB, so it was not read"),
        ("huge-body", "larger than 16 MB, so it was not read"),
        ("html-error-page", "HTML page, not a feed"),
    ],
)
def test_each_fault_fails_its_own_source_in_plain_words(
    crawl: FaultCrawl, source_id: str, expected: str
) -> None:
    assert expected in failure(crawl, source_id)


def test_long_retry_after_skips_the_source_until_the_next_run_without_retrying(
    crawl: FaultCrawl,
) -> None:
    assert "skips this source until the next run" in failure(crawl, "rate-limited-long")
    assert crawl.server.paths().count("/rate-limited") == 1


def test_a_200_mb_body_is_abandoned_at_the_size_cap_not_read_to_the_end(
    crawl: FaultCrawl,
) -> None:
    failure(crawl, "huge-body")

    assert crawl.stream.sent < STREAMED_BYTES
    assert crawl.stream.sent < 4 * MAX_BODY_BYTES


def test_feed_with_wrong_content_type_and_charset_is_decoded_by_its_own_declaration(
    crawl: FaultCrawl,
) -> None:
    outcome = crawl.outcomes["wrong-type-and-charset"]

    assert outcome.outcome == "ok", outcome.error
    assert [entry.title for entry in outcome.entries] == ["Résumé of the AI Act"]


def test_feed_truncated_mid_item_is_ok_with_a_warning_on_its_source(crawl: FaultCrawl) -> None:
    outcome = crawl.outcomes["truncated-mid-item"]

    assert outcome.outcome == "ok"
    assert [entry.title for entry in outcome.entries][:2] == ["Report 0", "Report 1"]
    assert outcome.warning is not None
    assert "may be cut short or broken" in outcome.warning


def test_twenty_thousand_entries_are_all_read_within_the_memory_bound(crawl: FaultCrawl) -> None:
    outcome = crawl.outcomes["many-entries"]

    assert outcome.outcome == "ok"
    assert len(outcome.entries) == MANY_ENTRIES
    assert len({entry.url for entry in outcome.entries}) == MANY_ENTRIES
    assert crawl.stats["peak_rss_mb"] < PEAK_MEMORY_LIMIT_MB


@pytest.mark.parametrize(
    "source_id",
    [
        "parameter-entities",
        "external-dtd",
        "external-parameter-entity",
        "external-entity",
        "xinclude",
        "deep-nesting",
    ],
)
def test_hostile_xml_expands_nothing_and_fetches_nothing(crawl: FaultCrawl, source_id: str) -> None:
    outcome = crawl.outcomes[source_id]
    served = json.dumps(outcome.model_dump())

    assert outcome.error is not None or outcome.entries, outcome
    assert "unexpectedly" not in (outcome.error or "")
    assert "BBBB" not in served
    assert "EVIL" not in served
    assert "SECRET" not in served
    assert "/evil.dtd" not in crawl.server.paths()
    assert "/secret.txt" not in crawl.server.paths()


def test_every_source_of_the_fault_crawl_has_exactly_one_outcome(crawl: FaultCrawl) -> None:
    assert list(crawl.outcomes) == list(FAULTS)
    assert crawl.stats["sources"] == len(FAULTS)


# ----- a whole run against failing sources leaves the home's data as it was -----------------

FAILING_FAULTS = {
    "rate-limited-long": ("/rate-limited", "skips this source until the next run"),
    "server-error": ("/server-error", "500 Internal Server Error"),
    "redirect-loop": ("/loop", "redirects too many times"),
    "truncated-body": ("/cut-off", "broke before the response was complete"),
    "gzip-bomb": ("/gzip-bomb", "larger than 16 MB"),
    "huge-body": ("/huge-stream", "larger than 16 MB"),
    "html-error-page": ("/error-page-as-200", "HTML page, not a feed"),
    "redirect-to-private": ("/to-private", "127.0.0.2 is a loopback address"),
    "redirect-to-file": ("/to-file", "which Horizon does not follow"),
}


def home_data(settings: Settings) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """Every stored item and report, and the size of the index."""
    with sqlite3.connect(settings.state_db) as connection:
        items = connection.execute("SELECT * FROM items ORDER BY id").fetchall()
        reports = connection.execute("SELECT * FROM reports ORDER BY 1, 2").fetchall()
    return items, reports, open_store(settings).index.count()


@pytest.mark.slow
def test_a_run_whose_sources_all_fail_reports_each_and_leaves_the_homes_data_unchanged(
    fault_site: tuple[FaultServer, Stream],
    tmp_path: Path,
    embedder: HashingEmbedder,
    tagger: Any,
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.weekly import weekly_scan

    server, _ = fault_site
    server.routes["/to-private"] = redirect("http://127.0.0.2:9/secret")
    server.routes["/to-file"] = redirect("file:///etc/passwd")
    settings = load_settings(home=tmp_path / "home", env={})
    Ingestor(open_store(settings), embedder, tagger).ingest(
        [
            item_from_record({"id": f"kept-{n}", "title": f"Stored report {n}", "url": url})
            for n, url in enumerate(["https://a.example/1", "https://b.example/2"])
        ],
        datetime(2025, 9, 1, tzinfo=UTC),
    )
    before = home_data(settings)
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        yaml.safe_dump(
            {
                "crawl": {"delay_seconds": 0, "timeout_seconds": TIMEOUT_S, "retries": 1},
                "sources": [
                    {
                        "id": source_id,
                        "name": source_id,
                        "publisher": "Fault server",
                        "category": "regulator",
                        "jurisdiction": "UK",
                        "kind": "rss",
                        "url": f"{server.base}{path}",
                        "allow_private_hosts": ["127.0.0.1"],
                    }
                    for source_id, (path, _) in FAILING_FAULTS.items()
                ],
            }
        )
    )

    with prefect_test_harness(server_startup_timeout=120):
        summary = weekly_scan(
            home=str(settings.home),
            sources_file=str(sources_file),
            controls_file=str(PROJECT_ROOT / "controls.yaml"),
        )

    assert summary["sources"]["failed"] == len(FAILING_FAULTS)
    reported = {failure["source"]: failure["error"] for failure in summary["failed_sources"]}
    for source_id, (_, expected) in FAILING_FAULTS.items():
        assert expected in reported[source_id], source_id
    assert summary["items"]["fetched"] == summary["items"]["embedded"] == 0
    assert home_data(settings) == before
    assert before[2] == 2
