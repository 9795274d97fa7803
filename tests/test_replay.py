"""Replaying a recorded snapshot through the same spiders, middlewares and parsers as a live crawl.

The snapshot's addresses are on hosts that do not exist: any outcome other than "failed to
resolve" proves the answers came from the snapshot, not the network.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.http import Headers
from scrapy.settings import Settings

from horizon.config import CrawlSettings, Source
from horizon.fetch import CrawlJob, FetchOutcome, Validators
from horizon.snapshot import RecordedResponse, SnapshotError, page_history
from spiders.address_check import crawl_policy
from spiders.crawl import crawler_settings, run_crawl
from spiders.feeds import FeedSpider
from spiders.replay import is_not_modified, load_snapshot, replay_key
from spiders.settings import scrapy_settings

FEEDS = Path(__file__).resolve().parent / "feeds"
HOST = "https://regulator.invalid"
ETAG = '"5f1c-news"'
LAST_MODIFIED = "Mon, 15 Sep 2025 05:12:00 GMT"


def write_snapshot(directory: Path) -> Path:
    """A tiny snapshot in the documented format: feeds with validators, a redirect, robots.txt,
    an API answer recorded under a differently ordered query string."""
    bodies = directory / "bodies"
    bodies.mkdir(parents=True)
    (bodies / "news.rss").write_bytes((FEEDS / "rss2-cdata-padded.xml").read_bytes())
    (bodies / "updates.atom").write_bytes((FEEDS / "atom-content-only.atom").read_bytes())
    (bodies / "documents.json").write_bytes((FEEDS / "api-nested.json").read_bytes())
    (bodies / "robots.txt").write_bytes(b"User-agent: *\nDisallow: /internal/\n")
    manifest = {
        "recorded_at": "2025-09-15T06:00:00Z",
        "sample_data": True,
        "note": "test snapshot",
        "responses": [
            {
                "url": f"{HOST}/news.rss",
                "status": 200,
                "headers": {"Content-Type": "application/rss+xml", "ETag": ETAG},
                "body": "bodies/news.rss",
            },
            {
                "url": f"{HOST}/updates.atom",
                "status": 200,
                "headers": {
                    "Content-Type": "application/atom+xml",
                    "Last-Modified": LAST_MODIFIED,
                },
                "body": "bodies/updates.atom",
            },
            {"url": f"{HOST}/old-news", "status": 301, "headers": {"Location": f"{HOST}/news.rss"}},
            {
                "url": f"{HOST}/robots.txt",
                "status": 200,
                "headers": {"Content-Type": "text/plain"},
                "body": "bodies/robots.txt",
            },
            {
                "url": "https://api.agency.invalid/documents.json?per_page=100&order=newest",
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": "bodies/documents.json",
            },
        ],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def source(source_id: str, url: str, kind: str = "rss", **extra: object) -> Source:
    return Source(
        id=source_id,
        name=source_id,
        publisher="Test publisher",
        category="regulator",
        jurisdiction="UK",
        kind=kind,
        url=url,
        **extra,
    )


SOURCES = [
    source("news", f"{HOST}/news.rss"),
    source("updates", f"{HOST}/updates.atom", kind="atom"),
    source("moved-news", f"{HOST}/old-news"),
    source("gone", f"{HOST}/gone.rss"),
    source("internal", f"{HOST}/internal/feed.rss"),
    source(
        "agency-api",
        "https://api.agency.invalid/documents.json?order=newest&per_page=100",
        kind="json-api",
        fields={
            "items": "data.documents",
            "title": "attributes.title",
            "url": "links.self",
            "deadline": "attributes.dates.comments_close",
        },
    ),
]
# A replay that waited this delay between the requests to one host would take minutes; one
# that does not takes seconds even on a loaded machine (the bound below is only a backstop).
POLITE = CrawlSettings(delay_seconds=120, retries=1, timeout_seconds=60)


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, FetchOutcome], ...]:
    """The same snapshot replayed twice, the second time with the first run's validators."""
    snapshot = write_snapshot(tmp_path_factory.mktemp("snapshot"))
    first_job = CrawlJob(crawl=POLITE, sources=SOURCES, replay_dir=str(snapshot))
    started = time.monotonic()
    first = run_crawl(first_job, tmp_path_factory.mktemp("replay-1"))
    first_run_s = time.monotonic() - started
    validators = {
        outcome.source: Validators(etag=outcome.etag, last_modified=outcome.last_modified)
        for outcome in first
        if outcome.outcome == "ok"
    }
    second_job = first_job.model_copy(update={"validators": validators})
    second = run_crawl(second_job, tmp_path_factory.mktemp("replay-2"))
    assert first_run_s < 120, "replay must not wait the live download delay"
    return {o.source: o for o in first}, {o.source: o for o in second}


