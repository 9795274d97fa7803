"""The Scrapy fetch layer against a real HTTP server on 127.0.0.1 (port 0), through run_crawl.

One crawl covers most behaviours at once (the crawler process start-up is the main cost): good
feeds of every kind, redirects, 404, 500 with retries, a server that never answers, a slow one,
robots.txt, a broken feed and an empty one. A second crawl checks conditional GET and politeness.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError

from horizon.config import CrawlSettings, Source
from horizon.fetch import CrawlJob, FetchOutcome, Validators
from horizon.parse import MAX_BODY_BYTES
from spiders.base import describe_failure
from spiders.crawl import collect_outcomes, run_crawl
from spiders.middlewares import BackoffRetryMiddleware, retry_after_s
from spiders.settings import scrapy_settings

REPO = Path(__file__).resolve().parents[1]
FEEDS = Path(__file__).resolve().parent / "feeds"
ETAG = '"feed-v1"'
LAST_MODIFIED = "Mon, 15 Sep 2025 05:12:00 GMT"
SLOW_S = 1.0
USER_AGENT = "HorizonTest/1.0 (+https://horizon.example/bot)"
FEED_URL = "https://feeds.example/news.rss"
TIME_LIMIT_S = 12.0

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>First news</title><link>/news/1</link>
<pubDate>Mon, 15 Sep 2025 09:00:00 GMT</pubDate></item>
<item><title>Second news</title><link>/news/2</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Updates</title><id>urn:updates</id><updated>2025-09-15T05:12:00Z</updated>
<entry><title>An update</title><id>urn:u1</id><link href="https://updates.example/1"/>
<updated>2025-09-15T05:12:00Z</updated></entry></feed>"""


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False
    # Answer only once the server has been asked for each of these paths (a backstop of
    # AFTER_BACKSTOP_S ends the wait): proves other requests were not held up by this one,
    # whatever the machine's speed.
    after: tuple[str, ...] = ()


AFTER_BACKSTOP_S = 120.0


@dataclass
class Seen:
    path: str
    at: float
    headers: dict[str, str]