def test_replay_answers_200_with_the_recorded_body_and_validators(
    replays: tuple[dict[str, FetchOutcome], ...],
) -> None:
    first, _ = replays
    news = first["news"]

    assert (news.outcome, news.http_status, news.etag) == ("ok", 200, ETAG)
    assert news.entries[0].title == "Consultation on AI assurance opens"
    assert news.entries[0].url == f"{HOST}/news/ai-assurance-consultation"
    assert first["updates"].last_modified == LAST_MODIFIED


def test_second_replay_is_incremental_with_304_for_both_kinds_of_validator(
    replays: tuple[dict[str, FetchOutcome], ...],
) -> None:
    _, second = replays

    assert (second["news"].outcome, second["news"].http_status) == ("unchanged", 304)
    assert second["news"].etag == ETAG
    assert (second["updates"].outcome, second["updates"].http_status) == ("unchanged", 304)
    assert second["updates"].last_modified == LAST_MODIFIED
    assert second["agency-api"].outcome == "ok"


def test_replay_follows_recorded_redirects(replays: tuple[dict[str, FetchOutcome], ...]) -> None:
    first, second = replays

    assert first["moved-news"].outcome == "ok"
    assert first["moved-news"].final_url == f"{HOST}/news.rss"
    assert second["moved-news"].outcome == "unchanged"


def test_url_missing_from_the_snapshot_is_a_404(
    replays: tuple[dict[str, FetchOutcome], ...],
) -> None:
    first, _ = replays
    gone = first["gone"]

    assert (gone.outcome, gone.http_status) == ("failed", 404)
    assert gone.error is not None
    assert "404 Not Found" in gone.error


def test_replay_obeys_the_recorded_robots_txt(replays: tuple[dict[str, FetchOutcome], ...]) -> None:
    first, _ = replays

    assert first["internal"].outcome == "failed"
    assert first["internal"].error is not None
    assert "robots.txt" in first["internal"].error


def test_replay_matches_urls_whatever_the_order_of_query_parameters(
    replays: tuple[dict[str, FetchOutcome], ...],
) -> None:
    first, _ = replays
    api = first["agency-api"]

    assert api.outcome == "ok"
    assert api.entries[0].deadline == "2025-11-30"
    assert api.entries[0].url == "https://api.agency.invalid/documents/2025-117"


def test_unreadable_snapshot_fails_every_source_with_a_plain_reason(tmp_path: Path) -> None:
    job = CrawlJob(crawl=POLITE, sources=SOURCES[:2], replay_dir=str(tmp_path / "nowhere"))

    outcomes = run_crawl(job, tmp_path / "work")

    assert [outcome.outcome for outcome in outcomes] == ["failed", "failed"]
    assert all("no manifest.json" in (outcome.error or "") for outcome in outcomes)
    assert all("cannot replay the snapshot" in (outcome.error or "") for outcome in outcomes)