class Site:
    """A tiny real web site: fixed routes, conditional GET, and a log of every request."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                site.seen.append(Seen(self.path, time.monotonic(), dict(self.headers)))
                route = site.routes.get(self.path, Route(404, b"not here", "text/plain"))
                if route.hang:
                    site.release.wait()
                    return
                deadline = time.monotonic() + AFTER_BACKSTOP_S
                while route.after and time.monotonic() < deadline:
                    if set(route.after) <= {seen.path for seen in site.seen}:
                        break
                    time.sleep(0.02)
                time.sleep(route.delay_s)
                if self._not_modified(route):
                    self.send_response(304)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

            def _not_modified(self, route: Route) -> bool:
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    return True
                modified = route.headers.get("Last-Modified")
                return bool(modified) and self.headers.get("If-Modified-Since") == modified

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Site:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def requests_for(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


def source(source_id: str, url: str, kind: str = "rss", **extra: Any) -> Source:
    """A source on this test's loopback server, which it must explicitly allow."""
    return Source(
        id=source_id,
        name=source_id.replace("-", " "),
        publisher="Test publisher",
        category="regulator",
        jurisdiction="UK",
        kind=kind,
        url=url,
        **{"allow_private_hosts": True, **extra},
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ROUTES = {
    # Answered slowly, so that every source of the crawl queues up waiting for the rules.
    "/robots.txt": Route(200, b"User-agent: *\nDisallow: /private/\n", "text/plain", delay_s=0.3),
    "/feed.xml": Route(200, RSS, headers={"ETag": ETAG}),
    "/updates.atom": Route(
        200, ATOM, "application/atom+xml", headers={"Last-Modified": LAST_MODIFIED}
    ),
    "/old-address": Route(301, headers={"Location": "/feed.xml"}),
    "/this-week": Route(302, headers={"Location": "/updates.atom"}),
    "/missing.xml": Route(404, b"<html><body>Not found</body></html>", "text/html"),
    "/broken-server.xml": Route(500, b"Internal error", "text/plain"),
    "/never-answers.xml": Route(hang=True),
    "/slow.xml": Route(
        200, RSS, delay_s=SLOW_S, after=("/feed.xml", "/updates.atom", "/api/documents.json")
    ),
    "/private/feed.xml": Route(200, RSS),
    "/truncated.rss": Route(200, (FEEDS / "truncated.rss").read_bytes()),
    "/empty.rss": Route(200, (FEEDS / "empty-channel.rss").read_bytes()),
    "/challenge": Route(200, (FEEDS / "waf-challenge.html").read_bytes(), "text/html"),
    "/feed.json": Route(200, (FEEDS / "jsonfeed-1.1.json").read_bytes(), "application/feed+json"),
    "/api/documents.json": Route(200, (FEEDS / "api-nested.json").read_bytes(), "application/json"),
    "/blog": Route(200, (FEEDS / "listing.html").read_bytes(), "text/html; charset=utf-8"),
    "/loop": Route(302, headers={"Location": "/loop"}),
    "/huge.xml": Route(200, b" " * (MAX_BODY_BYTES + 1)),
    "/gzip-bomb.xml": Route(
        200, gzip.compress(b" " * (MAX_BODY_BYTES + 1)), headers={"Content-Encoding": "gzip"}
    ),
}


@dataclass
class Crawl:
    site: Site
    outcomes: dict[str, FetchOutcome]
    started_at: float
    ended_at: float

    def requests(self, path: str | None = None) -> list[Seen]:
        """What the server saw during this crawl, for one path or all."""
        return [
            seen
            for seen in self.site.seen
            if self.started_at <= seen.at <= self.ended_at and path in (None, seen.path)
        ]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with Site(ROUTES) as running:
        yield running


@pytest.fixture(scope="module")
def first_crawl(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    base = site.base
    sources = [
        source("plain-feed", f"{base}/feed.xml"),
        source("atom-feed", f"{base}/updates.atom", kind="atom"),
        source("moved-permanently", f"{base}/old-address"),
        source("moved-temporarily", f"{base}/this-week", kind="atom"),
        source("gone-feed", f"{base}/missing.xml"),
        source("failing-server", f"{base}/broken-server.xml"),
        source("silent-server", f"{base}/never-answers.xml"),
        source("slow-server", f"{base}/slow.xml"),
        source("disallowed-feed", f"{base}/private/feed.xml"),
        *(source(f"disallowed-{n}", f"{base}/private/{n}.xml") for n in ("two", "three", "four")),
        source("broken-feed", f"{base}/truncated.rss"),
        source("empty-feed", f"{base}/empty.rss"),
        source("challenged-feed", f"{base}/challenge"),
        source("nobody-listening", f"http://127.0.0.1:{closed_port()}/feed.xml"),
        source("redirect-loop", f"{base}/loop"),
        source("oversized-feed", f"{base}/huge.xml"),
        source("compressed-bomb", f"{base}/gzip-bomb.xml"),
        source("vendor-json-feed", f"{base}/feed.json", kind="jsonfeed"),
        source(
            "agency-api",
            f"{base}/api/documents.json",
            kind="json-api",
            fields={"items": "data.documents", "title": "attributes.title", "url": "links.self"},
        ),
        source(
            "institute-blog",
            f"{base}/blog",
            kind="html-listing",
            selectors={"item": "div.blog-card", "title": "h3::text", "link": "a::attr(href)"},
        ),
    ]
    settings = CrawlSettings(
        user_agent=USER_AGENT,
        delay_seconds=0,
        concurrency_per_domain=16,
        timeout_seconds=3.0,
        retries=2,
    )
    started_at = time.monotonic()
    outcomes = run_crawl(
        CrawlJob(crawl=settings, sources=sources), tmp_path_factory.mktemp("first-crawl")
    )
    assert [outcome.source for outcome in outcomes] == [s.id for s in sources]
    return Crawl(site, {o.source: o for o in outcomes}, started_at, time.monotonic())


def test_feed_fetched_with_200_gives_entries_and_its_validators(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["plain-feed"]

    assert outcome.outcome == "ok"
    assert outcome.http_status == 200
    assert [entry.title for entry in outcome.entries] == ["First news", "Second news"]
    assert outcome.entries[0].url == f"{first_crawl.site.base}/news/1"
    assert outcome.etag == ETAG
    assert outcome.error is None


def test_last_modified_is_reported_for_the_next_conditional_get(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["atom-feed"]

    assert outcome.outcome == "ok"
    assert outcome.last_modified == LAST_MODIFIED
    assert [entry.url for entry in outcome.entries] == ["https://updates.example/1"]


def test_redirects_are_followed_and_final_url_says_where_content_came_from(
    first_crawl: Crawl,
) -> None:
    permanent = first_crawl.outcomes["moved-permanently"]
    temporary = first_crawl.outcomes["moved-temporarily"]

    assert (permanent.outcome, permanent.final_url) == ("ok", f"{first_crawl.site.base}/feed.xml")
    assert (temporary.outcome, temporary.final_url) == (
        "ok",
        f"{first_crawl.site.base}/updates.atom",
    )
    assert permanent.entries[0].title == "First news"


def test_404_is_a_failure_that_suggests_updating_the_address(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["gone-feed"]

    assert (outcome.outcome, outcome.http_status) == ("failed", 404)
    assert outcome.error is not None
    assert "404 Not Found" in outcome.error
    assert "update the source's url" in outcome.error
    assert len(first_crawl.requests("/missing.xml")) == 1


def test_500_is_retried_with_growing_backoff_then_reported(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["failing-server"]
    attempts = first_crawl.requests("/broken-server.xml")

    assert (outcome.outcome, outcome.http_status) == ("failed", 500)
    assert outcome.error is not None
    assert "500 Internal Server Error on all 3 attempts" in outcome.error
    assert len(attempts) == 3
    first_gap = attempts[1].at - attempts[0].at
    second_gap = attempts[2].at - attempts[1].at
    assert first_gap >= 0.45
    assert second_gap >= 0.9


def test_server_that_never_answers_times_out_after_retries(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["silent-server"]

    assert outcome.outcome == "failed"
    assert outcome.http_status is None
    assert outcome.error is not None
    assert "did not answer within 3 s on all 3 attempts" in outcome.error
    assert "timeout_seconds" in outcome.error
    assert len(first_crawl.requests("/never-answers.xml")) == 3


def test_slow_source_succeeds_without_holding_up_the_others(first_crawl: Crawl) -> None:
    slow = first_crawl.outcomes["slow-server"]
    quick = [first_crawl.outcomes[name] for name in ("plain-feed", "atom-feed", "agency-api")]

    assert slow.outcome == "ok"
    assert slow.elapsed_s >= SLOW_S
    assert all(outcome.outcome == "ok" for outcome in quick)
    assert max(outcome.elapsed_s for outcome in quick) < slow.elapsed_s


def test_path_disallowed_by_robots_txt_is_not_fetched_and_fails_saying_so(
    first_crawl: Crawl,
) -> None:
    outcome = first_crawl.outcomes["disallowed-feed"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "robots.txt" in outcome.error
    assert "does not allow fetching /private/feed.xml" in outcome.error
    assert len(first_crawl.requests("/robots.txt")) >= 1


def test_robots_txt_applies_to_every_request_waiting_for_it(first_crawl: Crawl) -> None:
    disallowed = [name for name in first_crawl.outcomes if name.startswith("disallowed-")]

    assert len(disallowed) == 4
    assert all(first_crawl.outcomes[name].outcome == "failed" for name in disallowed)
    assert [seen.path for seen in first_crawl.requests() if "/private/" in seen.path] == []


def test_broken_feed_fails_with_the_parse_error(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["broken-feed"]

    assert (outcome.outcome, outcome.http_status) == ("failed", 200)
    assert outcome.error is not None
    assert "not well-formed XML" in outcome.error


def test_feed_with_zero_items_counts_as_failing(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["empty-feed"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "parsed but held no items" in outcome.error
    assert "layout or address may have changed" in outcome.error


def test_html_challenge_page_instead_of_a_feed_fails_plainly(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["challenged-feed"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "HTML page, not a feed" in outcome.error


def test_refused_connection_is_a_failed_outcome_not_a_crash(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["nobody-listening"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "could not connect to 127.0.0.1" in outcome.error


def test_redirect_loop_is_cut_short_and_reported(first_crawl: Crawl) -> None:
    outcome = first_crawl.outcomes["redirect-loop"]

    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert "redirects too many times" in outcome.error
    assert 2 <= len(first_crawl.requests("/loop")) <= 25


def test_responses_over_the_size_cap_are_not_read_even_when_compressed(
    first_crawl: Crawl,
) -> None:
    for name in ("oversized-feed", "compressed-bomb"):
        outcome = first_crawl.outcomes[name]
        assert outcome.outcome == "failed", name
        assert outcome.error is not None
        assert "larger than 16 MB, so it was not read" in outcome.error, name


def test_every_spider_kind_fetches_and_parses_its_sources(first_crawl: Crawl) -> None:
    json_feed = first_crawl.outcomes["vendor-json-feed"]
    api = first_crawl.outcomes["agency-api"]
    blog = first_crawl.outcomes["institute-blog"]

    assert json_feed.outcome == api.outcome == blog.outcome == "ok"
    assert len(json_feed.entries) == 2
    assert api.entries[0].url == f"{first_crawl.site.base}/documents/2025-117"
    assert blog.entries[0].url == f"{first_crawl.site.base}/blog/frontier-evaluations"
    api_request = first_crawl.requests("/api/documents.json")[0]
    assert api_request.headers["Accept"].startswith("application/json")


def test_requests_carry_the_configured_user_agent(first_crawl: Crawl) -> None:
    agents = {seen.headers.get("User-Agent") for seen in first_crawl.requests()}

    assert agents == {USER_AGENT}


def test_failing_sources_do_not_stop_the_others(first_crawl: Crawl) -> None:
    outcomes = first_crawl.outcomes

    assert len(outcomes) == 22
    assert {name for name, outcome in outcomes.items() if outcome.outcome == "ok"} == {
        "plain-feed",
        "atom-feed",
        "moved-permanently",
        "moved-temporarily",
        "slow-server",
        "vendor-json-feed",
        "agency-api",
        "institute-blog",
    }
    assert all(o.error for o in outcomes.values() if o.outcome == "failed")


@pytest.fixture(scope="module")
def second_crawl(first_crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """A polite incremental crawl: validators from the first crawl, one request at a time."""
    base = first_crawl.site.base
    validators = {
        name: Validators(etag=outcome.etag, last_modified=outcome.last_modified)
        for name, outcome in first_crawl.outcomes.items()
        if outcome.outcome == "ok"
    }
    settings = CrawlSettings(
        user_agent=USER_AGENT, delay_seconds=0.4, concurrency_per_domain=1, retries=0
    )
    job = CrawlJob(
        crawl=settings,
        sources=[
            source("plain-feed", f"{base}/feed.xml"),
            source("atom-feed", f"{base}/updates.atom", kind="atom"),
        ],
        validators=validators,
    )
    started_at = time.monotonic()
    outcomes = run_crawl(job, tmp_path_factory.mktemp("second-crawl"))
    return Crawl(first_crawl.site, {o.source: o for o in outcomes}, started_at, time.monotonic())


def test_second_crawl_with_an_etag_is_unchanged_on_304(second_crawl: Crawl) -> None:
    outcome = second_crawl.outcomes["plain-feed"]
    [request] = second_crawl.requests("/feed.xml")

    assert (outcome.outcome, outcome.http_status) == ("unchanged", 304)
    assert outcome.entries == []
    assert outcome.etag == ETAG
    assert request.headers["If-None-Match"] == ETAG


def test_second_crawl_with_last_modified_is_unchanged_on_304(second_crawl: Crawl) -> None:
    outcome = second_crawl.outcomes["atom-feed"]
    [request] = second_crawl.requests("/updates.atom")

    assert (outcome.outcome, outcome.http_status) == ("unchanged", 304)
    assert outcome.last_modified == LAST_MODIFIED
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED


def test_requests_to_one_host_are_spaced_by_the_download_delay(second_crawl: Crawl) -> None:
    times = [seen.at for seen in second_crawl.requests()]

    assert len(times) == 3
    assert all(later - earlier >= 0.4 * 0.5 for earlier, later in pairwise(times))


def test_scrapy_settings_carry_every_politeness_setting() -> None:
    crawl = CrawlSettings(
        user_agent="Bot/2",
        delay_seconds=2.5,
        concurrency_per_domain=3,
        timeout_seconds=12,
        retries=4,
        obey_robots_txt=False,
    )

    settings = scrapy_settings(crawl)

    assert settings["USER_AGENT"] == "Bot/2"
    assert settings["DOWNLOAD_DELAY"] == 2.5
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 3
    assert settings["DOWNLOAD_TIMEOUT"] == 12
    assert settings["RETRY_TIMES"] == 4
    assert settings["ROBOTSTXT_OBEY"] is False
    assert settings["HORIZON_RETRY_BACKOFF_S"] == 2.5
    assert "http" not in settings["DOWNLOAD_HANDLERS"]
    assert settings["DOWNLOAD_HANDLERS"]["file"] is None


@pytest.mark.parametrize(
    ("error", "retries", "expected"),
    [
        (CannotResolveHostError("no such host"), 2, "host name feeds.example could not be found"),
        (DownloadTimeoutError("slow"), 2, "did not answer within 30 s on all 3 attempts"),
        (DownloadTimeoutError("slow"), 0, "did not answer within 30 s — the site may be down"),
        (ResponseDataLossError(), 1, "broke before the response was complete on all 2 attempts"),
        (HttpError(Response(FEED_URL, status=403), "refused"), 0, "refused access (403 Forbidden)"),
        (HttpError(Response(FEED_URL, status=410), "gone"), 0, "410 Gone — the address may have"),
        (
            HttpError(Response(FEED_URL, status=429), "slow down"),
            2,
            "429 Too Many Requests on all 3 attempts — it is rate-limiting Horizon",
        ),
        (IgnoreRequest("max redirections reached"), 0, "redirects too many times"),
        (KeyError("surprise"), 0, "failed unexpectedly (KeyError: 'surprise')"),
    ],
)
def test_each_kind_of_failure_is_described_with_what_to_do(
    error: Exception, retries: int, expected: str
) -> None:
    request = Request(FEED_URL, meta={"retry_times": retries})

    assert expected in describe_failure(error, request, timeout_s=30)


def test_retry_waits_double_each_time_and_honour_retry_after_within_a_cap() -> None:
    middleware = BackoffRetryMiddleware(RetryMiddleware(Settings()), 0.5, 60)
    retry = Request(FEED_URL)

    waits = [
        middleware.wait_before(retry.replace(meta={"retry_times": n}), None) for n in (1, 2, 3)
    ]

    assert waits == [0.5, 1.0, 2.0]
    assert middleware.wait_before(retry.replace(meta={"retry_times": 1}), 7.0) == 7.0
    assert middleware.wait_before(retry.replace(meta={"retry_times": 1}), 3600.0) == 60
    asked = Response(FEED_URL, status=503, headers={"Retry-After": "120"})
    assert retry_after_s(asked) == 120.0
    assert retry_after_s(Response(FEED_URL, status=503)) is None


# The crawler process: results that survive a crash, time limits and interruption


def test_sources_a_crashed_crawler_never_reported_fail_with_the_reason(tmp_path: Path) -> None:
    sources = [source("reported", "https://a.example/feed"), source("lost", "https://b.example/")]
    job = CrawlJob(crawl=CrawlSettings(), sources=sources)
    results = tmp_path / "results.jsonl"
    reported = FetchOutcome(source="reported", outcome="ok", entries=[])
    results.write_text(reported.model_dump_json() + "\n" + '{"source": "lost", "outc')
    log = tmp_path / "crawl.log"
    log.write_text("Traceback (most recent call last):\nMemoryError\n")

    outcomes = collect_outcomes(job, results, log, returncode=1)

    assert outcomes[0] == reported
    assert outcomes[1].outcome == "failed"
    assert outcomes[1].error is not None
    assert "stopped unexpectedly (exit code 1: MemoryError)" in outcomes[1].error
    assert str(log) in outcomes[1].error


def test_time_limit_stops_the_crawl_and_keeps_what_finished(site: Site, tmp_path: Path) -> None:
    job = CrawlJob(
        crawl=CrawlSettings(delay_seconds=0, timeout_seconds=30, retries=0),
        sources=[
            source("quick-feed", f"{site.base}/feed.xml"),
            source("stuck-feed", f"{site.base}/never-answers.xml"),
        ],
    )

    started = time.monotonic()
    # The limit leaves the quick feed ample time even on a loaded machine (the crawler's start
    # alone takes seconds there); the stuck one never answers, so the limit always ends it.
    quick, stuck = run_crawl(job, tmp_path, time_limit_s=TIME_LIMIT_S)

    assert time.monotonic() - started < TIME_LIMIT_S + 30
    assert quick.outcome == "ok"
    assert stuck.outcome == "failed"
    assert stuck.error is not None
    assert f"past its time limit of {TIME_LIMIT_S:g} s before this source was fetched" in (
        stuck.error
    )


# Ctrl-C raises KeyboardInterrupt in the caller, as at a terminal, even where the test run
# itself was started with SIGINT ignored (a background job of a shell without job control),
# which Python would otherwise pass on to the caller.
PARENT_SCRIPT = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import sys
from pathlib import Path
from horizon.fetch import CrawlJob
from spiders.crawl import run_crawl
job = CrawlJob.model_validate_json(Path(sys.argv[1]).read_text())
run_crawl(job, Path(sys.argv[2]))
"""


def start_parent_crawling_a_silent_server(
    site: Site, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """A process calling run_crawl on a source that never answers; returns it and its child."""
    job = CrawlJob(
        crawl=CrawlSettings(delay_seconds=0, timeout_seconds=60, retries=0, obey_robots_txt=False),
        sources=[source("stuck-feed", f"{site.base}/never-answers.xml")],
    )
    job_path = tmp_path / "job.json"
    job_path.write_text(job.model_dump_json())
    seen_before = len(site.requests_for("/never-answers.xml"))
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(job_path), str(tmp_path / "work")], cwd=REPO
    )
    wait_for(lambda: len(site.requests_for("/never-answers.xml")) > seen_before, within_s=30)
    children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
    assert len(children) == 1
    return parent, int(children[0])


def wait_for(condition: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.rsplit(")", 1)[1].split()[0] in ("Z", "X")


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="finding the crawler's pid needs Linux /proc"
)


@needs_proc
def test_interrupting_the_caller_stops_the_crawler_process(site: Site, tmp_path: Path) -> None:
    parent, child = start_parent_crawling_a_silent_server(site, tmp_path)

    os.kill(parent.pid, signal.SIGINT)

    parent.wait(timeout=15)
    assert parent.returncode != 0
    wait_for(lambda: process_gone(child), within_s=5)


@needs_proc
def test_crawler_process_stops_itself_when_its_caller_is_killed(site: Site, tmp_path: Path) -> None:
    parent, child = start_parent_crawling_a_silent_server(site, tmp_path)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=5)

    wait_for(lambda: process_gone(child), within_s=10)