def test_snapshot_with_a_missing_body_file_is_refused_naming_it(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshot")
    (snapshot / "bodies" / "updates.atom").unlink()

    with pytest.raises(SnapshotError, match=r"'bodies/updates.atom' .* is missing"):
        load_snapshot(snapshot)


def test_snapshot_body_outside_the_snapshot_directory_is_refused(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshot")
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["responses"][0]["body"] = "../../etc/passwd"
    (snapshot / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(SnapshotError, match="outside the snapshot directory"):
        load_snapshot(snapshot)


def test_snapshot_recorded_at_is_read_as_the_moment_it_stands_for(tmp_path: Path) -> None:
    manifest = load_snapshot(write_snapshot(tmp_path / "snapshot"))

    assert manifest.recorded_at is not None
    assert manifest.recorded_at.isoformat() == "2025-09-15T06:00:00+00:00"
    assert manifest.sample_data is True


def test_earlier_recordings_are_history_never_served(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshot")
    manifest = json.loads((snapshot / "manifest.json").read_text())
    (snapshot / "bodies" / "old.rss").write_bytes(b"<rss/>")
    earlier = {**manifest["responses"][0], "body": "bodies/old.rss"}
    manifest["responses"].insert(0, {**earlier, "recorded_at": "2025-09-08T06:00:00Z"})
    (snapshot / "manifest.json").write_text(json.dumps(manifest))

    loaded = load_snapshot(snapshot)
    history = page_history(snapshot, f"{HOST}/news.rss")

    assert loaded.served()[0].body == "bodies/news.rss"
    assert len(loaded.served()) == len(loaded.responses) - 1
    assert [(r.recorded_at.isoformat(), r.body) for r in history] == [
        ("2025-09-08T06:00:00+00:00", b"<rss/>")
    ]
    assert page_history(snapshot, f"{HOST}/updates.atom") == []


def test_an_earlier_recording_not_earlier_than_the_snapshot_is_refused(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path / "snapshot")
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["responses"][0]["recorded_at"] = "2025-09-15T06:00:00Z"
    (snapshot / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(SnapshotError, match="is not earlier than the snapshot's recorded_at"):
        load_snapshot(snapshot)


@pytest.mark.parametrize(
    ("request_headers", "expected"),
    [
        ({"If-None-Match": ETAG}, True),
        ({"If-None-Match": '"other", ' + ETAG}, True),
        ({"If-None-Match": f"W/{ETAG}"}, True),
        ({"If-None-Match": '"stale"'}, False),
        ({"If-Modified-Since": LAST_MODIFIED}, True),
        ({"If-Modified-Since": "Tue, 16 Sep 2025 00:00:00 GMT"}, True),
        ({"If-Modified-Since": "Sun, 14 Sep 2025 00:00:00 GMT"}, False),
        ({"If-None-Match": '"stale"', "If-Modified-Since": LAST_MODIFIED}, False),
        ({"If-Modified-Since": "not a date"}, False),
        ({}, False),
    ],
)
def test_conditional_get_answers_like_a_live_server(
    request_headers: dict[str, str], expected: bool
) -> None:
    recorded = RecordedResponse(
        url=f"{HOST}/news.rss",
        status=200,
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )

    assert is_not_modified(Headers(request_headers), recorded) is expected


def test_replay_keys_ignore_query_order_and_fragments() -> None:
    assert replay_key("https://a.invalid/p?b=2&a=1#top") == replay_key(
        "https://a.invalid/p?a=1&b=2"
    )
    assert replay_key("https://a.invalid/p?a=1") != replay_key("https://a.invalid/p?a=2")


def test_replay_settings_install_the_handler_and_drop_delays_but_keep_the_rest() -> None:
    settings = scrapy_settings(POLITE, replay_dir="/snapshots/week-37")

    handlers = settings["DOWNLOAD_HANDLERS"]
    assert handlers["http"] == handlers["https"] == "spiders.replay.ReplayDownloadHandler"
    assert handlers["file"] is None
    assert settings["HORIZON_RESOLVE_ADDRESSES"] is False
    assert settings["DOWNLOAD_DELAY"] == 0
    assert settings["HORIZON_RETRY_BACKOFF_S"] == 0
    assert settings["RETRY_TIMES"] == POLITE.retries
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["HORIZON_REPLAY_DIR"] == "/snapshots/week-37"


def test_replay_with_rendered_sources_renders_them_from_the_snapshot() -> None:
    settings = scrapy_settings(POLITE, replay_dir="/snapshots/w37", render_hosts=["a.example"])

    handlers = settings["DOWNLOAD_HANDLERS"]
    assert handlers["http"] == handlers["https"] == "spiders.replay.ReplayRenderingHandler"
    assert settings["HORIZON_REPLAY_DIR"] == "/snapshots/w37"
    assert settings["PLAYWRIGHT_ABORT_REQUEST"] is not None  # the same guard as a live crawl


def test_only_the_crawler_of_rendered_sources_gets_the_browser_and_keeps_it_in_the_process() -> (
    None
):
    listing = source(
        "listing",
        "https://a.example/ai",
        kind="html-listing",
        render=True,
        selectors={"item": "li", "title": "a", "link": "a::attr(href)"},
    )
    job = CrawlJob(crawl=POLITE, sources=[*SOURCES, listing], replay_dir="/snapshots/w37")
    policy = crawl_policy(job.sources)
    process_settings = Settings(scrapy_settings(POLITE, "/snapshots/w37", policy))

    handlers = {}
    for name, sources in (("feeds", SOURCES[:2]), ("listings", [listing])):
        crawler = Crawler(FeedSpider, crawler_settings(job, sources, policy))
        crawler.settings.update(process_settings)  # what the process does as it adopts it
        handlers[name] = crawler.settings.getdict("DOWNLOAD_HANDLERS")

    # every browser handler starts a Playwright driver: only the listings' crawler has one
    assert handlers["feeds"]["https"] == "spiders.replay.ReplayDownloadHandler"
    assert handlers["listings"]["https"] == "spiders.replay.ReplayRenderingHandler"
    assert handlers["listings"]["http"] == "spiders.replay.ReplayRenderingHandler"
